"""``netspec import FILE.pt2`` reads the archive as data: nothing in it runs, no file it
names is opened, its zip and its program are bounded before they are read, and what the
command writes is never one of its inputs.

Each hostile archive here is a real one (``torch.export.save``) edited; where the edit is
meant to run code, torch's own loader is shown running it first (the canary appears), so
that netspec's answer proves something.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import subprocess
from pathlib import Path

import pt2_archives as A
import pytest
import torch
from conftest import cli, need_torchvision
from forkserver import Server, Servers
from torch import nn

import netspec as ns
from netspec.importing.archive import MAX_MEMBERS

SMALL = "# imported from {} by netspec import\nname: {}\ninput: [3, 6, 6]\nlayers:\n" + (
    "  - conv: {{out: 4, kernel: 3}}\n  - batchnorm\n  - relu\n  - flatten\n"
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return A.small(tmp_path_factory.mktemp("archive") / "small.pt2")


def _torch_runs(path: Path, canary: Path) -> None:
    """torch.export.load runs the archive's payload (the canary appears): the archive is a
    real attack, not a broken file."""
    logging.disable(logging.WARNING)  # torch logs its own failures
    try:
        torch.export.load(str(path))
    except Exception:  # whatever it raises after the payload ran
        pass
    finally:
        logging.disable(logging.NOTSET)
    assert canary.exists(), "the payload did not run under torch.export.load"
    canary.unlink()


def test_a_pickled_weight_is_never_unpickled(small, tmp_path):
    canary = tmp_path / "canary"
    path = A.pickled_weight(canary)(small, tmp_path / "pickled.pt2")
    _torch_runs(path, canary)
    assert ns.from_exported(path, "small") == SMALL.format(path, "small")
    assert not canary.exists()


def test_a_symbolic_size_is_never_evaluated(small, tmp_path):
    """A dynamic batch whose expression would run code under sympify: kept as text."""
    canary = tmp_path / "canary"
    path = A.rewrite(small, tmp_path / "symbolic.pt2", A.symbolic_sizes(canary))
    _torch_runs(path, canary)
    assert ns.from_exported(path, "small") == SMALL.format(path, "small")
    assert not canary.exists()


def test_a_real_dynamic_batch_imports(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten()).eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (torch.randn(2, 3, 6, 6),), dynamic_shapes=({0: batch},))
    path = tmp_path / "dynamic.pt2"
    torch.export.save(program, str(path))
    spec = ns.loads(ns.from_exported(path, "dynamic"))
    assert spec.input_shape == ns.Shape((3, 6, 6)) and spec.output_shape == ns.Shape((64,))


def test_a_symbolic_input_size_is_refused(small, tmp_path):
    def edit(program: dict) -> None:
        sizes = program["graph_module"]["graph"]["tensor_values"]["input"]["sizes"]
        sizes[2] = {"as_expr": {"expr_str": "s1 + 2", "hint": {"as_int": 6}}}

    path = A.rewrite(small, tmp_path / "wide.pt2", edit)
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.format() == (
        f"{path}: error: the input's sizes are symbolic (3, s1 + 2, 6)\n"
        "hint: export the program at a fixed size (only the batch may be dynamic)"
    )


@pytest.fixture
def forked(fork_servers: Servers) -> Server:
    """A server with torch imported, whose children run the command (tests/forkserver.py)."""
    return fork_servers[True]


def _cli(server: Server, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``netspec import ARGS`` in a process of its own (forked by ``server``) that must end
    within 60 s (it hangs if it opens a FIFO): its exit code and stderr."""
    code, _, err = server.run(["import", *args], cwd, {}, 60)
    return subprocess.CompletedProcess(args, code, "", err)


@pytest.mark.parametrize("named", ["passwd", "fifo", "zero"])
def test_a_recorded_source_file_is_never_opened(forked, small, tmp_path, named):
    """The archive's stack trace names a file: its line is quoted as the archive recorded it,
    and the file (any file, a FIFO that blocks, a device that never ends) is not opened."""
    files = {"passwd": "/etc/passwd", "fifo": str(tmp_path / "fifo"), "zero": "/dev/zero"}
    if named == "fifo":
        os.mkfifo(tmp_path / "fifo")
    text = "x = F.gelu(x)\x1b[31m"
    path = A.rewrite(small, tmp_path / "gelu.pt2", A.stack_trace(files[named], 1, text))
    run = _cli(forked, path.name, cwd=tmp_path)
    assert run.returncode == 1
    shown = os.path.relpath(files[named], tmp_path) if named == "fifo" else files[named]
    assert run.stderr == (
        f"{shown}:1:1: error: no kind for the operator aten.gelu.default\n"
        "note: the line as the archive recorded it (netspec does not open the file)\n"
        "hint: netspec imports the layers it has kinds for; import the Python model instead\n"
        "     1 | x = F.gelu(x)\\x1b[31m\n"
        "       | ^\n"
    )


