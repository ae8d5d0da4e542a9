"""Plugins: kinds from Python modules (``--plugin``, entry points, ``@netspec.kind``), never
from a spec; the squeeze-and-excitation example end to end; docs/plugins.md as it is written.

In-process tests restore the registry and drop the plugin modules they imported (the
``registry_restored`` fixture), so no kind leaks into other tests of the same worker.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
import yaml
from conftest import ROOT, _as_a_fresh_process, imported_modules, imports_torch, netspec
from conftest import cli as in_process
from crosscheck import assert_static_matches_module
from pydantic import BaseModel

import netspec as ns
from netspec import cli, registry
from netspec.cli import main
from netspec.plugins import NO_ENTRY_POINTS_ENV, Cost, Kind, Options, PosInt, Problem, load_plugin
from netspec.registry import kind_names, registered
from netspec.schema_json import spec_json_schema

PLUGINS = ROOT / "examples" / "plugins"
#: the plugin modules tests import: the example and the broken ones below
PLUGIN_MODULES = {
    "netspec_se",
    "plugin_raises",
    "plugin_needs",
    "plugin_empty",
    "plugin_takes_relu",
}
SE_SPEC = "examples/plugins/se_resnet.yaml"
DOC = ROOT / "docs" / "plugins.md"


@pytest.fixture
def registry_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whatever a test registers or imports as a plugin is gone afterwards."""
    kinds = registered()
    modules = set(sys.modules)
    monkeypatch.setattr(registry, "_entry_points_pending", False)  # no installed plugins here
    monkeypatch.syspath_prepend(str(PLUGINS))
    yield
    for name in set(registered()) - set(kinds):
        ns.unregister(name)
    for module in PLUGIN_MODULES & (set(sys.modules) - modules):
        del sys.modules[module]  # so that a later test imports (and registers) it afresh
    assert registered() == kinds


pytestmark = pytest.mark.usefixtures("registry_restored")


def leaf(name: str, options: type[Options] = Options, **attrs: object) -> type[Kind]:
    """A minimal leaf kind that keeps its input shape."""

    def cost(self: Kind, opts: object, shape: ns.Shape) -> Cost:
        return Cost(shape)

    def module(self: Kind, opts: object, input: ns.Shape, output: ns.Shape) -> torch.nn.Module:
        return torch.nn.Identity()

    body = {"name": name, "Options": options, "cost": cost, "module": module, **attrs}
    return type(f"Kind_{name}", (Kind,), body)


# --- the example, end to end ------------------------------------------------------------------


def test_se_example_static_figures_equal_the_built_module():
    assert [k.name for k in ns.load_plugins("netspec_se")] == ["se"]
    spec = ns.load(ROOT / SE_SPEC)
    model = spec.build()
    modules = dict(model.named_modules())
    se_paths = [c.path for c in spec.checked.walk() if c.node.kind.name == "se"]
    assert se_paths == ["stage.0.body.se", "stage.1.body.se", "stage.2.body.se"]
    # the gate's two linear maps, applied once per sample
    gates = {p: modules[p].w1.numel() + modules[p].w2.numel() for p in se_paths}
    assert_static_matches_module(spec, model, gates)
    assert sum(p.numel() for p in model.parameters()) == spec.num_params == 311_576


def test_se_shorthand_default_and_expressions():
    ns.load_plugins("netspec_se")
    text = "name: t\ninput: [64, 4, 4]\nparams: {r: 8}\nlayers: [se, {se: 4}, {se: '${r}'}]\n"
    spec = ns.loads(text)
    assert [c.params for c in spec.checked.walk()[1:]] == [580, 2_128, 1_096]


