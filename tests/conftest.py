"""Shared helpers: golden files (``pytest --update-golden`` rewrites them) and CLI runs."""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# The normal suite samples; HYPOTHESIS_PROFILE=thorough explores (minutes, not for CI).
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# installed plugins stay out of the suite (tests that load entry points set this themselves)
os.environ.setdefault("NETSPEC_NO_ENTRY_POINTS", "1")

# pytest-xdist's workers share the cores: torch in each (and in the processes it starts) takes
# its share, one thread each for two workers on two cores. More threads than cores wait for
# each other: 100 of the zoo's and the compiler's tests took 260 s and 144 s (250 s and 128 s
# of CPU) with two threads a worker, 140 s and 99 s (98 s and 92 s of CPU) with one, runs in
# turn on a 2-core machine shared with other work. torch reads it when it is imported.
if _workers := int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")):
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (_cores or 1) // _workers)))

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
BUNDLED = sorted(p.stem for p in SPECS.glob("*.yaml"))
#: the torchvision-exact zoo, by bundled name ("torchvision/resnet50"): big networks, which the
#: generic tests build on the meta device or run on small inputs
ZOO = sorted(f"torchvision/{p.stem}" for p in (SPECS / "torchvision").glob("*.yaml"))
#: bundled specs too big to run at their own input in every generic test (U-Net: 48 G MACs at
#: 256×256): like the zoo, they are built on the meta device or run on small images
BIG = ["unet"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden files from the current output"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Spread the tests marked ``slow`` evenly over the first two thirds of the run, between
    modules (a module's fixtures are made once, not again after each test moved in), the others
    keeping their order.

    pytest-xdist sends each worker runs of consecutive tests, so slow tests side by side (the
    zoo's, at the end of the alphabet) kept one worker busy while the other waited at the end;
    spread out, every run holds its share of them, and the run ends on short tests, which keep
    both workers busy to the last. Slow tests of a module that share a fixture of the suite
    wider than a test (made once for the module) stay together, so that it is made once, and
    come first: such a fixture is wide because it is costly (a wheel built, models made)."""
    units = sorted(_slow_units(items), key=lambda unit: len(unit) == 1)
    if not units:
        return
    moved = {id(item) for unit in units for item in unit}
    rest = [item for item in items if id(item) not in moved]
    between = [
        i
        for i in range(len(rest) + 1)
        if i in (0, len(rest)) or _module(rest[i - 1]) != _module(rest[i])
    ]
    span = len(rest) * 2 // 3
    spread: list[pytest.Item] = []
    done = 0
    for k, unit in enumerate(units):
        ideal = k * span // len(units)
        at = max(done, min(between, key=lambda i: (abs(i - ideal), i)))
        spread += rest[done:at] + unit
        done = at
    items[:] = spread + rest[done:]


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def _slow_units(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """The slow tests in order, each alone, or together with the other slow tests of its module
    where it uses a fixture of the suite wider than a test."""
    units: list[list[pytest.Item]] = []
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        if item.get_closest_marker("slow") is None:
            continue
        module = _module(item)
        if not _shares_a_fixture(item):
            units.append([item])
        elif module in by_module:
            by_module[module].append(item)
        else:
            units.append(by_module.setdefault(module, [item]))
    return units


def _shares_a_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a fixture defined under tests/ whose scope is wider than a test."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        fixture = defs[-1]
        if fixture.scope != "function":
            with contextlib.suppress(TypeError):
                if Path(inspect.getfile(fixture.func)).resolve().is_relative_to(TESTS):
                    return True
    return False


@pytest.fixture(scope="session")
def fork_servers() -> Iterator[Any]:
    """This worker's fork servers (tests/forkserver.py), by whether they have imported torch:
    shared by the modules whose commands run in forked children (test_hostile, test_limits,
    test_import_archive), each started once."""
    import hostile
    from forkserver import Servers

    started = Servers(hostile.fresh)
    yield started
    started.close()


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden("errors/x.txt", text)`` compares text with a golden file (or rewrites it)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8")

    return check


@dataclass
class Run:
    code: int
    out: str
    err: str


def netspec(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Run:
    """Run the netspec command as a user would, in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "netspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def cli(*args: str, cwd: Path = ROOT, together: bool = False) -> Run:
    """Run the netspec command in this process: what :func:`netspec` shows (exit code, stdout,
    stderr, with the Python warnings a fresh interpreter would print there), without starting
    one (2-4 s for a command that imports torch). The fresh process stays the test of what
    is the process's: the entry point, what a command imports, signals, installed plugins.
    ``together``: stderr goes to stdout, in the order written (``2>&1``).

    The working folder, ``sys.path`` and modules imported from the folder (``netspec import
    mymodule:Net``) are as they were afterwards; kinds a ``--plugin`` registers are not (the
    plugin tests' ``registry_restored`` fixture removes them)."""
    from netspec.cli import main

    out = io.StringIO()
    err = out if together else io.StringIO()
    with (
        _as_a_fresh_process(cwd) as shown,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse: a usage error, --help, --version
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    for w in shown:
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    return Run(code, out.getvalue(), "" if together else err.getvalue())


@contextlib.contextmanager
def _as_a_fresh_process(cwd: Path) -> Iterator[list[warnings.WarningMessage]]:
    """In ``cwd``, with a fresh interpreter's warning filters (what it would print is
    recorded, rather than caught by pytest); the folder, ``sys.path`` and the modules from
    ``cwd`` are restored afterwards."""
    folder, path, modules = os.getcwd(), list(sys.path), set(sys.modules)
    os.chdir(cwd)
    try:
        with warnings.catch_warnings(record=True) as shown:
            warnings.resetwarnings()
            for quiet in (
                DeprecationWarning,
                PendingDeprecationWarning,
                ImportWarning,
                ResourceWarning,
            ):
                warnings.simplefilter("ignore", quiet)
            yield shown
    finally:
        os.chdir(folder)
        sys.path[:] = path
        users = Path(cwd).resolve()
        for name in set(sys.modules) - modules if users != ROOT else ():
            file = getattr(sys.modules[name], "__file__", None)
            if file and Path(file).resolve().is_relative_to(users):
                del sys.modules[name]  # the user's module: a later test may have its own


def imported_modules(*args: str) -> set[str]:
    """The modules a netspec command imports, from ``python -X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "netspec", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


def imports_torch(modules: set[str]) -> bool:
    return any(m == "torch" or m.startswith("torch.") for m in modules)


def state_dict_keys(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    """A recorded state_dict's keys and shapes, in order: lines ``key [d, ...]``, # comments."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split(" ", 1)
        out.append((key, tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())))
    return out


def bundled_scales(name: str) -> list[str]:
    """A bundled spec's scales (its ``scales:`` keys, in order), read from its YAML without
    checking the spec: tests parametrise over them at collection, which each xdist worker does
    (checking every bundled spec took about 1 s of CPU a test file and worker).
    tests/test_state_keys.py checks them against ``Spec.scales``."""
    import yaml

    from netspec.bundled import locate_named

    text = locate_named(name)[0].read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return list(data.get("scales") or {})


def need_torchvision() -> Any:
    """torchvision, which the test environment has (``make test``); elsewhere the test skips,
    and under ``CI=true`` its absence fails the test, as a missing Graphviz does."""
    try:
        import torchvision
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("torchvision is not installed; CI compares with it")
        pytest.skip("torchvision is not installed (make test sets it up)")
    return torchvision


def ultralytics_peer(tmp_path_factory: pytest.TempPathFactory, script: str, family: str) -> Any:
    """What ``tests/SCRIPT`` records of Ultralytics' own models (run once a session, with the
    suite's other Ultralytics scripts: :func:`ultralytics_made`); without Ultralytics the test
    skips, and under ``CI=true`` fails."""
    import importlib.util

    import torch

    if importlib.util.find_spec("ultralytics") is None:
        if os.environ.get("CI"):
            pytest.fail(f"Ultralytics is not installed; CI compares the {family} specs with it")
        pytest.skip("Ultralytics is not installed (make test sets it up)")
    made = ultralytics_made(tmp_path_factory)
    return torch.load(made / f"{script.removesuffix('.py')}.pt", weights_only=False)


def ultralytics_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder tests/ultralytics_all.py writes (Ultralytics' models and checkpoints, which
    tests read, never write), made once a session, in a process of its own (importing
    Ultralytics changes its process), and shared by the xdist workers through a file lock: the
    first to need it makes it, the others wait for it and read it."""
    from filelock import FileLock  # torch's own dependency

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    made = shared / "ultralytics"
    with FileLock(f"{made}.lock"):
        if not made.exists():
            partial = shared / "ultralytics.partial"
            shutil.rmtree(partial, ignore_errors=True)  # left by a run that failed
            partial.mkdir()
            run = subprocess.run(
                [sys.executable, str(ROOT / "tests" / "ultralytics_all.py"), str(partial)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert run.returncode == 0, run.stderr[-3000:]
            partial.rename(made)
    return made


def ultralytics_gflops(spec: Any) -> float:
    """What Ultralytics' model.info() reports for ``spec``: 2 × thop's MACs, which count conv
    and linear weights, attention's two products and the DFL conv (as netspec's MACs do), 4 per
    batchnorm output, and the average pool's adds and divisions, in G."""
    rows = spec.checked.walk()
    norms = sum(c.output.numel for c in rows if c.node.kind.name == "batchnorm")
    pools = sum(
        c.input.numel + c.output.numel
        for c in rows
        if c.node.kind.name == "pool" and c.node.opts.mode.value == "avg"
    )
    return float(2 * (spec.macs + 4 * norms + pools) / 1e9)


def ultralytics_at_size(spec: Any, size: int, scale: str | None = None) -> Any:
    """A YOLO spec (written for 640 × 640) with its input, and a detector's declared outputs,
    at size × size: the size Ultralytics' peer script ran its model at."""
    if size == spec.input_shape.dims[-1]:
        return spec
    text = spec.document.text.replace("input: [3, 640, 640]", f"input: [3, {size}, {size}]")
    # the maps' sizes at strides 8, 16 and 32, each replaced once (in one pass: at 160, 20 is
    # both a map of 640 at stride 32 and one of 160 at stride 8)
    sides = {str(640 // stride): str(size // stride) for stride in (8, 16, 32)}
    text = re.sub(r", (80|40|20), \1\]", lambda m: f", {sides[m[1]]}, {sides[m[1]]}]", text)
    anchors = sum((size // stride) ** 2 for stride in (8, 16, 32))
    text = text.replace("distances: [4, 8400]", f"distances: [4, {anchors}]")
    import netspec

    return netspec.loads(text, spec.file, scale=scale)


def at_input(spec: Any, size: int, **overrides: Any) -> Any:
    """A spec written for 224 × 224 images (``input: [3, 224, 224]``, or with its channels a
    param) at size × size: the same layers and weights, a smaller forward pass, for a test
    whose claim does not depend on the image's size (its networks pool adaptively).
    ``overrides``: params, as for ``netspec.load`` (the spec's own are not carried over)."""
    import netspec

    text, found = re.subn(
        r"^input: \[(.+?), 224, 224\]$",
        rf"input: [\1, {size}, {size}]",
        spec.document.text,
        flags=re.MULTILINE,
    )
    assert found == 1, f"{spec.file}: no input: [C, 224, 224] line"
    return netspec.loads(text, spec.file, **overrides)


def tree_places(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a tree of dicts and lists, as its path of keys and indices (the root
    first): where the fuzz targets mutate a spec or an archive's program."""
    out = [path]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += tree_places(v, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += tree_places(v, (*path, i))
    return out
