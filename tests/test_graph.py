"""Networks as graphs: named tensors and their scopes, several inputs and outputs, shapes in
expressions, conditions, empty repeats and recursion, as a user writes them (positive cases;
the errors are golden files in fixtures/errors)."""

from __future__ import annotations

import pytest
import torch
from conftest import FIXTURES, netspec
from crosscheck import assert_static_matches_module

import netspec as ns
from netspec.summary import static_summary, torch_summary

GRAPHS = sorted((FIXTURES / "graphs").glob("*.yaml"))


def load(text: str) -> ns.Spec:
    return ns.loads(text, file="net.yaml")


@pytest.mark.parametrize("path", GRAPHS, ids=[p.stem for p in GRAPHS])
def test_graph_specs_check_build_and_equal_their_modules(path):
    spec = ns.load(str(path))
    model = spec.build().eval()
    assert_static_matches_module(spec, model)
    assert spec.warnings == []


@pytest.mark.parametrize("path", GRAPHS, ids=[p.stem for p in GRAPHS])
def test_graph_modules_script_trace_export_and_compile(path):
    spec = ns.load(str(path))
    model = spec.build().eval()
    inputs = tuple(torch.randn(2, *s.dims) for s in spec.input_shapes.values())
    with torch.no_grad():
        eager = model(*inputs)
        results = [
            torch.jit.script(model)(*inputs),
            torch.fx.symbolic_trace(model)(*inputs),
            torch.export.export(model, inputs).module()(*inputs),
            torch.compile(model, fullgraph=True, backend="aot_eager")(*inputs),
        ]
    for result in results:
        got = list(result.values()) if isinstance(result, dict) else [result]
        want = list(eager.values()) if isinstance(eager, dict) else [eager]
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, want, strict=True))


def test_several_inputs_and_outputs():
    spec = ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml"))
    assert list(spec.input_shapes) == ["image", "depth"]
    assert {k: v.dims for k, v in spec.output_shapes.items()} == {
        "mask": (2, 32, 32),
        "score": (1,),
    }
    model = spec.build().eval()
    out = model(torch.randn(3, 3, 32, 32), torch.randn(3, 1, 32, 32))
    assert list(out) == ["mask", "score"]  # a dict, in the order outputs: lists them
    assert out["mask"].shape == (3, 2, 32, 32) and out["score"].shape == (3, 1)
    # the block with two inputs and two outputs is one module of its own
    assert "fuse" in dict(model.named_children()) or any(
        type(m).__name__ == "fuse" for m in model.modules()
    )


def test_summaries_of_several_inputs_and_outputs():
    spec = ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml"))
    static, dynamic = static_summary(spec), torch_summary(spec)
    assert static.totals is not None and dynamic.totals is not None
    assert static.totals.params == dynamic.totals.params == spec.num_params
    # torchinfo sees the modules that run: not the empty repeat, which nothing calls
    assert [r.path for r in dynamic.rows] == [r.path for r in static.rows if r.path != "8"]


def test_the_diagram_draws_inputs_outputs_and_skips():
    dot = ns.load(str(FIXTURES / "graphs" / "two_in_two_out.yaml")).to_dot(depth=99)
    for node in ('"input/image"', '"input/depth"', '"output/mask"', '"output/score"'):
        assert node in dot
    assert 'color="#1f78b4"' in dot  # reading d after the concat: a skip edge
    collapsed = ns.load(str(FIXTURES / "graphs" / "unet_small.yaml")).to_dot(depth=1)
    assert "level" in collapsed and "encode" not in collapsed  # a block still collapses


def test_names_are_scoped_to_a_block_and_may_be_given_again():
    spec = load(
        "name: t\ninput: [4, 8, 8]\n"
        "blocks:\n  twice:\n    layers:\n"
        "      - conv: {out: 4, kernel: 1, to: x}\n"  # x inside the block: its own
        "      - add: {from: [input, x]}\n"
        "layers:\n"
        "  - relu: {to: x}\n"  # the caller's x
        "  - twice\n"
        "  - twice: {to: y}\n"
        "  - add: {from: [x, y]}\n"  # still the caller's x, not the block's
        "  - conv: {out: 4, kernel: 1, to: x}\n"  # given again: later layers read this one
        "  - add: {from: [x, y]}\n"
    )
    model = spec.build().eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        relu = torch.relu(x)
        first = model[1] if isinstance(model, torch.nn.Sequential) else getattr(model, "1")
        second = getattr(model, "2")
        y = second(first(relu))
        again = getattr(model, "4")(relu + y)
        assert torch.allclose(model(x), again + y, atol=1e-6)