@pytest.mark.slow
def test_cli_commands_with_the_se_plugin(tmp_path):
    # in this process, examples/plugins on sys.path (registry_restored), as PYTHONPATH puts it
    run = in_process("check", "--plugin", "netspec_se", SE_SPEC, "--table")
    assert run.code == 0, run.err
    assert "stage.1.body.se     se /16            (64, 16, 16)      580         512" in run.out
    run = in_process("build", "--plugin", "netspec_se", SE_SPEC, "-o", str(tmp_path / "se.pt"))
    assert run.code == 0, run.err
    assert "params  311,576" in run.out
    scripted = torch.jit.load(str(tmp_path / "se.pt"))
    assert scripted(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    run = in_process("summary", "--plugin", "netspec_se", SE_SPEC, "--format", "csv")
    assert run.code == 0, run.err
    assert "\nstage.1.body.se,SqueezeExcitation,se /16,4,64x16x16,580,512,0\n" in run.out
    run = in_process("render", "--plugin", "netspec_se", SE_SPEC, "-o", str(tmp_path / "se.dot"))
    assert run.code == 0, run.err
    assert "se /16" in (tmp_path / "se.dot").read_text()
    run = in_process("list", "--kinds", "--plugin", "netspec_se")
    assert run.code == 0 and re.search(r"\nse +squeeze-and-excitation", run.out)


def test_check_with_a_plugin_does_not_import_torch(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(PLUGINS))
    imported = imported_modules("check", "--plugin", "netspec_se", SE_SPEC)
    assert "netspec_se" in imported
    assert not imports_torch(imported)


def test_every_command_takes_plugin_options():
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"check", "build", "render", "summary", "schema", "list", "new"} <= set(sub.choices)
    for name, command in sub.choices.items():
        options = {o for action in command._actions for o in action.option_strings}
        assert {"--plugin", "--no-entry-points"} <= options, name


# --- what the user sees without the plugin, or with a broken one ---------------------------------


def test_unknown_kind_hint_names_plugins(tmp_path, capsys, monkeypatch):
    # "se" itself is a near miss of the built-in "selu", so the hint is a "did you mean"
    monkeypatch.chdir(tmp_path)
    spec = (ROOT / SE_SPEC).read_text().replace("- se: {", "- squeeze_excite: {")
    Path("net.yaml").write_text(spec)
    assert main(["check", "--no-entry-points", "net.yaml"]) == 1
    listing = ", ".join(sorted([*kind_names(), "se_block"]))
    assert capsys.readouterr().err == (
        'net.yaml:22:15: error: unknown layer kind "squeeze_excite"\n'
        "hint: a plugin's kind needs its plugin loaded: --plugin MODULE "
        '(in Python: netspec.load_plugins("MODULE")); '
        f"valid kinds and blocks: {listing}\n"
        '    22 |             - squeeze_excite: {name: se, reduction: "${reduction}"}\n'
        "       |               ^\n"
    )


def test_a_near_miss_keeps_did_you_mean_alone():
    ns.load_plugins("netspec_se")
    with pytest.raises(ns.NetspecError) as e:
        ns.loads("name: t\ninput: [64, 4, 4]\nlayers: [sse]\n")
    hint = e.value.diagnostics[0].hint
    assert hint.startswith('did you mean "se"? or, for a plugin\'s kind, load it with --plugin')


def test_a_spec_cannot_import_a_module():
    for word in ("netspec_se", "netspec_se.SqueezeExcite", "os.system"):
        with pytest.raises(ns.NetspecError, match=f'unknown layer kind "{re.escape(word)}"'):
            ns.loads(f"name: t\ninput: [64, 4, 4]\nlayers: ['{word}']\n")
    assert "netspec_se" not in sys.modules


BAD_PLUGINS = {
    "plugin_raises": 'raise RuntimeError("no GPU found")\n',
    "plugin_needs": "import module_that_is_not_installed\n",
    "plugin_empty": "VALUE = 1\n",
    "plugin_takes_relu": (
        "import netspec\nfrom netspec.plugins import Cost, Kind, Options\n\n"
        "@netspec.kind\nclass Relu(Kind):\n    name = 'relu'\n    Options = Options\n"
        "    def cost(self, opts, shape):\n        return Cost(shape)\n"
        "    def module(self, opts, input, output):\n        raise NotImplementedError\n"
    ),
}


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (
            "netspec_sx",
            "plugin netspec_sx: there is no module named netspec_sx; install it, or add the "
            "folder that holds it to PYTHONPATH",
        ),
        (
            "examples/plugins/netspec_se.py",
            "plugin examples/plugins/netspec_se.py: not a module name; give its module name, "
            "not its file: netspec_se, with its folder on PYTHONPATH",
        ),
        (
            "netspec-se",
            "plugin netspec-se: not a module name; give the name `import` would take, e.g. "
            "netspec_se or my_package.layers",
        ),
        (
            "plugin_raises",
            "plugin plugin_raises: importing it raised RuntimeError: no GPU found; fix the plugin "
            "or leave it out",
        ),
        (
            "plugin_needs",
            "plugin plugin_needs: importing it failed: No module named "
            "'module_that_is_not_installed'; fix the plugin or leave it out",
        ),
        (
            "plugin_empty",
            "plugin plugin_empty: importing it registered no kinds; decorate each of its Kind "
            "subclasses with @netspec.kind",
        ),
        (
            "plugin_takes_relu",
            'plugin plugin_takes_relu: importing it raised ValueError: cannot register kind "relu" '
            '(plugin_takes_relu.Relu): "relu" is a built-in kind of netspec; give your kind '
            "another name; fix the plugin or leave it out",
        ),
    ],
)
def test_bad_plugins_are_exit_2_naming_the_plugin(plugin, message, tmp_path, capsys, monkeypatch):
    for name, source in BAD_PLUGINS.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(ROOT)
    for command in (["check", "lenet"], ["schema"], ["list", "--kinds"]):
        assert main([*command[:1], "--plugin", "netspec_se", "--plugin", plugin, *command[1:]]) == 2
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"netspec {command[0]}: error: {message}\n")
        sys.modules.pop(plugin, None)  # as in a fresh process


