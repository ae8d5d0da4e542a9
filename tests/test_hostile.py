"""The hostile-input corpus (tests/hostile): every case as a process, ending cleanly.

See tests/hostile/__init__.py for what a case is and what "clean" means; docs/reliability.md
lists the families and the figures. Each case is a process of its own, forked from a server
that has imported netspec's command line (and torch, for a case that builds) rather than a
fresh interpreter (tests/forkserver.py): the same exit code, stderr, peak memory and files,
without paying for the imports 337 times. No test here depends on the machine's speed: the
wall-clock budget is timed by ``python -m bench --only hostile`` (bench/hostile_cases.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import hostile
import pytest
from forkserver import Servers
from hostile import PEAK_BYTES, Case

from netspec.errors import MAX_LINE

CASES = [case for cases in hostile.corpus().values() for case in cases]


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CASES) > 150
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case_ends_cleanly(case: Case, tmp_path: Path, fork_servers: Servers):
    reason = case.skip() if case.skip else ""
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "case"
    folder.mkdir()
    # hostile.run stops a process after HANG_SECONDS: that only catches a real hang, whatever
    # the machine's speed; how long a case takes is not asserted (bench/hostile_cases.py times it)
    outcome = hostile.run(case, folder, fork_servers[case.torch].run)
    err = outcome.stderr
    assert outcome.code == case.code, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    if case.code:
        assert err.strip(), "an error with no message"
        longest = max(err.splitlines(), key=len)
        assert len(longest) <= MAX_LINE, "a line of the message is too long"
    if case.code == 1:  # an error about a file starts with the file (a plugin's names the plugin)
        first = err.splitlines()[0]
        assert re.match(r"^(?!netspec )\S.*?: (error|warning): ", first) or "plugin" in first, err
    if case.message:
        assert re.search(case.message.replace("{dir}", re.escape(str(folder))), err), err[-2000:]
    if case.position:
        assert re.match(r"^\S+:\d+:\d+: (error|warning): ", err), err[-2000:]
    # memory does not depend on the machine's speed: building gets torch's own on top (the
    # peak of a fresh process that only imported torch: the torch server's, after its import)
    peak = PEAK_BYTES + (fork_servers[True].preload_peak if case.torch else 0)
    assert outcome.peak < peak, f"{outcome.peak / 2**20:.0f} MiB"
    before, after = outcome.before, outcome.after
    allowed = set(case.outputs)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # Python's own bytecode cache of a plugin the case loads from its folder (as it writes one
    # for any module it imports, unless PYTHONDONTWRITEBYTECODE is set), not netspec's writing
    changed = {k for k in changed if k.split("/")[0] != "__pycache__"}
    assert changed <= allowed | {"."}, f"changed or left behind: {sorted(changed - allowed)}"
