"""The netspec command, run as a user runs it: exit codes, outputs, saved modules, no torch.

Each command runs at least once in a process of its own (``netspec``: the entry point, what it
imports, its real streams); the other cases run it in this process (``cli``: the same exit code
and streams, without a fresh interpreter's start, 0.3 s of CPU for check and 3 s where torch is
imported)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from conftest import BUNDLED, FIXTURES, ROOT, cli, imported_modules, imports_torch, netspec

import netspec as ns


def test_check_all_bundled_specs():
    run = cli("check", *[f"specs/{n}.yaml" for n in BUNDLED])
    assert run.code == 0, run.err
    assert run.err == ""
    assert run.out.count(": ok ") == len(BUNDLED)


def test_check_does_not_import_torch():
    imported = imported_modules("check", "--table", *[f"specs/{n}.yaml" for n in BUNDLED])
    assert "netspec.shapes" in imported  # the import trace is really there
    assert not imports_torch(imported)
    assert "torchinfo" not in imported and "numpy" not in imported


def test_check_table_lists_every_layer_with_totals():
    run = cli("check", "lenet", "--table")
    assert run.code == 0
    assert "conv 5×5, 6" in run.out and "(6, 28, 28)" in run.out
    assert "total" in run.out and "61,706" in run.out


def test_check_exit_codes_and_multiple_specs():
    bad = str(FIXTURES / "seed_mistakes" / "alexnet_no_flatten.yaml")
    run = cli("check", "lenet", bad)
    assert run.code == 1
    assert "lenet" in run.out and ": ok " in run.out  # the good spec is still checked
    assert "alexnet_no_flatten.yaml:18:5: error: linear needs" in run.err
    assert "Traceback" not in run.err
    assert cli("check").code == 2
    assert cli("check", "lenet", "--set", "num_classes").code == 2
    assert cli("frobnicate").code == 2


def test_set_overrides_params_with_types():
    run = cli("check", "lenet", "--set", "num_classes=100", "--set", "in_channels=3")
    assert run.code == 0 and "(3, 28, 28) → (100,)" in run.out
    run = cli("check", "lenet", "--set", "num_clases=100")
    assert run.code == 1
    assert (
        'the spec has no param "num_clases"' in run.err and 'did you mean "num_classes"' in run.err
    )
    run = cli("check", "lenet", "--set", "num_classes=ten")
    assert run.code == 1 and "expected an integer" in run.err
    run = cli("check", "nin", "--set", "dropout=1")  # an int where a float is expected is fine
    assert run.code == 0


def test_missing_file_is_a_clear_error():
    run = cli("check", "specs/nope.yaml")
    assert run.code == 1
    assert run.err.startswith("specs/nope.yaml: error: no such file")
    run = cli("check", "no_such_bundled_spec")
    assert run.code == 1 and "no such file" in run.err


def test_list_shows_bundled_specs_and_kinds():
    run = cli("list")  # test_package runs the wheel's netspec list in a fresh process
    assert run.code == 0
    for name in BUNDLED:
        assert name in run.out
    assert "Network in Network" in run.out and "num_classes=10" in run.out
    kinds = cli("list", "--kinds")
    assert kinds.code == 0 and "residual" in kinds.out and "inception" in kinds.out


#: Each saved module of argv[2:] (pairs: the module's file, where its outputs go) loaded and
#: run on the same input (argv[1]'s shape), in a process where netspec cannot be imported
LOAD_WITHOUT_NETSPEC = """
import sys
sys.modules["netspec"] = None  # any attempt to import netspec now fails
import torch
shape, files = tuple(map(int, sys.argv[1].split(","))), sys.argv[2:]
for path, result in zip(files[::2], files[1::2]):
    torch.manual_seed(0)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        if path.endswith(".pt"):
            y = torch.jit.load(path)(x)
        else:
            y = torch.export.load(path).module()(x)
    torch.save(y, result)