def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path):
    path = A.zip_bomb(tmp_path / "bomb.pt2", 256 * 2**20)
    assert path.stat().st_size < 2**20
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert re.fullmatch(
        rf"{path}: error: member bomb/models/model.json says it is 268,435,456 bytes, "
        r"compressed to [\d,]+: more than 100 times \(a zip bomb\?\)\n"
        r"hint: netspec imports archives written by torch.export.save",
        e.value.format(),
    ), e.value.format()


def test_a_zip_announcing_too_many_members_is_refused_before_its_directory_is_read(small, tmp_path):
    data = bytearray(small.read_bytes())
    at = data.rfind(b"PK\x06\x06")  # torch writes zip64: the count is in its record
    if at >= 0:
        data[at + 32 : at + 40] = struct.pack("<Q", 10**9)
    else:
        at = data.rfind(b"PK\x05\x06")
        data[at + 10 : at + 12] = struct.pack("<H", 65535)
    path = tmp_path / "many.pt2"
    path.write_bytes(bytes(data))
    with pytest.raises(ns.NetspecError, match=f"members; the limit is {MAX_MEMBERS:,}"):
        ns.from_exported(path)


def _zip64_decoy(path: Path, entries: int) -> Path:
    """A zip whose zip64 locator names a harmless record (1 member, 47 bytes) at the start,
    while the record zipfile reads, the one right before the locator, announces ``entries``
    members in a directory of their size."""

    def entry(i: int) -> bytes:
        name = b"m/%d" % i
        fields = (b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0)
        return struct.pack("<4s6H3I5H2I", *fields) + name

    def record(count: int, size: int) -> bytes:
        return struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, 56)

    directory = b"".join(entry(i) for i in range(entries))
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)  # names byte 0: the decoy
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 2**32 - 1, 2**32 - 1, 0)
    data = record(1, 47) + directory + record(entries, len(directory)) + locator + end
    path.write_bytes(data)
    return path


def test_a_zip64_locator_cannot_show_the_check_other_numbers_than_zipfile_reads(tmp_path):
    """zipfile reads the zip64 record before the locator, not where the locator points: a
    decoy there once let 200,000 directory entries (9 MB) be parsed before any limit held."""
    path = _zip64_decoy(tmp_path / "decoy.pt2", 200_000)
    end = path.stat().st_size - 22
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.format() == (
        f"{path}: error: not a torch.export archive: its zip64 locator names a record at "
        f"byte 0, not the one before it at byte {end - 76:,}\n"
        "hint: netspec imports archives written by torch.export.save"
    )


def _program(tmp_path: Path, program: bytes) -> Path:
    return A.write_members(
        tmp_path / "big.pt2", [("big/archive_format", b"pt2"), ("big/models/model.json", program)]
    )


def test_a_program_too_large_to_read_is_refused(tmp_path):
    path = _program(tmp_path, b" " * (33 * 2**20))  # stored, so within the ratio
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.diagnostics[0].message == (
        "member big/models/model.json is 34,603,008 bytes; the limit is 33,554,432"
    )


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_a_float_json_has_not_is_refused(tmp_path, word):
    """Python's json reads NaN, which torch never writes: a dropout of p NaN was once written
    into a spec that then failed at a line of a file that was never written."""
    path = _program(
        tmp_path, b'{"graph_module": {"graph": {"nodes": [], "p": %s}}}' % word.encode()
    )
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.diagnostics[0].message == (
        f"member big/models/model.json is not valid JSON: {word} is no JSON number "
        "(torch writes none)"
    )


def test_a_program_of_too_many_lists_is_refused_before_it_is_parsed(tmp_path):
    """6 MB of ``[],`` is 130 MB of Python lists; 32 MB of it would be 700 MB."""
    path = _program(tmp_path, b"[" + b"[]," * 2_000_000 + b"[]]")
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.diagnostics[0].message == (
        "member big/models/model.json has 2,000,002 lists and objects; the limit is 2,000,000"
    )


@pytest.mark.parametrize(
    "module,part",
    [
        ("a..b", ""),
        ("__class__", "__class__"),
        ("forward", "forward"),
        ("stage.training", "training"),
        ("99999999999999999999", "99999999999999999999"),
        ("stage.01", "01"),
        ("a\nb", "a\\nb"),
    ],
)
def test_module_paths_are_checked_as_names(small, tmp_path, module, part):
    path = A.rewrite(small, tmp_path / "paths.pt2", A.module_path(module))
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    shown = module.replace("\n", "\\n")
    assert e.value.format() == (
        f"{path}: error: not a torch.export program: nodes[0].metadata: the module path "
        f"{shown!r} has {part!r}, which is not a module's name (letters, digits and _, "
        "starting with a letter; or a number below a million, with no leading 0)\n"
        "hint: netspec imports archives written by torch.export.save"
    )