def test_a_bad_plugin_in_a_fresh_process_has_no_traceback(tmp_path):
    (tmp_path / "plugin_raises.py").write_text(BAD_PLUGINS["plugin_raises"])
    run = netspec("check", "--plugin", "plugin_raises", "lenet", env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 2 and run.out == ""
    assert run.err == (
        "netspec check: error: plugin plugin_raises: importing it raised RuntimeError: "
        "no GPU found; fix the plugin or leave it out\n"
    )


# --- registering ---------------------------------------------------------------------------------


def test_decorator_registers_an_instance_and_returns_the_class():
    cls = ns.kind(leaf("plugin_gate"))
    assert isinstance(registered()["plugin_gate"], cls)
    assert ns.loads("name: t\ninput: [4]\nlayers: [plugin_gate, relu]\n").num_params == 0
    assert ns.unregister("plugin_gate").name == "plugin_gate"
    with pytest.raises(ns.NetspecError, match='unknown layer kind "plugin_gate"'):
        ns.loads("name: t\ninput: [4]\nlayers: [plugin_gate, relu]\n")


def test_register_takes_an_instance_and_the_same_class_again_replaces_it():
    cls = leaf("plugin_gate")
    first = ns.register(cls())
    second = ns.register(cls())  # a re-run notebook cell: same module and class name
    assert registered()["plugin_gate"] is second is not first


def test_a_taken_name_is_a_value_error_saying_what_to_do():
    ns.kind(leaf("plugin_gate"))

    class Other(leaf("plugin_other")):
        name = "plugin_gate"

    with pytest.raises(ValueError) as e:
        ns.kind(Other)
    assert str(e.value) == (
        'cannot register kind "plugin_gate" (test_plugins.test_a_taken_name_is_a_value_error_'
        "saying_what_to_do.<locals>.Other): test_plugins.Kind_plugin_gate is registered under "
        'that name already; give your kind another name, or call netspec.unregister("plugin_gate")'
        " first"
    )
    with pytest.raises(ValueError, match='"conv" is a built-in kind of netspec; give your kind'):
        ns.kind(leaf("conv"))


class NotOptions(BaseModel):
    out: int = 1


class ShortOptions(Options):
    out: PosInt = 1


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: leaf("Bad name"), ValueError, "name must be a kind name of letters, digits"),
        (lambda: leaf("plugin_gate", NotOptions), TypeError, "must be a subclass of netspec"),
        (lambda: leaf("plugin_gate", shorthand="outs"), ValueError, "names option 'outs'"),
        (lambda: leaf("plugin_gate", ShortOptions, shorthand="out"), None, ""),
        (lambda: type("NoRule", (Kind,), {"name": "x", "Options": Options}), TypeError, "cost()"),
        (lambda: int, TypeError, "@netspec.kind decorates a subclass of netspec.Kind"),
    ],
)
def test_a_broken_kind_is_refused_when_registered(make, error, message):
    if error is None:
        ns.kind(make())
        return
    with pytest.raises(error, match=re.escape(message)):
        ns.kind(make())


def test_built_in_kinds_cannot_be_unregistered():
    with pytest.raises(ValueError, match='"relu" is a built-in kind of netspec; it cannot be'):
        ns.unregister("relu")
    with pytest.raises(ValueError, match='no kind named "plugin_gate" is registered'):
        ns.unregister("plugin_gate")


def test_loading_a_plugin_twice_registers_its_kinds_once():
    assert [k.name for k in load_plugin("netspec_se")] == ["se"]
    assert load_plugin("netspec_se") == []
    assert ns.load_plugins("netspec_se", entry_points=False) == []


# --- the JSON Schema -----------------------------------------------------------------------------


