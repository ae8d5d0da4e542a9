"""Names and echoes, and Graphviz's dot failing: a value a user gives (a scale, a name, a file
name) is echoed with its control characters escaped, so that it can forge no line (a fake
``spec.yaml: ok``) nor recolour a terminal; a name with a trailing newline is no name; a dot
that fails is a message naming dot and what it said, the .dot kept (exit 3)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import Case

NET = "name: net\ninput: [3]\nparams: {w: 1}\nscales: {n: {w: 1}}\nlayers: [relu]\n"
#: echoed raw, this ends the line, forges netspec's "ok" line and turns the terminal red
EVIL = "x\nnet.yaml: ok  forged\x1b[31m"
#: stderr holds no escape character and no line that starts as the forged one
CLEAN = r"(?m)\A(?![\s\S]*\x1b)(?![\s\S]*^net\.yaml: ok  forged)[\s\S]*"
#: a fake dot first on PATH (relative: the case runs in its folder)
PATH = {"PATH": "fake-bin:/usr/local/bin:/usr/bin:/bin"}


def _program(script: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_text(script)
        path.chmod(0o755)

    return make


def _dot(name: str, script: str, said: str) -> Case:
    return Case(
        f"dot_{name}",
        ("render", "net.yaml", "-o", "net.svg"),
        {"net.yaml": NET, "fake-bin/dot": _program(script)},
        code=3,
        message=f"^netspec render: wrote net.dot instead of net.svg. Graphviz's dot {said}",
        outputs=("net.dot",),
        env=PATH,
    )


CASES = [
    Case(
        "echo_scale_forges_no_line",
        ("check", "net.yaml", "--scale", EVIL),
        {"net.yaml": NET},
        message=CLEAN + r'scale "x\\nnet\.yaml: ok  forged\\x1b\[31m" is not one of',
        position=True,
    ),
    Case(
        "echo_set_key_forges_no_line",
        ("check", "net.yaml", "--set", f"{EVIL}=1"),
        {"net.yaml": NET},
        message=CLEAN + r"x\\nnet\.yaml: ok  forged\\x1b\[31m",
    ),
    Case(
        "echo_file_name_forges_no_line",
        ("check", f"{EVIL}.yaml"),
        message=CLEAN + r"^x\\nnet\.yaml: ok  forged\\x1b\[31m\.yaml: error: no such file",
    ),
    Case(
        "echo_plugin_forges_no_line",
        ("check", "net.yaml", "--plugin", EVIL),
        {"net.yaml": NET},
        code=2,
        message=CLEAN + r"plugin x\\nnet\.yaml: ok  forged\\x1b\[31m: not a module name",
    ),
    Case(
        "echo_option_forges_no_line",
        ("check", "net.yaml", "--x\x1b[31m\nforged"),
        {"net.yaml": NET},
        code=2,
        message=CLEAN + r"unrecognized arguments: --x\\x1b\[31m\\nforged",
    ),
    Case(
        "name_new_with_a_trailing_newline",
        ("new", "mynet\n"),
        code=2,
        message=r"^netspec new: error: 'mynet\\n' is not a spec name",
    ),
    Case(
        "name_block_with_a_trailing_newline",
        ("check", "net.yaml", "--table"),
        {"net.yaml": 'name: net\ninput: [3]\nblocks: {"b\\n": {layers: [relu]}}\nlayers: [relu]\n'},
        message=r'"b\\n"',
        position=True,
    ),
    _dot(
        "fails",
        "#!/bin/sh\necho 'Error: edge too long\x1b[2J' >&2\nexit 1\n",
        r"failed \(exit status 1\): Error: edge too long\\x1b\[2J\nhint: ",
    ),
    _dot("killed", "#!/bin/sh\nkill -9 $$\n", r"was killed \(signal SIGKILL\)"),
    _dot("bad_interpreter", "#!/no/such/sh\n", "could not be run: No such file or directory"),
    _dot("not_a_program", "\x7fELF, not really\n", "could not be run: Exec format error"),
]
