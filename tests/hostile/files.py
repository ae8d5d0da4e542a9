"""Specs and imports that are not regular files: devices, FIFOs, folders, sockets, loops of
links, over-long names, unreadable or oversized files. Each is a clear error naming the file
(at the import line for an import); nothing is read past 16 MiB and nothing blocks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import Case, Content, Setup, fifo, link, socket_at

NET = "name: net\ninput: [3]\nlayers: [relu]\n"
LONG = "x" * 300 + ".yaml"
DEVICE = "is a device \\(character special file\\), not a spec file"


def _root() -> str:
    return "root reads files whatever their permissions" if os.geteuid() == 0 else ""


def _loop(first: str, second: str) -> Setup:
    def make(d: Path) -> None:
        os.symlink(second, d / first)
        os.symlink(first, d / second)

    return make


def _folder(name: str) -> Setup:
    return lambda d: (d / name).mkdir()


def _unreadable(name: str, text: str) -> Setup:
    def make(d: Path) -> None:
        (d / name).write_text(text)
        (d / name).chmod(0)

    return make


def _sparse(size: int) -> Setup:
    def make(path: Path) -> None:
        with path.open("wb") as f:
            f.truncate(size)

    return make


def _spec(name: str, message: str, *args: str, setup: Setup | None = None) -> Case:
    """A spec that cannot be read: exit 1, the message names it."""
    return Case(name, args or ("check", "net.yaml"), message=message, setup=setup)


def _import(
    name: str,
    target: str,
    message: str,
    files: dict[str, Content] | None = None,
    setup: Setup | None = None,
    skip: Callable[[], str] | None = None,
) -> Case:
    """A spec importing ``target`` that cannot be read: exit 1 at the import line."""
    spec = f"name: net\nimports:\n  - {target}\ninput: [3]\nlayers: [relu]\n"
    where = f"^net.yaml:3:5: error: cannot import '{target[:36]}"
    return Case(
        name,
        ("check", "net.yaml"),
        {"net.yaml": spec, **(files or {})},
        message=where + ".*" + message,
        position=True,
        setup=setup,
        skip=skip,
    )


CASES = [
    _spec("spec_dev_zero", f"^/dev/zero: error: {DEVICE}", "check", "/dev/zero"),
    _spec("spec_dev_null", f"^/dev/null: error: {DEVICE}", "check", "/dev/null"),
    _spec("spec_dev_urandom", f"^/dev/urandom: error: {DEVICE}", "check", "/dev/urandom"),
    _spec("spec_dev_zero_build", f"^/dev/zero: error: {DEVICE}", "build", "/dev/zero"),
    _spec("spec_dev_zero_render", f"^/dev/zero: error: {DEVICE}", "render", "/dev/zero"),
    _spec(
        "spec_dev_zero_summary", f"^/dev/zero: error: {DEVICE}", "summary", "--static", "/dev/zero"
    ),
    _spec("spec_fifo", "^net.yaml: error: is a named pipe \\(FIFO\\)", setup=fifo("net.yaml")),
    _spec(
        "spec_fifo_build",
        "^net.yaml: error: is a named pipe",
        "build",
        "net.yaml",
        setup=fifo("net.yaml"),
    ),
    _spec("spec_directory", "^net.yaml: error: is a folder", setup=_folder("net.yaml")),
    _spec("spec_socket", "^net.yaml: error: is a socket", setup=socket_at("net.yaml")),
    _spec(
        "spec_symlink_loop",
        "^net.yaml: error: a loop of symbolic links",
        setup=_loop("net.yaml", "other.yaml"),
    ),
    _spec(
        "spec_symlink_to_itself",
        "^net.yaml: error: a loop of symbolic links",
        setup=link("net.yaml", "net.yaml"),
    ),
    _spec(
        "spec_symlink_to_device",
        f"^net.yaml: error: {DEVICE}",
        setup=link("net.yaml", "/dev/zero"),
    ),
    _spec(
        "spec_symlink_to_fifo",
        "^net.yaml: error: is a named pipe",
        setup=lambda d: (os.mkfifo(d / "pipe"), os.symlink("pipe", d / "net.yaml")),
    ),
    _spec(
        "spec_symlink_to_folder",
        "^net.yaml: error: is a folder",
        setup=lambda d: (os.mkdir(d / "sub"), os.symlink("sub", d / "net.yaml")),
    ),
    _spec("spec_dangling_symlink", "^net.yaml: error: no such file", setup=link("net.yaml", "x")),
    Case(
        "spec_under_a_file",
        ("check", "net.yaml/inner.yaml"),
        {"net.yaml": NET},
        message="^net.yaml/inner.yaml: error: no such file \\(a part of the path is not a folder",
    ),
    Case(
        "spec_name_too_long",
        ("check", LONG),
        message="error: the path is too long",
    ),
    Case(
        "spec_path_too_long",
        ("check", "d/" * 2100 + "x.yaml"),
        message="error: the path is too long",
    ),
    Case(
        "spec_permission_denied",
        ("check", "net.yaml"),
        message="^net.yaml: error: permission denied",
        setup=_unreadable("net.yaml", NET),
        skip=_root,
    ),
    Case(
        "spec_sparse_100_mib",
        ("check", "net.yaml"),
        {"net.yaml": _sparse(100 * 2**20)},
        message="^net.yaml: error: file is 104,857,600 bytes; specs are limited to 16,777,216",
    ),
    Case(
        "spec_device_among_good_ones",
        ("check", "net.yaml", "/dev/zero", "net.yaml"),
        {"net.yaml": NET},
        message=f"^/dev/zero: error: {DEVICE}",
    ),
    _import("import_fifo", "lib.yaml", "is a named pipe \\(FIFO\\)", setup=fifo("lib.yaml")),
    _import("import_device", "lib.yaml", DEVICE, setup=link("lib.yaml", "/dev/zero")),
    _import("import_dev_null", "lib.yaml", DEVICE, setup=link("lib.yaml", "/dev/null")),
    _import("import_directory", "lib.yaml", "is a folder", setup=_folder("lib.yaml")),
    _import("import_socket", "lib.yaml", "is a socket", setup=socket_at("lib.yaml")),
    _import(
        "import_symlink_loop",
        "lib.yaml",
        "a loop of symbolic links",
        setup=_loop("lib.yaml", "other.yaml"),
    ),
    _import(
        "import_symlink_to_itself",
        "lib.yaml",
        "a loop of symbolic links",
        setup=link("lib.yaml", "lib.yaml"),
    ),
    _import("import_dangling_symlink", "lib.yaml", "no such file", setup=link("lib.yaml", "x")),
    _import("import_name_too_long", LONG, "the path is too long"),
    _import(
        "import_under_a_file",
        "lib.yaml/inner.yaml",
        "no such file",
        files={"lib.yaml": "blocks: {}\n"},
    ),
    _import(
        "import_permission_denied",
        "lib.yaml",
        "permission denied",
        setup=_unreadable("lib.yaml", "blocks: {one: {layers: [relu]}}\n"),
        skip=_root,
    ),
    _import(
        "import_sparse_100_mib",
        "lib.yaml",
        "specs are limited to 16,777,216",
        files={"lib.yaml": _sparse(100 * 2**20)},
    ),
    Case(
        "import_device_two_files_down",
        ("check", "net.yaml"),
        {
            "net.yaml": "name: net\nimports: [a.yaml]\ninput: [3]\nlayers: [relu]\n",
            "a.yaml": "imports:\n  - b.yaml\nblocks: {one: {layers: [relu]}}\n",
        },
        message=f"^a.yaml:2:5: error: cannot import 'b.yaml': {DEVICE}(.|\\n)*imported here",
        position=True,
        setup=link("b.yaml", "/dev/zero"),
    ),
    Case(
        "import_fifo_of_a_checked_library",
        ("check", "lib.yaml"),
        {"lib.yaml": "imports:\n  - pipe.yaml\nblocks: {one: {layers: [relu]}}\n"},
        message="^lib.yaml:2:5: error: cannot import 'pipe.yaml': is a named pipe",
        position=True,
        setup=fifo("pipe.yaml"),
    ),
]