def test_schema_includes_plugin_kinds_when_loaded():
    def se_entries(schema: dict[str, Any]) -> list[dict[str, Any]]:
        kinds = schema["$defs"]["layer.options"]["properties"]
        return [kinds["se"]] if "se" in kinds else []

    assert se_entries(spec_json_schema()) == []
    ns.load_plugins("netspec_se")
    schema = spec_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    se = se_entries(schema)
    assert len(se) == 1 and se[0]["description"].startswith("squeeze-and-excitation")
    assert not list(validator.iter_errors(yaml.safe_load((ROOT / SE_SPEC).read_text())))
    for bad in ("{se: {reductoin: 4}}", "{se: {reduction: four}}", "{se: 0}"):
        spec = yaml.safe_load(f"name: x\ninput: [3, 8, 8]\nlayers:\n  - {bad}\n")
        assert list(validator.iter_errors(spec)), bad


def test_schema_command_with_a_plugin():
    # in this process, examples/plugins on sys.path (registry_restored), as PYTHONPATH puts it
    assert '"se": {' not in in_process("schema").out
    run = in_process("schema", "--plugin", "netspec_se")
    assert run.code == 0, run.err
    assert '"se": {' in run.out


# --- installed plugins (entry points), in fresh processes ----------------------------------------


def fake_distribution(where: Path, name: str, entry_points: str) -> dict[str, str]:
    """An installed distribution declaring ``netspec.kinds`` entry points, as pip leaves it."""
    info = where / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[netspec.kinds]\n{entry_points}\n")
    return {"PYTHONPATH": os.pathsep.join([str(where), str(PLUGINS)]), NO_ENTRY_POINTS_ENV: ""}


@pytest.mark.slow
def test_installed_plugins_load_on_the_command_line(tmp_path, monkeypatch):
    env = fake_distribution(tmp_path, "netspec-se", "se = netspec_se")
    assert netspec("check", SE_SPEC, env=env).code == 0
    assert "\nse " in netspec("list", "--kinds", env=env).out
    assert '"se": {' in netspec("schema", env=env).out
    off = netspec("check", "--no-entry-points", SE_SPEC, env=env)
    assert off.code == 1 and 'unknown layer kind "se"' in off.err
    off = netspec("check", SE_SPEC, env={**env, NO_ENTRY_POINTS_ENV: "1"})
    assert off.code == 1 and 'unknown layer kind "se"' in off.err
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    monkeypatch.delenv(NO_ENTRY_POINTS_ENV, raising=False)
    imported = imported_modules("check", SE_SPEC)
    assert "netspec_se" in imported and not imports_torch(imported)


def test_installed_plugins_load_in_python_when_a_kind_is_missing(tmp_path):
    env = fake_distribution(tmp_path, "netspec-se", "se = netspec_se")
    script = (
        "import sys, netspec\n"
        "netspec.load('lenet')\n"
        "print('netspec_se' in sys.modules)\n"  # built-in kinds alone: nothing loaded
        f"print(netspec.load({SE_SPEC!r}).num_params)\n"
        "print('netspec_se' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (out.returncode, out.stdout) == (0, "False\n311576\nTrue\n"), out.stderr


def test_a_broken_installed_plugin_is_exit_2_naming_it(tmp_path):
    (tmp_path / "plugin_raises.py").write_text(BAD_PLUGINS["plugin_raises"])
    env = fake_distribution(tmp_path, "gpu-kinds", "gpu = plugin_raises")
    run = netspec("check", "lenet", env=env)
    assert run.code == 2 and run.out == ""
    assert run.err == (
        "netspec check: error: installed plugin gpu (plugin_raises, from gpu-kinds 1.0): "
        "importing it raised RuntimeError: no GPU found; fix or uninstall gpu-kinds, or skip "
        "installed plugins with --no-entry-points or NETSPEC_NO_ENTRY_POINTS=1\n"
    )
    assert netspec("check", "lenet", "--no-entry-points", env=env).code == 0


# --- docs/plugins.md -----------------------------------------------------------------------------


def doc_blocks(language: str) -> list[tuple[str, str]]:
    """(the comment line before it, text) of each fenced block of ``language``."""
    pattern = rf"(?:<!-- (.*?) -->\n)?```{language}\n(.*?)```\n"
    return re.findall(pattern, DOC.read_text(encoding="utf-8"), re.S)


def test_docs_show_the_plugin_file_as_it_is():
    shown = [text for note, text in doc_blocks("python") if note.startswith("file: ")]
    assert shown == [(PLUGINS / "netspec_se.py").read_text()]


def test_docs_spec_excerpt_is_from_the_spec():
    [excerpt] = [text for _, text in doc_blocks("yaml") if "- se: {name: se" in text]
    assert excerpt in (ROOT / SE_SPEC).read_text()


@pytest.mark.parametrize("index", range(3))
def test_docs_python_blocks_run(index):
    """Each block runs as a script (``__main__``) in this process, with examples/plugins on
    sys.path (registry_restored), as PYTHONPATH puts it, and no installed plugins."""
    blocks = [text for note, text in doc_blocks("python") if not note]
    assert len(blocks) == 3
    with _as_a_fresh_process(ROOT):
        exec(
            compile(blocks[index], f"<docs/plugins.md python block {index}>", "exec"),
            {"__name__": "__main__"},
        )


def console_commands() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for _, block in doc_blocks("console"):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, expected = part.partition("\n")
            out.append((command, expected))
    return out


@pytest.mark.parametrize(("command", "expected"), console_commands())
def test_docs_commands_print_what_they_show(command, expected, monkeypatch):
    """In this process, without installed plugins (registry_restored), as the page shows; its
    ``PYTHONPATH=examples/plugins`` is examples/plugins on sys.path, which is left out where
    the page does not set it."""
    words = shlex.split(command)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "netspec" and env in ({}, {"PYTHONPATH": "examples/plugins"}), command
    if not env:
        monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p) != PLUGINS])
    run = in_process(*words[1:], together=True)
    assert run.out == expected


