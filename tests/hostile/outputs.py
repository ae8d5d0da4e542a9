"""Outputs (-o) that must not be written: devices, FIFOs, sockets, folders, loops of links,
over-long names, files the spec reads. Each is refused before any work (exit 2), nothing is
replaced or left behind, and nothing blocks. A link to a regular file is written through."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from . import Case, Setup, fifo, link, socket_at

NET = "name: net\ninput: [3]\nlayers: [relu]\n"
WITH_IMPORT = "name: net\nimports: [lib.yaml]\ninput: [3]\nlayers: [one]\n"
LIB = "blocks: {one: {layers: [relu]}}\n"
#: each command that writes, with the -o it takes (a suffix it accepts)
WRITERS = {
    "build": ("build", "net.yaml", "-o", "out.pt"),
    "render": ("render", "net.yaml", "-o", "out.svg"),
    "summary": ("summary", "--static", "net.yaml", "-o", "out.json"),
    "schema": ("schema", "-o", "out.json"),
    "new": ("new", "fresh", "-o", "out.yaml"),
}
SPECIAL = "; netspec replaces only regular files"


def _not_root() -> str:
    return "" if os.geteuid() == 0 else "making a device node needs root"


def _root() -> str:
    return "root writes whatever the permissions" if os.geteuid() == 0 else ""


def _device(name: str) -> Setup:
    return lambda d: os.mknod(d / name, 0o666 | stat.S_IFCHR, os.makedev(1, 3))


def _writer(
    kind: str,
    command: str,
    make: Callable[[str], Setup],
    what: str,
    skip: Callable[[], str] | None = None,
) -> Case:
    """``command -o out.*`` where ``out.*`` is ``what`` already: refused, exit 2."""
    args = WRITERS[command]
    return Case(
        f"output_{kind}_{command}",
        args,
        {"net.yaml": NET},
        code=2,
        message=f"^netspec {command}: error: -o {args[-1]}: is {what}.*{SPECIAL}",
        setup=make(args[-1]),
        skip=skip,
    )


def _refused(name: str, args: tuple[str, ...], message: str, setup: Setup | None = None) -> Case:
    """A refused output (exit 2), the spec and its import beside it."""
    files = {"net.yaml": WITH_IMPORT, "lib.yaml": LIB}
    return Case(name, args, files, code=2, message=message, setup=setup)


def _hardlink(name: str, target: str) -> Setup:
    return lambda d: os.link(d / target, d / name)


#: a plugin module, which the command loads (--plugin myplug, from the case's folder): code
#: netspec runs, never an output
PLUGIN = """import netspec
from netspec.plugins import Cost, Kind, Options


class NopSpec(Options):
    pass


@netspec.kind
class Nop(Kind):
    name = "nop"
    Options = NopSpec
    summary = "does nothing"

    def cost(self, opts, shape):
        return Cost(shape)

    def module(self, opts, input, output):
        from torch import nn

        return nn.Identity()
"""
WITH_PLUGIN = {"net.yaml": "name: net\ninput: [3]\nlayers: [nop]\n", "myplug.py": PLUGIN}


def _over_plugin(name: str, args: tuple[str, ...], setup: Setup | None = None) -> Case:
    """An output that is (or links to) the plugin's source: refused before any work."""
    return Case(
        f"output_is_the_plugin_{name}",
        (*args, "--plugin", "myplug"),
        WITH_PLUGIN,
        code=2,
        message="is the source of myplug \\(.*myplug.py\\), which netspec runs; choose another",
        setup=setup,
    )


def _read_only(d: Path) -> None:
    d.chmod(0o555)