def test_shapes_in_expressions_set_widths_groups_and_conditions():
    spec = load(
        "name: t\ninput: [12, 8, 8]\n"
        "layers:\n"
        '  - conv: {out: "${channels() // 2}", kernel: 3, padding: 1}\n'
        '  - conv: {out: "${channels()}", kernel: 3, padding: 1, groups: "${channels()}"}\n'
        '  - pool: {kernel: "${height() // 4}"}\n'
        '  - conv: {out: "${channels(input)}", kernel: 1}\n'
        '  - relu: {if: "${width() > 100}"}\n'
        "  - tanh\n"
    )
    layers = spec.checked.children
    assert [c.output.dims for c in layers] == [
        (6, 8, 8),
        (6, 8, 8),
        (6, 4, 4),
        (12, 4, 4),
        (12, 4, 4),
    ]
    assert layers[1].node.opts.groups == 6
    # the relu is left out, and the tanh after it takes its number, as in nn.Sequential
    assert [c.path for c in layers] == ["0", "1", "2", "3", "4"] and layers[4].text() == "tanh"


def test_conditions_on_values_leave_layers_out_before_expansion():
    text = (
        "name: t\ninput: [4, 8, 8]\nparams: {extra: false}\n"
        "layers:\n"
        "  - conv: {out: 4, kernel: 1}\n"
        '  - group: {name: more, if: "${extra}", layers: [relu, tanh]}\n'
        "  - sigmoid\n"
    )
    assert [c.path for c in load(text).checked.children] == ["0", "1"]
    on = ns.loads(text, extra=True)
    assert [c.path for c in on.checked.children] == ["0", "more", "2"]


def test_empty_repeats_pass_their_input_through():
    text = (
        "name: t\ninput: [4, 8, 8]\nparams: {n: 0}\n"
        'layers:\n  - repeat: {times: "${n}", body: [{conv: {out: 8, kernel: 1}}]}\n'
        "  - repeat: {over: [], body: [relu]}\n  - tanh\n"
    )
    spec = load(text)
    assert spec.output_shape.dims == (4, 8, 8) and spec.num_params == 0
    x = torch.randn(1, 4, 8, 8)
    assert torch.allclose(spec.build()(x), torch.tanh(x))
    assert ns.loads(text, n=2).num_params == (4 * 8 + 8) + (8 * 8 + 8)


def test_a_recursive_block_stops_at_its_condition():
    spec = ns.load(str(FIXTURES / "graphs" / "unet_small.yaml"))
    paths = [c.path for c in spec.checked.walk()]
    assert "0.inner.inner" in paths and "0.inner.inner.inner" not in paths
    deeper = spec.with_params(depth=3)
    assert "0.inner.inner.inner" in [c.path for c in deeper.checked.walk()]
    assert deeper.num_params > spec.num_params


def test_an_unused_name_is_a_warning_on_stderr(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(
        "name: t\ninput: [4, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, to: lost}\n  - relu\n"
    )
    run = netspec("check", str(path))
    assert run.code == 0
    assert 'warning: tensor "lost" is never used' in run.err
    assert ns.load(str(path)).warnings[0].severity == "warning"


def test_generated_forward_is_readable_code():
    model = ns.load(str(FIXTURES / "graphs" / "se_mobile.yaml")).build()
    code = [m.code for m in model.modules() if isinstance(m, torch.fx.GraphModule)]
    assert code and all("def forward" in c for c in code)
    assert any("[input_1, " in c or "getattr(self" in c for c in code)


def test_a_block_call_whose_arguments_read_shapes_is_expanded_by_the_shape_pass():
    spec = load(
        "name: t\ninput: [16, 8, 8]\n"
        "blocks:\n  conv_bn:\n    args: {out: int, groups: 1}\n    layers:\n"
        '      - conv: {out: "${out}", kernel: 3, padding: 1, groups: "${groups}", bias: false}\n'
        "      - batchnorm\n"
        "layers:\n"
        '  - conv_bn: {out: "${channels() * 6}"}\n'
        '  - conv_bn: {name: depthwise, out: "${channels()}", groups: "${channels()}"}\n'
        '  - conv_bn: {out: "${channels(input)}", if: "${height() > 4}", to: last}\n'
        "  - add: {from: [input, last]}\n"
    )
    assert [c.output.dims for c in spec.checked.children] == [
        (96, 8, 8),
        (96, 8, 8),
        (16, 8, 8),
        (16, 8, 8),
    ]
    assert spec.checked.child("depthwise").children[0].node.opts.groups == 96
    assert_static_matches_module(spec, spec.build())
    # a wrong argument is found when the call is expanded, at the call
    with pytest.raises(ns.NetspecError, match='argument "out" of block b: expected an integer'):
        load(
            "name: t\ninput: [16, 8, 8]\nblocks:\n  b:\n    args: {out: int}\n"
            '    layers: [{conv: {out: "${out}", kernel: 1}}]\n'
            'layers:\n  - b: {out: "${channels() / 3}"}\n'
        )
