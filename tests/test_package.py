"""The package as a user gets it: the sdist and the wheel built from this checkout, their
metadata, and the wheel installed into a fresh venv whose own ``netspec`` command runs.

What is real: ``python -m build`` (isolated: hatchling comes from the package index as it does
for pip) makes the sdist, then the wheel from the sdist, as pip builds from an sdist; ``twine
check --strict`` reads both; pip installs the wheel file into a new venv, which gets its own
``bin/netspec`` script and its own copy of the package, with the bundled specs, the library
and the templates. Every command below runs that script, in a folder outside the checkout and
with no PYTHONPATH, and the test asserts that ``import netspec`` there is the wheel's copy: a
file left out of the wheel fails a test.

What is shared: the third-party dependencies (torch, pydantic, pygls, onnx...). Installing them
for real took over a minute and about 0.9 GB here (torch's CPU build alone: 40 s), so the wheel
is installed with ``--no-deps``, and only then does a ``.pth`` file append the test venv's
site-packages to the new venv's path. A ``.pth`` line that is a path adds that folder without
processing the ``.pth`` files inside it, so the test venv's editable netspec (a ``.pth`` of its
own) stays out of sight. pip never runs with that path in place except for ``pip check``, which
only reads; the wheel's requirements, its ``lsp`` and ``onnx`` extras included, are checked
against the versions the new venv sees.

The build and the venv are made once per session, shared by the workers of ``pytest -n``.
"""

from __future__ import annotations

import email.message
import email.parser
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, Run
from lsp_client import frame

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own TOML reader, the same parser before 3.11
    import tomli as tomllib

pytestmark = pytest.mark.slow

NAME = "netspec-nn"
#: where the README's pictures point on the package index
RAW = "https://raw.githubusercontent.com/netspec-dev/netspec-nn/main/"
#: a bundled spec that imports the library (std:resnet): checking it reads netspec/library
LIBRARY_USER = ROOT / "specs" / "torchvision" / "resnet50_fpn.yaml"
#: what the new venv's python reports: where netspec and its distribution are, and which of the
#: wheel's requirements (extras lsp and onnx included) it cannot satisfy
PROBE = """
import importlib.metadata as md, json, sys
from packaging.requirements import Requirement
import netspec
dist = md.distribution("netspec-nn")
unmet = []
for line in dist.requires or []:
    req = Requirement(line)
    extras = ("", "lsp", "onnx")
    if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in extras):
        continue
    try:
        found = md.version(req.name)
    except md.PackageNotFoundError:
        found = None
    if found is None or not req.specifier.contains(found, prereleases=True):
        unmet.append(f"{line} (found {found})")
print(json.dumps({
    "module": netspec.__file__,
    "version": netspec.__version__,
    "distribution": str(dist.locate_file("netspec/__init__.py")),
    "direct_url": dist.read_text("direct_url.json"),
    "path": sys.path,
    "unmet": unmet,
}))
"""

_PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


@dataclass(frozen=True)
class Package:
    wheel: Path
    sdist: Path
    venv: Path
    site: Path  # the new venv's own site-packages

    @property
    def netspec(self) -> Path:
        return self.venv / "bin" / "netspec"


def run(
    command: list[str | Path], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``command`` with the environment a user has: no PYTHONPATH, no active venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


def _build(out: Path) -> Package:
    """Build the sdist and, from it, the wheel; install the wheel in a fresh venv."""
    shutil.rmtree(out, ignore_errors=True)  # what a worker that failed here left
    out.mkdir()
    run([sys.executable, "-m", "build", "--outdir", out / "dist", ROOT], cwd=out, timeout=600)
    (wheel,) = (out / "dist").glob("*.whl")
    (sdist,) = (out / "dist").glob("*.tar.gz")
    venv = out / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=out)
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install"]
    run([*pip, "--quiet", "--no-deps", "--no-index", wheel], cwd=out)
    site = Path(run([venv / "bin" / "python", "-c", _PURELIB], cwd=out).stdout.strip())
    shared = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_netspec_test_shared.pth").write_text("".join(f"{p}\n" for p in shared))
    return Package(wheel, sdist, venv, site)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The built and installed package, made by whichever xdist worker comes first; the others
    wait for it and use it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    done = base / "package.json"
    with (base / "package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            built = _build(base / "package")
            done.write_text(json.dumps({k: str(v) for k, v in vars(built).items()}))
    return Package(**{k: Path(v) for k, v in json.loads(done.read_text()).items()})


def metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text)


def wheel_metadata(package: Package) -> email.message.Message:
    with zipfile.ZipFile(package.wheel) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        return metadata(whl.read(name).decode())