def test_a_plugin_module_with_submodules_is_summarised_as_one_layer():
    def cost(self: Kind, opts: object, shape: ns.Shape) -> Cost:
        c = shape.channels
        return Cost(shape, params=2 * (c * c + c), macs=2 * c * c)

    def module(self: Kind, opts: object, input: ns.Shape, output: ns.Shape) -> torch.nn.Module:
        c = input.channels

        class Gate(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc1, self.fc2 = torch.nn.Linear(c, c), torch.nn.Linear(c, c)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3))))))
                return x * gate[:, :, None, None]

        return Gate()

    ns.register(leaf("gate", cost=cost, module=module)())
    spec = ns.loads("name: g\ninput: [8, 4, 4]\nlayers: [{conv: {out: 16, kernel: 1}}, gate]\n")
    from netspec.summary import torch_summary

    summary = torch_summary(spec)
    assert [r.path for r in summary.rows] == ["0", "1"]
    gate = summary.rows[1]
    assert gate.params == 2 * (16 * 16 + 16) == spec.checked.children[1].params
    # its two linears' mult-adds, folded into the layer (torchinfo counts the bias adds too)
    assert gate.mult_adds == 2 * (16 * 16 + 16)


@pytest.mark.usefixtures("registry_restored")
def test_a_plugin_kind_that_fails_is_the_plugins_fault_at_the_layer():
    def cost(self: Kind, opts: object, shape: ns.Shape) -> Cost:
        return {}["missing"]  # type: ignore[no-any-return]

    def module(self: Kind, opts: object, input: ns.Shape, output: ns.Shape) -> torch.nn.Module:
        raise SystemExit(5)

    ns.register(leaf("plugin_broken", cost=cost)())
    with pytest.raises(ns.NetspecError) as e:
        ns.loads("name: b\ninput: [4]\nlayers:\n  - plugin_broken\n", "b.yaml")
    assert e.value.format().splitlines()[:2] == [
        'b.yaml:4:5: error: plugin kind "plugin_broken" (test_plugins.Kind_plugin_broken) '
        "failed: its cost() raised KeyError: 'missing'",
        "hint: the fault is in the plugin, not in the spec: report it to the plugin's author",
    ]
    ns.register(leaf("plugin_exits", module=module)())
    spec = ns.loads("name: b\ninput: [4]\nlayers:\n  - plugin_exits\n", "b.yaml")
    with pytest.raises(ns.NetspecError, match=r"its module\(\) exited \(5\)"):
        spec.build()


@pytest.mark.usefixtures("registry_restored")
def test_a_plugin_kinds_own_rule_stays_its_message():
    def cost(self: Kind, opts: object, shape: ns.Shape) -> Cost:
        raise Problem("needs at least 8 channels", "widen the layer before it")

    ns.register(leaf("plugin_strict", cost=cost)())
    with pytest.raises(ns.NetspecError) as e:
        ns.loads("name: b\ninput: [4]\nlayers:\n  - plugin_strict\n", "b.yaml")
    assert e.value.format().splitlines()[:2] == [
        "b.yaml:4:5: error: needs at least 8 channels",
        "hint: widen the layer before it",
    ]