"""


def test_build_saves_a_module_loadable_without_netspec(tmp_path):
    """As TorchScript (.pt) and torch.export (.pt2), loaded in one process without netspec
    (one process for both: each imports torch, about 2.5 s of CPU)."""
    # ResNet-10 (one block a stage): residuals, batchnorm and shortcuts at half ResNet-18's cost
    resnet10 = ("--set", "num_classes=7", "--set", "blocks_per_stage=1")
    files: list[str] = []
    for suffix in ("pt", "pt2"):
        out = tmp_path / f"resnet.{suffix}"
        run = cli("build", "resnet", *resnet10, "--seed", "3", "-o", str(out))
        assert run.code == 0, run.err
        assert "output  (7,)" in run.out and "params  4,904,199" in run.out
        assert out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary
        files += [str(out), str(tmp_path / f"y_{suffix}.pt")]
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_NETSPEC, "1,96,96", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    # the module netspec builds from the same seed gives the same outputs: each file holds it
    reference = ns.load("resnet", num_classes=7, blocks_per_stage=1).build(seed=3).eval()
    torch.manual_seed(0)
    x = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        expected = reference(x)
    for suffix in ("pt", "pt2"):
        y = torch.load(tmp_path / f"y_{suffix}.pt")
        assert y.shape == (2, 7)
        assert torch.allclose(expected, y), suffix


def test_saved_module_matches_built_weights(tmp_path):
    """The .pt archive holds the module netspec built, not another one."""
    spec = ns.load("lenet")
    from netspec.build import build_and_run, save_module

    model, shape = build_and_run(spec)
    assert shape == spec.output_shape
    out = tmp_path / "lenet.pt"
    save_module(model, spec, out)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(out))(x), model(x))


def test_build_rejects_unknown_output_format(tmp_path):
    run = cli("build", "lenet", "-o", str(tmp_path / "lenet.h5"))
    assert run.code == 2 and ".pt (TorchScript), .pt2 (torch.export) or .onnx (ONNX)" in run.err
    assert not (tmp_path / "lenet.h5").exists()


def test_build_report(tmp_path):
    run = cli("build", "specs/nin.yaml")
    assert run.code == 0, run.err
    assert "output  (10,)" in run.out and "params  1,992,166" in run.out
    assert "MACs    762,297,352" in run.out


def test_spec_error_on_build_has_no_traceback():
    run = cli("build", str(FIXTURES / "seed_mistakes" / "googlenet_no_padding.yaml"))
    assert run.code == 1
    assert "Traceback" not in run.err and "cannot be concatenated" in run.err


def test_examples_check():
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
    assert examples
    run = cli("check", *examples)
    assert run.code == 0, run.err


def test_new_from_template_and_from_a_bundled_spec(tmp_path):
    run = cli("new", "mynet", cwd=tmp_path)
    assert run.code == 0, run.err
    assert cli("check", str(tmp_path / "mynet.yaml")).code == 0
    assert ns.load(tmp_path / "mynet.yaml").name == "mynet"
    run = cli("new", "resnet34", "--from", "resnet", "-o", str(tmp_path / "r.yaml"))
    assert run.code == 0, run.err
    text = (tmp_path / "r.yaml").read_text()
    # the bundled spec's schema line (into netspec's repository) gives way to the shipped one
    first, second = text.splitlines()[:2]
    assert first.startswith("# yaml-language-server: $schema=file://") and "docs/" not in first
    assert second == "name: resnet34"
    copy = ns.load(tmp_path / "r.yaml")
    assert copy.num_params == ns.load("resnet").num_params


@pytest.mark.parametrize("given", ["y.yaml", "y.yml", "specs/y.yaml"])
def test_new_given_a_file_name_writes_that_file(tmp_path, given):
    """`netspec new y.yaml` means the file y.yaml (the network y), not y.yaml.yaml."""
    (tmp_path / "specs").mkdir()
    run = cli("new", given, cwd=tmp_path)
    assert run.code == 0, run.err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.y*ml")) == [given]
    assert ns.load(tmp_path / given).name == "y"
    assert f"wrote {given}" in run.out


def test_new_refuses_what_it_should(tmp_path):
    (tmp_path / "taken.yaml").write_text("keep me")
    assert cli("new", "taken", cwd=tmp_path).code == 2
    assert (tmp_path / "taken.yaml").read_text() == "keep me"
    assert cli("new", "bad name", cwd=tmp_path).code == 2
    assert cli("new", "x", "--from", "no_such_spec", cwd=tmp_path).code == 1  # as check
    assert not (tmp_path / "x.yaml").exists()


def test_saving_a_graph_as_torchscript_prints_nothing_but_the_report(tmp_path):
    """torch.fx's GraphModule makes TorchScript warn about its own __init__; users never see it.
    A small graph of two inputs and two outputs, whose scripting warns as ResNet-50-FPN's did
    (2.7 s of CPU for the command, where building and scripting ResNet-50-FPN took 5.8 s)."""
    out = tmp_path / "graph.pt"
    run = netspec("build", str(FIXTURES / "graphs" / "two_in_two_out.yaml"), "-o", str(out))
    assert run.code == 0 and run.err == "", run.err
    assert torch.jit.load(str(out)) is not None


# echoes: whatever a user gives (a scale, a file name, a --set key, a plugin, an output path) is
# echoed with its control characters escaped, so that it can forge no line and recolour nothing

#: a value that, echoed raw, would end the line, forge netspec's "ok" and turn the terminal red
EVIL = "x\nnet.yaml: ok  forged\x1b[31m\r"
EVIL_SHOWN = "x\\nnet.yaml: ok  forged\\x1b[31m\\r"
ECHO_NET = "name: net\ninput: [3]\nparams: {w: 1}\nscales: {n: {w: 1}}\nlayers: [relu]\n"
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


@pytest.mark.parametrize(
    ("args", "code", "stream"),
    [
        (("check", "net.yaml", "--scale", EVIL), 1, "err"),
        (("check", "net.yaml", "--set", f"{EVIL}=1"), 1, "err"),
        (("check", "net.yaml", "--set", f"w={EVIL}"), 2, "err"),
        (("check", f"{EVIL}.yaml"), 1, "err"),
        (("check", "evil.yaml"), 0, "out"),
        (("check", "net.yaml", "--plugin", EVIL), 2, "err"),
        (("check", "net.yaml", f"--{EVIL.replace(' ', '')}"), 2, "err"),
        (("render", "net.yaml", "--format", "dot", "-o", f"{EVIL}.dot"), 0, "out"),
        (("summary", "--static", "net.yaml", "-o", f"no/{EVIL}.json"), 2, "err"),
        (("new", "fresh", "-o", f"{EVIL}.yaml"), 0, "out"),
    ],
    ids=[
        "scale",
        "set_key",
        "set_value",
        "file",
        "file_that_checks",
        "plugin",
        "option",
        "render_output",
        "summary_output",
        "new_output",
    ],
)
def test_echoed_values_are_escaped(tmp_path, monkeypatch, capsys, args, code, stream):
    from netspec.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(ECHO_NET)
    (tmp_path / "evil.yaml").symlink_to("net.yaml")
    args = tuple(a.replace("evil.yaml", f"{EVIL}.yaml") for a in args)
    if args[1] == f"{EVIL}.yaml" and code == 0:
        (tmp_path / f"{EVIL}.yaml").write_text(ECHO_NET)
    try:
        got = main(list(args))
    except SystemExit as e:  # argparse's own errors
        got = e.code
    out, err = capsys.readouterr()
    assert got == code, err
    for text in (out, err):
        assert not CONTROL.search(text), text
        assert not any(line.startswith("net.yaml: ok  forged") for line in text.splitlines())
    shown = EVIL_SHOWN.replace(" ", "") if "--x" in args[-1] else EVIL_SHOWN
    assert shown.removesuffix("\\r") in (out if stream == "out" else err)


def test_the_scale_message_escapes_the_scale(tmp_path, monkeypatch, capsys):
    from netspec.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(ECHO_NET)
    assert main(["check", "net.yaml", "--scale", EVIL]) == 1
    assert capsys.readouterr().err.splitlines()[:2] == [
        f'net.yaml:4:1: error: scale "{EVIL_SHOWN}" is not one of the spec\'s scales',
        "hint: the scales are n: --scale n",
    ]


def test_the_table_escapes_what_the_spec_writes(tmp_path, monkeypatch, capsys):
    """A param's text value with a newline and an escape (YAML's "\\n", "\\e") stays on its
    row of `check --table`."""
    from netspec.cli import main

    monkeypatch.chdir(tmp_path)
    spec = ECHO_NET.replace("{w: 1}", '{w: 1, tag: "a\\nnet.yaml: ok  forged\\e[31m"}')
    (tmp_path / "net.yaml").write_text(spec)
    assert main(["check", "net.yaml", "--table"]) == 0
    out = capsys.readouterr().out
    assert not CONTROL.search(out)
    assert "params: w=1, tag=a\\nnet.yaml: ok  forged\\x1b[31m\n" in out


#: each kind of name a spec gives, the name given with a trailing newline (a check with `$`
#: took "blk\n", and the table split its row)
NAMED = {
    "spec": 'name: "net\\n"\ninput: [3]\nlayers: [relu]\n',
    "block": 'name: net\ninput: [3]\nblocks: {"blk\\n": {layers: [relu]}}\nlayers: ["blk\\n"]\n',
    "block_arg": 'name: net\ninput: [3]\nblocks: {blk: {args: {"c\\n": int}, layers: [relu]}}\n'
    "layers: [{blk: {c: 1}}]\n",
    "layer": 'name: net\ninput: [3]\nlayers: [{relu: {name: "lay\\n"}}]\n',
    "tensor": 'name: net\ninput: [3]\nlayers: [{relu: {to: "t\\n"}}, {relu: {from: "t\\n"}}]\n',
    "param": 'name: net\ninput: [3]\nparams: {"w\\n": 1}\nlayers: [relu]\n',
    "scale": 'name: net\ninput: [3]\nparams: {w: 1}\nscales: {"s\\n": {w: 2}}\nlayers: [relu]\n',
    "input": 'name: net\ninputs: {"x\\n": [3]}\nlayers: [relu]\n',
    "output": 'name: net\ninput: [3]\noutputs: {"y\\n": null}\nlayers: [{relu: {to: "y\\n"}}]\n',
    "repeat_index": 'name: net\ninput: [3]\nlayers: [{repeat: {times: 2, index: "k\\n", '
    "body: [relu]}}]\n",
    "residual": 'name: net\ninput: [3]\nlayers: [{residual: {name: "r\\n", body: [relu]}}]\n',
    "library_block": 'blocks: {"blk\\n": {layers: [relu]}}\n',
}


@pytest.mark.parametrize("kind", NAMED)
def test_a_name_with_a_trailing_newline_is_no_name(tmp_path, monkeypatch, capsys, kind):
    from netspec.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(NAMED[kind])
    assert main(["check", "net.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("net.yaml:") and "\\n" in err.splitlines()[0], err


def test_new_refuses_a_name_with_a_trailing_newline(tmp_path, monkeypatch, capsys):
    from netspec.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["new", "mynet\n"]) == 2
    assert capsys.readouterr().err == (
        "netspec new: error: 'mynet\\n' is not a spec name: use letters, digits, _ . and -\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_plugin_name_with_a_trailing_newline_is_no_module_name(capsys):
    from netspec.cli import main

    assert main(["check", "lenet", "--plugin", "os\n"]) == 2
    assert capsys.readouterr().err.startswith("netspec check: error: plugin os\\n: not a module")


def test_version_prints_the_package_version_without_torch():
    for flag in ("--version", "-V"):
        run = netspec(flag)
        assert (run.code, run.out, run.err) == (0, f"netspec {ns.__version__}\n", "")
    imported = imported_modules("--version")
    assert "netspec" in imported and not imports_torch(imported)


def test_a_mistyped_command_is_misuse_naming_the_closest():
    run = netspec("chek", "x.yaml")
    assert run.code == 2
    assert run.err.splitlines()[-1] == (
        'netspec: error: no command "chek": did you mean "check"? valid commands: build, check, '
        "compare, completion, diff, import, list, lsp, new, render, schema, summary, train"
    )
    run = cli("frobnicate")
    assert run.code == 2
    assert run.err.splitlines()[-1] == (
        'netspec: error: no command "frobnicate": valid commands: build, check, compare, '
        "completion, diff, import, list, lsp, new, render, schema, summary, train"
    )


def test_a_mistyped_bundled_name_names_the_closest():
    from netspec.bundled import bundled_names
    from netspec.errors import did_you_mean

    for command, name, near in [("check", "resnett", "resnet"), ("render", "lenett", "lenet")]:
        run = cli(command, name)
        assert run.code == 1
        assert run.err == (
            f"{name}: error: no such file or bundled spec\n"
            f"hint: {did_you_mean(name, bundled_names(), 'bundled specs')}\n"
        )
        assert f'hint: did you mean "{near}"? valid bundled specs: alexnet, ' in run.err
    run = cli("summary", "--static", "torchvision/resnet19")
    assert run.code == 1
    assert run.err.startswith(
        "torchvision/resnet19: error: no such file or bundled spec\n"
        'hint: did you mean "torchvision/resnet18"?'
    )
    # a path keeps its own message: nothing bundled is near a file the user named
    run = cli("check", "specs/nope.yaml")
    assert run.err == (
        "specs/nope.yaml: error: no such file\nhint: check the path, or run `netspec list`\n"
    )


def test_a_mistyped_scale_names_the_closest():
    run = cli("check", "ultralytics/yolov8", "--scale", "nn")
    assert run.code == 1
    assert 'error: scale "nn" is not one of the spec\'s scales\n' in run.err
    assert 'hint: did you mean "n"? the scales are n, s, m, l, x: --scale n\n' in run.err
