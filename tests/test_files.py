"""Outputs appear completely or not at all, never replace the spec, survive interruption and
concurrent writers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, netspec

import netspec as ns
from netspec import files
from netspec.files import write_bytes_atomic


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.svg"
    target.write_text("old complete picture")

    def half_then_interrupt(tmp):
        tmp.write_bytes(b"<svg half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, half_then_interrupt)
    assert target.read_text() == "old complete picture"
    assert [p.name for p in tmp_path.iterdir()] == ["model.svg"]


def test_failed_render_leaves_existing_output(tmp_path, monkeypatch):
    target = tmp_path / "lenet.dot"
    target.write_text("previous")
    import netspec.diagram as diagram

    def broken(source, fmt):
        raise OSError("disk full")

    monkeypatch.setattr(diagram, "render_dot", broken)
    from netspec.cli import main

    with pytest.raises(OSError):
        main(["render", "lenet", "-o", str(target)])
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.dot"]


def test_written_files_get_the_usual_permissions(tmp_path):
    out = tmp_path / "x.txt"
    write_bytes_atomic(out, b"data")
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("command", ["render", "summary", "build"])
def test_never_overwrites_the_spec(tmp_path, command):
    spec = tmp_path / "net.pt"  # a spec may have any name; here one -o would accept
    text = (ROOT / "specs" / "lenet.yaml").read_text()
    spec.write_text(text)
    if command == "render":
        spec = spec.rename(tmp_path / "net.dot")
    elif command == "summary":
        spec = spec.rename(tmp_path / "net.json")
    run = netspec(command, str(spec), "-o", str(spec))
    assert run.code == 2 and "spec itself" in run.err
    assert spec.read_text() == text


CONCURRENT = """
import sys
from netspec.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "args", [["render", "googlenet", "--format", "dot", "--expand"], ["build", "lenet"]]
)
def test_concurrent_writers_leave_one_complete_file(tmp_path, args):
    out = tmp_path / ("out.dot" if args[0] == "render" else "out.pt")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, *args, "-o", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read() if p.stderr else ""
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    if args[0] == "render":
        assert out.read_text() == ns.load("googlenet").to_dot(depth=99)
    else:
        import torch

        assert torch.jit.load(str(out))(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_summary_refuses_the_spec_as_output_before_any_work(tmp_path, monkeypatch):
    import netspec.summary
    from netspec.cli import main

    spec = tmp_path / "net.json"
    spec.write_text((ROOT / "specs" / "lenet.yaml").read_text())

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the summary was computed before the output was refused")

    monkeypatch.setattr(netspec.summary, "torch_summary", no_work)
    assert main(["summary", str(spec), "-o", str(spec)]) == 2
