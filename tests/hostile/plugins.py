"""Plugins that misbehave: each failure is reported as the plugin's, by name, never as a
traceback of netspec. Loading a plugin is a misuse of the command when it fails (exit 2);
a plugin kind that fails while a spec uses it is an error at that layer (exit 1)."""

from __future__ import annotations

from . import Case

SPEC = "name: net\ninput: [8, 4, 4]\nlayers:\n  - bad: {}\n"

#: a plugin kind whose method ``METHOD`` runs ``BODY``
KIND = """
import sys
import netspec
from netspec.plugins import Cost, Kind, Options, Shape


class BadSpec(Options):
    pass


@netspec.kind
class Bad(Kind):
    name = "bad"
    Options = BadSpec
    summary = "a kind that fails"

    def cost(self, opts, shape):
        {cost}
        return Cost(shape)

    def module(self, opts, input, output):
        {module}
        from torch import nn
        return nn.Identity()

    def describe(self, opts):
        {describe}
        return "bad"
"""


def _kind(cost: str = "pass", module: str = "pass", describe: str = "pass") -> str:
    return KIND.format(cost=cost, module=module, describe=describe)


def _import_case(name: str, body: str, message: str) -> Case:
    return Case(
        name,
        ("check", "net.yaml", "--plugin", "badplugin", "--no-entry-points"),
        {"net.yaml": SPEC, "badplugin.py": body},
        code=2,
        message=message,
    )


def _use_case(name: str, command: tuple[str, ...], message: str, **methods: str) -> Case:
    torch = command[0] == "build"
    return Case(
        name,
        (*command[:1], "net.yaml", *command[1:], "--plugin", "badplugin", "--no-entry-points"),
        {"net.yaml": SPEC, "badplugin.py": _kind(**methods)},
        code=1,
        message=message,
        position=command[0] != "render",
        torch=torch,
        outputs=tuple(a for a in command if "." in a),
    )


CASES = [
    _import_case(
        "plugin_exits_on_import", "import sys\nsys.exit(3)\n", r"badplugin.*sys\.exit\(3\)"
    ),
    _import_case("plugin_exits_none", "import sys\nsys.exit()\n", r"badplugin.*sys\.exit"),
    _import_case(
        "plugin_raises_on_import", "raise RuntimeError('boom')\n", r"badplugin.*RuntimeError: boom"
    ),
    _import_case("plugin_imports_missing", "import no_such_module_xyz\n", r"no_such_module_xyz"),
    _import_case("plugin_syntax_error", "def (:\n", r"badplugin.*SyntaxError"),
    _import_case(
        "plugin_takes_builtin_name",
        _kind().replace('name = "bad"', 'name = "conv"'),
        r"built-in kind",
    ),
    Case(
        "plugin_not_found",
        ("check", "net.yaml", "--plugin", "no_such_plugin_xyz", "--no-entry-points"),
        {"net.yaml": SPEC},
        code=2,
        message="no module named no_such_plugin_xyz",
    ),
    Case(
        "plugin_not_a_module_name",
        ("check", "net.yaml", "--plugin", "../evil", "--no-entry-points"),
        {"net.yaml": SPEC},
        code=2,
        message="not a module name",
    ),
    _use_case(
        "plugin_cost_raises",
        ("check",),
        r'plugin kind "bad" \(badplugin\.Bad\) failed: its cost\(\) raised ZeroDivisionError',
        cost="1 / 0",
    ),
    _use_case(
        "plugin_cost_exits",
        ("check",),
        r'plugin kind "bad" .* its cost\(\) exited \(4\)',
        cost="sys.exit(4)",
    ),
    _use_case(
        "plugin_cost_returns_nothing",
        ("check",),
        r'plugin kind "bad" .* failed',
        cost="return None",
    ),
    _use_case(
        "plugin_module_raises_at_build",
        ("build",),
        r'plugin kind "bad" .* its module\(\) raised ValueError: no',
        module="raise ValueError('no')",
    ),
    _use_case(
        "plugin_module_exits_at_build",
        ("build",),
        r'plugin kind "bad" .* exited',
        module="sys.exit(0)",
    ),
    _use_case(
        "plugin_describe_raises_in_render",
        ("render", "--format", "dot", "-o", "out.dot"),
        r'plugin kind "bad" .* its describe\(\) raised KeyError',
        describe="raise KeyError('x')",
    ),
]
