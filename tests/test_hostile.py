"""The hostile-input corpus (tests/hostile): every case as a process, clean and within budget.

See tests/hostile/__init__.py for what a case is and what "clean" means; docs/reliability.md
lists the families and the figures.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pytest
from hostile import PEAK_BYTES, SECONDS, Case

from netspec.errors import MAX_LINE

#: runs the command, then reports its exit code and peak memory on the real stdout
RUN = """
import json, re, sys
from netspec.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(json.dumps({"code": code, "peak": peak}), file=sys.__stdout__)
"""


def _cases() -> list[Case]:
    found: list[Case] = []
    for module in pkgutil.iter_modules(hostile.__path__):
        found.extend(importlib.import_module(f"hostile.{module.name}").CASES)
    return found


CASES = _cases()


@functools.cache
def torch_import() -> tuple[float, int]:
    """Seconds and peak bytes of a process that only imports torch (its build varies)."""
    code = "import torch, re; s = open('/proc/self/status').read(); "
    code += "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', s).group(1)) * 1024)"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return time.perf_counter() - start, int(proc.stdout)


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every entry below ``folder``: its type, size, inode and modification time."""
    out = {}
    for path in [folder, *folder.rglob("*")]:
        try:
            st = path.lstat()
        except OSError:
            continue
        out[str(path.relative_to(folder))] = (
            stat.S_IFMT(st.st_mode),
            st.st_size,
            st.st_ino,
            st.st_mtime_ns,
        )
    return out


def _write(folder: Path, files: dict[str, hostile.Content]) -> None:
    for name, content in files.items():
        path = folder / name.replace("{dir}", str(folder))
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{dir}", str(folder)))


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CASES) > 150
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case_ends_cleanly(case: Case, tmp_path: Path):
    reason = case.skip() if case.skip else ""
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "case"
    folder.mkdir()
    _write(folder, case.files)
    if case.setup:
        case.setup(folder)
    before = _snapshot(folder)
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **case.env},
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-2000:]
    result = json.loads(lines[-1])
    err = proc.stderr
    assert result["code"] == case.code, err[-2000:]
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
    budget, peak = SECONDS, PEAK_BYTES
    if case.torch:  # building is not a read-only command: torch's import (twice, as
        # margin: exporting a .pt2 and loading it back costs about as much again) on top
        torch_seconds, torch_peak = torch_import()
        budget, peak = budget + 2 * torch_seconds, peak + torch_peak
    assert seconds < budget, f"{seconds:.1f} s"
    assert result["peak"] < peak, f"{result['peak'] / 2**20:.0f} MiB"
    after = _snapshot(folder)
    allowed = {o for o in case.outputs}
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed <= allowed | {"."}, f"changed or left behind: {sorted(changed - allowed)}"
