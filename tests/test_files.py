"""Outputs appear completely or not at all, never replace the spec, survive interruption and
concurrent writers."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, cli

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
    run = cli(command, str(spec), "-o", str(spec))
    assert run.code == 2 and "spec itself" in run.err
    assert spec.read_text() == text


CONCURRENT = """
import sys
from netspec.cli import main
sys.exit(main(sys.argv[1:]))
"""


#: Three processes at once, each running the command of argv[2:]: forked together from one
#: that has imported the command line and the modules of argv[1] (torch, for build) without
#: running them, so that the three do not each import torch (about 3 s of CPU). Each ends as
#: tests/forkserver.py's children do, without the teardown of the modules (0.3 s of CPU with
#: torch). The exit code is the first failing process's, or 0.
TOGETHER = """
import atexit, json, os, sys
for module in json.loads(sys.argv[1]):
    __import__(module)
from netspec.cli import main
pids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        code = main(sys.argv[2:])
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    pids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
sys.exit(next((code for code in codes if code), 0))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "args", [["render", "googlenet", "--format", "dot", "--expand"], ["build", "lenet"]]
)
def test_concurrent_writers_leave_one_complete_file(tmp_path, args):
    out = tmp_path / ("out.dot" if args[0] == "render" else "out.pt")
    preload = ["torch"] if args[0] == "build" else []
    proc = subprocess.run(
        [sys.executable, "-c", TOGETHER, json.dumps(preload), *args, "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
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


def _error_text(call) -> str:
    with pytest.raises(ns.NetspecError) as e:
        call()
    return str(e.value)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (
            errno.ENOSPC,
            "cannot write: no space left on the device\nhint: free some space, or "
            "write to another folder; an existing file is left as it was",
        ),
        (
            errno.EROFS,
            "cannot write: the file system is read-only\nhint: write to another "
            "folder; an existing file is left as it was",
        ),
        (
            errno.EACCES,
            "cannot write: permission denied\nhint: write to a folder you may write "
            "to; an existing file is left as it was",
        ),
    ],
)
def test_a_failed_write_is_an_error_and_leaves_the_old_file(tmp_path, monkeypatch, code, text):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(self, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_bytes", fail)
    assert _error_text(lambda: write_bytes_atomic(target, b"new")) == f"{target}: error: {text}"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_an_interruption_as_the_temporary_is_made_leaves_nothing(tmp_path, monkeypatch):
    """SIGTERM is raised in the main thread between any two steps, whichever thread it
    reached (so no signal mask holds it off): here, right after the file is created."""
    created = files._created

    def interrupted(shown: str, name: str) -> bool:
        created(shown, name)
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "_created", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(tmp_path / "x.bin", b"data")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_refuses_the_temporary_is_an_error(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):  # the folder refuses; everything else opens as ever
        if str(path).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    text = _error_text(lambda: write_bytes_atomic(tmp_path / "x.svg", b"<svg/>"))
    assert text.startswith(
        f"{tmp_path / 'x.svg'}: error: cannot write: the file system is read-only"
    )


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs, where the system lets us mount one (root in a container)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_leaves_the_old_file_and_no_temporary(small_disk):
    target = small_disk / "summary.json"
    target.write_text("old")
    text = _error_text(lambda: write_bytes_atomic(target, b"x" * 200_000))
    assert "error: cannot write: no space left on the device" in text
    assert target.read_text() == "old"
    assert [p.name for p in small_disk.iterdir()] == ["summary.json"]


def test_something_put_in_the_way_while_writing_is_not_replaced(tmp_path):
    target = tmp_path / "out.svg"

    def meanwhile(tmp):
        tmp.write_bytes(b"<svg/>")
        os.mkfifo(target)

    assert _error_text(lambda: files.write_atomic(target, meanwhile)) == (
        f"{target}: error: cannot write: it is a named pipe (FIFO), not a regular file\n"
        "hint: choose a file name; netspec replaces only regular files"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"] and not target.is_file()


def test_a_link_is_written_through(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    write_bytes_atomic(tmp_path / "link.json", b"new")
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "real.json").read_text() == "new"


def test_output_problems(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file").write_text("")
    assert files.output_problem(tmp_path / "file") == ""
    assert files.output_problem(tmp_path / "new") == ""
    assert files.output_problem(tmp_path / "pipe") == "is a named pipe (FIFO)"
    assert files.output_problem(tmp_path) == "is a folder"
    assert files.output_problem(Path("/dev/null")) == "is a device (character special file)"
    assert files.output_problem(tmp_path / "no" / "x") == "its folder does not exist"
    assert files.output_problem(tmp_path / ("x" * 300)) == "the name is too long"


def test_summary_refuses_to_replace_an_import(tmp_path, capsys):
    from netspec.cli import main

    (tmp_path / "lib.yaml").write_text("blocks: {one: {layers: [relu]}}\n")
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\nimports: [lib.yaml]\ninput: [3]\nlayers: [one]\n")
    out = tmp_path / "lib.yaml"
    assert main(["summary", "--static", str(spec), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"netspec summary: error: {out} is a file the spec imports; choose another output file\n"
    )
    assert out.read_text() == "blocks: {one: {layers: [relu]}}\n"


SLOW_SAVE = """
import pathlib, sys, time
from netspec.cli import main

def slow(path, data):
    with open(path, "wb") as f:
        f.write(b"half a model")
    print("writing", flush=True)
    time.sleep(60)

pathlib.Path.write_bytes = slow  # netspec writes the saved bytes into its temporary this way
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_while_saving_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "model.pt"
    out.write_text("old complete model")
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVE, "build", "lenet", "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line == "writing\n":
            break
    assert any(p.name.startswith(".model.pt.") for p in tmp_path.iterdir())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    assert out.read_text() == "old complete model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.slow
def test_sigterm_during_a_real_save_leaves_no_temporary(tmp_path):
    out = tmp_path / "model.pt"
    out.write_text("old")
    proc = subprocess.Popen(
        [sys.executable, "-c", CONCURRENT, "build", "resnet", "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while proc.poll() is None and not any(p.name != "model.pt" for p in tmp_path.iterdir()):
        time.sleep(0.001)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    names = [p.name for p in tmp_path.iterdir()]
    assert names == ["model.pt"], names
    if code == 128 + signal.SIGTERM:  # stopped in time: the old file stays
        assert out.read_text() == "old"
    else:  # it had already finished: the new file is complete
        assert code == 0 and out.stat().st_size > 1_000_000


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder holding an old out.json, bind-mounted read-only over itself (root in a
    container may; elsewhere the tests skip, except in CI)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "out.json").write_text("old")
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode == 0:
        remount = ["mount", "-o", "remount,bind,ro", str(folder)]
        made = subprocess.run(remount, capture_output=True)
        if made.returncode:
            subprocess.run(["umount", str(folder)], check=True)
            mounted = made
    if mounted.returncode:
        if os.environ.get("CI"):
            pytest.fail(f"cannot bind-mount a folder read-only: {mounted.stderr!r}")
        pytest.skip("cannot bind-mount a folder read-only here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_summary_onto_a_read_only_file_system_is_a_message(read_only_folder, tmp_path, capsys):
    """The temporary file cannot be made, nor removed (a read-only file system refuses even
    that, with EROFS, not ENOENT): a message, exit 1, the old file as it was."""
    from netspec.cli import main

    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninput: [3]\nlayers: [relu]\n")
    target = read_only_folder / "out.json"
    assert main(["summary", "--static", str(spec), "-o", str(target)]) == 1
    assert capsys.readouterr().err == (
        f"{target}: error: cannot write: the file system is read-only\n"
        "hint: write to another folder; an existing file is left as it was\n"
    )
    assert target.read_text() == "old"
    assert [p.name for p in read_only_folder.iterdir()] == ["out.json"]


#: how an unlink that fails says so: the OSError of each errno a file system may give
UNLINK_ERRORS = [errno.EROFS, errno.EACCES, errno.EPERM, errno.EBUSY, errno.EIO]


@pytest.mark.parametrize("code", UNLINK_ERRORS, ids=errno.errorcode.get)
def test_a_temporary_that_cannot_be_made_nor_unlinked_is_a_message(tmp_path, monkeypatch, code):
    """Creating the temporary fails, and so does unlinking the name that was never made."""
    real_open = os.open

    def refuse_open(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, *args, **kwargs)

    def refuse_unlink(path, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "open", refuse_open)
    monkeypatch.setattr(os, "unlink", refuse_unlink)
    text = _error_text(lambda: write_bytes_atomic(tmp_path / "x.svg", b"<svg/>"))
    assert text == (
        f"{tmp_path / 'x.svg'}: error: cannot write: the file system is read-only\n"
        "hint: write to another folder; an existing file is left as it was"
    )


@pytest.mark.parametrize("code", UNLINK_ERRORS, ids=errno.errorcode.get)
def test_a_temporary_left_behind_is_named_in_the_message(tmp_path, monkeypatch, code):
    """The write fails (a full disk), and the temporary it made cannot be removed: the
    message says so, and names it, so that it can be removed by hand."""
    target = tmp_path / "out.json"
    target.write_text("old")

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def refuse_unlink(path, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(os, "unlink", refuse_unlink)
    text = _error_text(lambda: write_bytes_atomic(target, b"new"))
    monkeypatch.undo()
    left = [p for p in tmp_path.iterdir() if p.name != "out.json"]
    assert len(left) == 1 and left[0].name.startswith(".out.json.")
    assert text == (
        f"{target}: error: cannot write: no space left on the device\n"
        f"note: the temporary file {left[0]} could not be removed "
        f"({os.strerror(code)}): delete it\n"
        "hint: free some space, or write to another folder; an existing file is left as it was"
    )
    assert target.read_text() == "old"


@pytest.mark.parametrize(
    ("step", "code", "reason"),
    [
        ("chmod", errno.EPERM, "permission denied"),
        ("replace", errno.EXDEV, os.strerror(errno.EXDEV)),
        ("replace", errno.EIO, os.strerror(errno.EIO)),
        ("replace", errno.EBUSY, os.strerror(errno.EBUSY)),
    ],
)
def test_any_failing_step_is_a_message_and_leaves_nothing(
    tmp_path, monkeypatch, step, code, reason
):
    target = tmp_path / "out.json"
    target.write_text("old")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, step, fail)
    text = _error_text(lambda: write_bytes_atomic(target, b"new"))
    assert text.startswith(f"{target}: error: cannot write: {reason}\n"), text
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