CASES = [
    _over_plugin("schema", ("schema", "-o", "myplug.py")),
    _over_plugin("summary", ("summary", "--static", "net.yaml", "-o", "myplug.py")),
    _over_plugin(
        "summary_by_link",
        ("summary", "--static", "net.yaml", "-o", "o.csv"),
        link("o.csv", "myplug.py"),
    ),
    _over_plugin(
        "render_by_hard_link",
        ("render", "net.yaml", "--format", "dot", "-o", "out.dot"),
        _hardlink("out.dot", "myplug.py"),
    ),
    _over_plugin("build", ("build", "net.yaml", "-o", "out.pt"), _hardlink("out.pt", "myplug.py")),
    *(_writer("device", c, _device, "a device \\(character", skip=_not_root) for c in WRITERS),
    *(_writer("fifo", c, fifo, "a named pipe \\(FIFO\\)") for c in WRITERS),
    *(_writer("socket", c, socket_at, "a socket") for c in ("summary", "schema")),
    *(
        _writer(
            "link_to_fifo",
            c,
            lambda n: lambda d: (os.mkfifo(d / "p"), os.symlink("p", d / n)),
            "a named pipe",
        )
        for c in ("render", "summary")
    ),
    Case(
        "output_dev_null_as_user",
        ("schema", "-o", "/dev/null"),
        code=2,
        message=f"-o /dev/null: is a device.*{SPECIAL}",
        skip=lambda: (
            "as root a regression would replace this machine's /dev/null; "
            "output_device_* test the same on a node in the case folder"
            if os.geteuid() == 0
            else ""
        ),
    ),
    Case(
        "output_default_name_is_a_fifo",
        ("render", "net.yaml", "--format", "dot"),
        {"net.yaml": NET},
        code=2,
        message=f"^netspec render: error: net.dot: is a named pipe.*{SPECIAL}",
        setup=fifo("net.dot"),
    ),
    _refused(
        "output_is_the_import",
        ("summary", "--static", "net.yaml", "-o", "lib.yaml"),
        "^netspec summary: error: lib.yaml is a file the spec imports; choose another",
    ),
    _refused(
        "output_links_to_the_import",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        "out.json is a file the spec imports",
        setup=link("out.json", "lib.yaml"),
    ),
    _refused(
        "output_hard_link_to_the_import",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        "out.json is a file the spec imports",
        setup=_hardlink("out.json", "lib.yaml"),
    ),
    _refused(
        "output_hard_link_to_the_spec",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        "out.json is the spec itself",
        setup=_hardlink("out.json", "net.yaml"),
    ),
    _refused(
        "output_links_to_the_spec",
        ("render", "net.yaml", "--format", "dot", "-o", "out.dot"),
        "out.dot is the spec itself",
        setup=link("out.dot", "net.yaml"),
    ),
    Case(
        "output_is_an_import_of_an_import",
        ("summary", "--static", "net.yaml", "-o", "deep.yaml"),
        {
            "net.yaml": WITH_IMPORT,
            "lib.yaml": "imports: [deep.yaml]\n" + LIB,
            "deep.yaml": "blocks: {two: {layers: [relu]}}\n",
        },
        code=2,
        message="deep.yaml is a file the spec imports",
    ),
    _refused(
        "output_symlink_loop",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        "-o out.json: a loop of symbolic links",
        setup=lambda d: (os.symlink("b", d / "out.json"), os.symlink("out.json", d / "b")),
    ),
    _refused(
        "output_name_too_long",
        ("summary", "--static", "net.yaml", "-o", "x" * 300 + ".json"),
        "-o x+\\.\\.\\.x+\\.json: the name is too long",
    ),
    _refused(
        "output_under_a_file",
        ("summary", "--static", "net.yaml", "-o", "net.yaml/out.json"),
        "-o net.yaml/out.json: the folder net.yaml does not exist",
    ),
    _refused(
        "output_is_a_folder_link",
        ("summary", "--static", "net.yaml", "-o", "sub"),
        "-o sub is a folder",
        setup=lambda d: (os.mkdir(d / "real"), os.symlink("real", d / "sub")),
    ),
    _refused(
        "new_output_is_a_fifo_link",
        ("new", "fresh", "-o", "out.yaml"),
        "-o out.yaml: is a named pipe",
        setup=lambda d: (os.mkfifo(d / "p"), os.symlink("p", d / "out.yaml")),
    ),
    Case(
        "output_read_only_folder",
        ("summary", "--static", "{dir}/sub/net.yaml", "-o", "{dir}/sub/out.json"),
        {"sub/net.yaml": NET},
        message="sub/out.json: error: cannot write: permission denied",
        setup=lambda d: _read_only(d / "sub"),
        skip=_root,
    ),
    Case(
        "output_through_a_link_to_a_file",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        {"net.yaml": NET, "target.json": "old"},
        code=0,
        outputs=("target.json",),
        setup=link("out.json", "target.json"),
    ),
    Case(
        "output_through_a_dangling_link",
        ("summary", "--static", "net.yaml", "-o", "out.json"),
        {"net.yaml": NET},
        code=0,
        outputs=("target.json",),
        setup=link("out.json", "target.json"),
    ),
]