def sdist_names(package: Package) -> set[str]:
    """The sdist's files, without the ``netspec_nn-X.Y.Z/`` folder they are in."""
    with tarfile.open(package.sdist) as tar:
        return {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}


def checkout_version() -> str:
    text = (ROOT / "netspec" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert found, "netspec/__init__.py has no __version__ line"
    return found.group(1)


def test_twine_check_strict_passes(package: Package) -> None:
    done = run(
        [sys.executable, "-m", "twine", "check", "--strict", package.wheel, package.sdist], ROOT
    )
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_metadata_is_complete(package: Package) -> None:
    meta = wheel_metadata(package)
    assert meta["Name"] == NAME
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Author"] == "netspec developers"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "netspec-nn" in meta.get_payload()  # the README, which says how to install it
    # on the index a relative link or picture of the README leads nowhere: they point into
    # the repository instead (pictures at their raw files, so that they show)
    targets = re.findall(r"(!?)\[[^\]]*\]\(([^)]+)\)", meta.get_payload())
    assert targets and all(t.startswith(("https://", "#")) for _, t in targets), targets
    pictures = [t for bang, t in targets if bang]
    assert pictures and all(t.startswith(RAW) for t in pictures), pictures
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Source", "Issues"}
    assert all(u.startswith("https://github.com/netspec-dev/netspec-nn") for u in urls.values())
    classifiers = meta.get_all("Classifier")
    pythons = [c.rsplit(" ", 1)[1] for c in classifiers if re.search(r"Python :: 3\.\d+$", c)]
    assert pythons == ["3.10", "3.11", "3.12", "3.13"]
    for wanted in ("Topic :: Scientific/Engineering :: Artificial Intelligence", "Typing :: Typed"):
        assert wanted in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    # PEP 639: the licence is the expression; PyPI refuses a License :: classifier beside it
    assert not any(c.startswith("License ::") for c in classifiers)
    requires = meta.get_all("Requires-Dist")
    assert {"lsp", "onnx"} <= set(meta.get_all("Provides-Extra"))
    assert any(r.startswith("pygls") and "extra == 'lsp'" in r for r in requires)
    assert any(r.startswith("onnx>") and "extra == 'onnx'" in r for r in requires)
    assert any(r.startswith("torch") and "extra" not in r for r in requires)
    with zipfile.ZipFile(package.wheel) as whl:
        (entry,) = [n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert "[console_scripts]\nnetspec = netspec.cli:main" in whl.read(entry).decode()


def test_one_version_everywhere(package: Package, tmp_path: Path) -> None:
    """netspec/__init__.py's __version__ is the only one: the wheel's and the sdist's metadata,
    their file names and ``netspec --version`` all say it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    version = checkout_version()
    assert wheel_metadata(package)["Version"] == version
    with tarfile.open(package.sdist) as tar:
        pkg_info = tar.extractfile(f"netspec_nn-{version}/PKG-INFO")
        assert pkg_info is not None
        assert metadata(pkg_info.read().decode())["Version"] == version
    assert package.wheel.name == f"netspec_nn-{version}-py3-none-any.whl"
    assert run([package.netspec, "--version"], tmp_path).stdout == f"netspec {version}\n"


def tracked_files() -> set[str] | None:
    """The files git tracks that are in the working tree (None outside a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {name for name in listed.split("\0") if name and (ROOT / name).is_file()}


def test_the_sdist_holds_the_source_and_nothing_built(package: Package) -> None:
    names = sdist_names(package)
    for wanted in ("specs/nin.yaml", "tests/test_package.py", "tests/conftest.py", "LICENSE"):
        assert wanted in names
    assert {"README.md", "pyproject.toml", "Makefile", "PKG-INFO", "netspec/py.typed"} <= names
    assert any(n.startswith("docs/gallery/") for n in names)
    built = re.compile(r"(^|/)(\.venv[^/]*|node_modules|__pycache__|\.\w+_cache|dist|build)/")
    assert not [n for n in names if built.search(n) or n.endswith(".pyc")]
    tracked = tracked_files()
    if tracked is not None:  # every file of the repository, so the tests run from the sdist
        assert not sorted(tracked - names)


def test_the_wheel_holds_the_package_and_its_data(package: Package) -> None:
    """Every file of the package in the sdist (the wheel is built from it): the modules, the
    library's YAML, the templates, the JSON schema, py.typed; and every spec, bundled."""
    with zipfile.ZipFile(package.wheel) as whl:
        names = set(whl.namelist())
    source = sdist_names(package)
    assert not sorted({n for n in source if n.startswith("netspec/")} - names)
    specs = {n.removeprefix("specs/") for n in source if n.startswith("specs/")}
    assert "nin.yaml" in specs
    assert not sorted({f"netspec/_bundled_specs/{s}" for s in specs} - names)
    assert not [n for n in names if n.endswith(".pyc") or not n.startswith("netspec")]


def test_the_venv_runs_the_wheel_not_the_checkout(package: Package, tmp_path: Path) -> None:
    probe = json.loads(run([package.venv / "bin" / "python", "-c", PROBE], tmp_path).stdout)
    assert Path(probe["module"]) == package.site / "netspec" / "__init__.py"
    assert Path(probe["distribution"]) == Path(probe["module"])
    assert "editable" not in json.loads(probe["direct_url"]).get("dir_info", {})
    assert str(ROOT) not in probe["path"]
    assert probe["version"] == checkout_version()
    assert probe["unmet"] == []  # every requirement, lsp and onnx extras included
    run([package.venv / "bin" / "python", "-m", "pip", "check"], tmp_path)


def test_check_list_and_new_run_from_the_wheel(package: Package, tmp_path: Path) -> None:
    bundled = package.site / "netspec" / "_bundled_specs"
    out = run([package.netspec, "check", "nin"], tmp_path).stdout
    assert out.startswith(f"{bundled / 'nin.yaml'}: ok  nin: (1, 224, 224) → (10,)")
    shutil.copy(LIBRARY_USER, tmp_path / "fpn.yaml")  # imports std:resnet from the library
    assert run([package.netspec, "check", "fpn.yaml"], tmp_path).stdout.startswith("fpn.yaml: ok")
    listed = run([package.netspec, "list"], tmp_path).stdout.splitlines()
    names = {line.split()[0] for line in listed if line and not line[0].isspace()}
    specs = {n.removeprefix("specs/") for n in sdist_names(package) if n.startswith("specs/")}
    assert names == {s.removesuffix(".yaml") for s in specs if s.endswith(".yaml")}
    run([package.netspec, "new", "mine"], tmp_path)  # the template, and the shipped schema
    first = (tmp_path / "mine.yaml").read_text(encoding="utf-8").splitlines()[0]
    schema = package.site / "netspec" / "netspec.schema.json"
    assert first == f"# yaml-language-server: $schema={schema.as_uri()}"
    assert json.loads(schema.read_text(encoding="utf-8"))["$schema"]
    run([package.netspec, "check", "mine.yaml"], tmp_path)


def test_render_runs_from_the_wheel(package: Package, tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed; CI renders")
        pytest.skip("Graphviz's dot is not installed")
    run([package.netspec, "render", "nin", "-o", "nin.svg"], tmp_path)
    assert "<svg" in (tmp_path / "nin.svg").read_text(encoding="utf-8")


def test_build_onnx_runs_from_the_wheel(package: Package, tmp_path: Path) -> None:
    """The wheel's exporter, in a fresh process (LeNet: its export took 7.5 s of CPU, NiN's
    9.5 s, most of it importing torch and the exporter, the same for any spec): what
    test_onnx's test_build_o_onnx_saves_what_build_seed_builds asserts in the test's process,
    and nothing on fd 2, where torch's C++ and the exporter's logs would write."""
    from test_onnx import assert_lenet_saved_as_seed_3_builds  # skips without onnx

    out = tmp_path / "lenet.onnx"
    done = run([package.netspec, "build", "lenet", "--seed", "3", "-o", out], tmp_path)
    assert_lenet_saved_as_seed_3_builds(Run(done.returncode, done.stdout, done.stderr), out)


def unframe(data: bytes) -> list[dict[str, object]]:
    """The messages of a stream of frames, each its headers, a blank line and a JSON body."""
    messages = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        found = re.search(rb"Content-Length: (\d+)", head, re.I)
        assert found, f"a frame without its length: {head!r}"
        size = int(found.group(1))
        messages.append(json.loads(data[:size]))
        data = data[size:]
    return messages


def test_the_language_server_starts_from_the_wheel(package: Package, tmp_path: Path) -> None:
    """An editor's handshake with the wheel's ``netspec lsp``: initialize, then shutdown."""
    messages = [
        {"id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}},
        {"method": "initialized", "params": {}},
        {"id": 2, "method": "shutdown", "params": None},
        {"method": "exit", "params": None},
    ]
    stdin = b"".join(frame(json.dumps({"jsonrpc": "2.0", **m}).encode()) for m in messages)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [package.netspec, "lsp"],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    answers = {m.get("id"): m for m in unframe(done.stdout) if "id" in m}
    result = answers[1]["result"]
    assert result["serverInfo"] == {"name": "netspec", "version": checkout_version()}
    assert {"hoverProvider", "completionProvider"} <= set(result["capabilities"])
    assert answers[2]["result"] is None