def test_numbered_modules_that_never_ran_are_bounded(small, tmp_path):
    """``0.20000`` alone: a spec would list 20,000 identities before it."""
    path = A.rewrite(small, tmp_path / "gaps.pt2", A.module_path("0.20000"))
    with pytest.raises(ns.NetspecError) as e:
        ns.from_exported(path)
    assert e.value.diagnostics[0].message == (
        "the program's numbered modules leave out 20,000 children (a spec writes each as "
        "identity); the limit is 10,000"
    )


@pytest.mark.parametrize("damage", ["truncated", "not a zip", "empty"])
def test_a_broken_archive_shows_only_netspecs_message(forked, small, tmp_path, damage):
    data = {"truncated": small.read_bytes()[:500], "not a zip": b"hello\n", "empty": b""}
    (tmp_path / "broken.pt2").write_bytes(data[damage])
    run = _cli(forked, "broken.pt2", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr == (
        "broken.pt2: error: not a torch.export archive: not a zip file (no end record)\n"
        "hint: netspec imports archives written by torch.export.save\n"
    )


def test_the_output_may_not_be_the_archive(forked, small, tmp_path):
    path = tmp_path / "model.pt2"
    path.write_bytes(small.read_bytes())
    run = _cli(forked, "model.pt2", "-o", "model.pt2", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.endswith("-o model.pt2 is the archive itself; choose another file\n")
    assert path.read_bytes() == small.read_bytes()


MODEL = """
import torch.nn as nn
import helper

def Net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), helper.act())
"""


@pytest.mark.parametrize("output", ["mymodel.py", "helper.py"])
def test_the_output_may_not_be_a_file_the_import_runs(forked, tmp_path, output):
    (tmp_path / "mymodel.py").write_text(MODEL)
    (tmp_path / "helper.py").write_text(
        "import torch.nn as nn\n\ndef act():\n    return nn.ReLU()\n"
    )
    before = {p.name: p.read_text() for p in tmp_path.glob("*.py")}
    run = _cli(forked, "mymodel:Net", "--input", "3,8,8", "-o", output, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    module = output.removesuffix(".py")
    said = rf"{output} is the source of {module} \(\S*/{output}\), which netspec runs; choose"
    assert re.search(said, run.stderr), run.stderr
    assert {p.name: p.read_text() for p in tmp_path.glob("*.py")} == before


def test_an_archive_named_with_a_newline_needs_a_name(forked, small, tmp_path):
    path = tmp_path / "a\nb.pt2"
    path.write_bytes(small.read_bytes())
    run = _cli(forked, path.name, cwd=tmp_path)
    assert run.returncode == 2
    assert "--name 'a\\nb': use letters, digits, _ . and -" in run.stderr
    run = _cli(forked, path.name, "--name", "ok", "-o", "ok.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ok.yaml").read_text() == SMALL.format("a\\nb.pt2", "ok")
    assert ns.load(tmp_path / "ok.yaml").name == "ok"


def _fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize(
    "make,what",
    [
        (_fifo, "is a named pipe (FIFO)"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.symlink_to("/dev/zero"), "is a device (character special file)"),
    ],
)
def test_an_archive_that_is_no_file_says_what_it_is(forked, tmp_path, make, what):
    make(tmp_path / "x.pt2")
    run = _cli(forked, "x.pt2", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.endswith(f"x.pt2: {what}, not a torch.export archive (.pt2) file\n")
    with pytest.raises(ns.NetspecError, match=re.escape(f"{what}, not an archive file")):
        ns.from_exported(tmp_path / "x.pt2")


def test_the_command_imports_a_pt2_archive_as_before(small, tmp_path):
    run = cli("import", str(small), "-o", str(tmp_path / "small.yaml"))
    assert run.code == 0, run.err
    assert (tmp_path / "small.yaml").read_text() == SMALL.format(small, "small")


def test_a_torchvision_archive_round_trips(tmp_path):
    """MobileNetV3 (squeeze-excitation, hardswish, an in-place dropout) through a .pt2: the
    spec is the one from the Python model, and the archive's state_dict loads strictly."""
    torchvision = need_torchvision()
    model = torchvision.models.mobilenet_v3_small(width_mult=0.25).eval()
    path = A.export(model, (3, 32, 32), tmp_path / "mobilenet.pt2")
    text = ns.from_exported(path, "mobilenet")
    assert text == ns.from_module(model, (3, 32, 32), name="mobilenet", origin=str(path))
    ours = ns.loads(text).build(device="meta").eval()
    ours.load_state_dict(
        torch.export.load(str(path)).module().state_dict(), strict=True, assign=True
    )
