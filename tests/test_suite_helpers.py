"""The suite's own machinery: ``conftest.cli`` (a command run in the test's process), the fork
server that runs the hostile corpus (tests/forkserver.py), and the order in which the slow
tests run (``conftest.pytest_collection_modifyitems``)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hostile
import pytest
from conftest import ROOT, cli, netspec, pytest_collection_modifyitems, ultralytics_at_size
from forkserver import Server

LENET = str(ROOT / "specs" / "lenet.yaml")
#: commands whose exit codes and output differ: fine, a spec error, a misuse, argparse's exit
COMMANDS = [["check", LENET], ["check", "nope.yaml"], ["chek", "lenet"], ["--version"]]


@pytest.mark.parametrize("args", COMMANDS, ids=["ok", "error", "misuse", "version"])
def test_cli_shows_what_a_fresh_process_shows(args, tmp_path):
    here = os.getcwd()
    inside = cli(*args, cwd=tmp_path)
    assert os.getcwd() == here
    assert inside == netspec(*args, cwd=tmp_path)


def test_cli_shows_the_warnings_a_fresh_process_prints(monkeypatch):
    def noisy(argv: list[str]) -> int:
        warnings.warn("stray", UserWarning, stacklevel=1)
        warnings.warn("old", DeprecationWarning, stacklevel=1)  # not shown outside __main__
        print("out")
        return 0

    monkeypatch.setattr("netspec.cli.main", noisy)
    run = cli("check")
    assert run.code == 0 and run.out == "out\n"
    assert run.err.endswith(
        'UserWarning: stray\n  warnings.warn("stray", UserWarning, stacklevel=1)\n'
    )
    assert "old" not in run.err
    together = cli("check", together=True)
    assert together.out.startswith("out\n") and "UserWarning: stray" in together.out


def test_cli_forgets_the_users_module_and_path(tmp_path):
    (tmp_path / "mine.py").write_text("from torch.nn import Flatten as Net\n")
    path = list(sys.path)
    run = cli("import", "mine:Net", "--input", "3,4,4", "-o", "mine.yaml", cwd=tmp_path)
    assert run.code == 0, run.err
    assert (tmp_path / "mine.yaml").exists()
    assert "mine" not in sys.modules and sys.path == path


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    started = Server(hostile.fresh)
    yield started
    started.close()


@pytest.mark.parametrize("args", COMMANDS, ids=["ok", "error", "misuse", "version"])
def test_a_forked_run_ends_as_a_fresh_process(server, args, tmp_path):
    code, peak, err = server.run(args, tmp_path, {}, 60)
    fresh_code, fresh_peak, fresh_err = hostile.fresh(args, tmp_path, {}, 60)
    assert (code, err) == (fresh_code, fresh_err)
    assert peak >= fresh_peak * 0.9  # raised by what importing costs a fresh process


def plugin(folder: Path, body: str) -> str:
    """A plugin beside the command (python -c puts its folder on sys.path) that does ``body``
    when the command loads it."""
    (folder / "plugin_does.py").write_text(f"import os, sys, time\n{body}\n")
    return "plugin_does"


def test_a_child_that_dies_reports_nothing(server, tmp_path):
    dies = plugin(tmp_path, "os._exit(7)")
    with pytest.raises(ValueError, match="no report"):
        server.run(["check", "--plugin", dies, LENET], tmp_path, {}, 60)
    assert server.run(["check", LENET], tmp_path, {}, 60)[0] == 0  # the server goes on


def test_a_child_that_hangs_is_stopped(server, tmp_path):
    hangs = plugin(tmp_path, "time.sleep(600)")
    with pytest.raises(subprocess.TimeoutExpired):
        server.run(["check", "--plugin", hangs, LENET], tmp_path, {}, 1)
    assert server.run(["check", LENET], tmp_path, {}, 60)[0] == 0


def test_a_child_reads_an_empty_stdin_and_writes_stderr_as_python_does(server, tmp_path):
    echo = plugin(
        tmp_path,
        "assert sys.stdin.read() == ''\n"
        "sys.stderr.write('\\udce9 ' + sys.stderr.errors + '\\n')\n"
        "raise SystemExit(5)",
    )
    args = ["check", "--plugin", echo, LENET]
    assert server.run(args, tmp_path, {}, 60)[::2] == hostile.fresh(args, tmp_path, {}, 60)[::2]


def test_a_run_with_its_own_environment_is_a_fresh_process(server, tmp_path):
    env = {"NETSPEC_TEST_MARK": "1"}
    shows = plugin(tmp_path, "print(os.environ['NETSPEC_TEST_MARK'], sys.argv, file=sys.stderr)")
    _, _, err = server.run(["check", "--plugin", shows, LENET], tmp_path, env, 60)
    assert err.startswith("1 ['-c', 'check'")


def test_each_worker_takes_its_share_of_the_cores():
    if not os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
        pytest.skip("not under pytest-xdist")
    import torch

    # conftest sets it (a value given by the caller stays)
    assert torch.get_num_threads() == int(os.environ["OMP_NUM_THREADS"])


# --- the order of the slow tests ------------------------------------------------------------


def shared_fixture() -> None:
    """Stands for a module-scoped fixture of the suite."""


def item(name: str, slow: bool = False, shared: bool = False) -> Any:
    """A stand-in for a collected test: its id, its slow marker, its fixtures."""
    module, _, test = name.partition("::")
    defs = {"f": [SimpleNamespace(scope="module", func=shared_fixture)]} if shared else {}
    return SimpleNamespace(
        nodeid=f"tests/{module}.py::{test}",
        get_closest_marker=lambda mark: object() if slow and mark == "slow" else None,
        _fixtureinfo=SimpleNamespace(name2fixturedefs=defs),
    )


def test_slow_tests_are_spread_over_the_first_two_thirds_between_modules():
    fast = [item(f"m{i // 5}::fast{i}") for i in range(60)]  # 12 modules of 5 tests
    slow = [item(f"z::slow{i}", slow=True) for i in range(4)]
    together = [item(f"y::built{i}", slow=True, shared=True) for i in range(3)]
    items = [*fast[:30], *together, *fast[30:], *slow]
    pytest_collection_modifyitems(items)
    assert sorted(map(id, items)) == sorted(map(id, [*fast, *slow, *together]))
    assert [i for i in items if i in fast] == fast  # the others keep their order
    at = {i.nodeid: n for n, i in enumerate(items)}
    # the tests sharing a module's fixture come first, together, in their order
    assert [at[i.nodeid] for i in together] == [0, 1, 2]
    # the others alone, each between two modules, evenly: five units over the first 40 of the
    # 60 others, one every 8 tests, at the module boundary nearest to 8, 16, 24 and 32
    ahead = [at[i.nodeid] - n - len(together) for n, i in enumerate(slow)]
    assert ahead == [10, 15, 25, 30]
    for i in slow:
        before, after = items[at[i.nodeid] - 1], items[at[i.nodeid] + 1]
        assert before.nodeid.split("::")[0] != after.nodeid.split("::")[0]


def test_without_slow_tests_the_order_stays():
    items = [item(f"a::t{i}") for i in range(10)]
    before = list(items)
    pytest_collection_modifyitems(items)
    assert items == before


@pytest.mark.parametrize("size", [128, 160, 320])
def test_a_yolo_spec_at_another_size_declares_its_maps_at_that_size(size):
    import netspec as ns

    spec = ultralytics_at_size(ns.load("ultralytics/yolov8"), size)
    assert spec.input_shape.dims == (3, size, size)
    assert [s.dims[1:] for s in spec.output_shapes.values()][:3] == [
        (size // stride, size // stride) for stride in (8, 16, 32)
    ]
