"""Networks as graphs: named tensors and their scopes, several inputs and outputs, shapes in
expressions, conditions, empty repeats and recursion, as a user writes them (positive cases;
the errors are golden files in fixtures/errors)."""

from __future__ import annotations

import pytest
import torch
from conftest import FIXTURES, cli
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


@pytest.mark.slow
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
        "name: t\ninput: [4, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, to: lost}\n"
        "  - relu: {from: input}\n"
    )
    run = cli("check", str(path))
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


# Found by a review of the graph code; each a bug until fixed.


def test_a_group_of_one_layer_keeps_its_from_to_and_condition():
    spec = load(
        "name: t\ninput: [3, 8, 8]\nlayers:\n"
        "  - conv: {out: 3, kernel: 1, to: a}\n  - conv: {out: 5, kernel: 1}\n"
        "  - group: {from: a, to: r, layers: [relu]}\n"
        '  - group: {if: "${channels() > 100}", layers: [{conv: {out: 7, kernel: 1}}]}\n'
        "  - add: {from: [a, r]}\n"
    )
    assert spec.output_shape.dims == (3, 8, 8) and spec.warnings == []
    m = spec.build().eval()
    x = torch.randn(1, 3, 8, 8)
    a = getattr(m, "0")(x)
    assert torch.allclose(m(x), a + torch.relu(a), atol=1e-6)
    with pytest.raises(ns.NetspecError, match="an inline group joins the enclosing chain"):
        load("name: t\ninput: [3]\nlayers:\n  - group: {inline: true, to: x, layers: [relu]}\n")


def test_a_block_of_one_layer_reads_its_own_input():
    text = (
        "name: t\ninput: [3, 8, 8]\n"
        'blocks: {b: {layers: [{conv: {out: "${channels(input) * 2}", kernel: 1}}]}}\n'
        "layers: [{conv: {out: 5, kernel: 1}}, b]\n"
    )
    assert load(text).output_shape.dims == (10, 8, 8)


def test_tensor_names_that_python_or_the_generated_code_own():
    spec = load(
        "name: t\ninputs: {self: [3, 8, 8], getattr: [3, 8, 8]}\nlayers:\n"
        "  - group: {layers: [{conv: {out: 3, kernel: 1, from: getattr}}, relu]}\n"
        "  - add: {from: [self, getattr]}\n"
    )
    x, y = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    assert torch.allclose(spec.build()(x, y), x + y)
    with pytest.raises(ns.NetspecError, match='input name "class" is a Python keyword'):
        load("name: t\ninputs: {class: [3]}\nlayers: [relu]\n")


def test_a_block_output_made_deep_inside_and_unread_is_handed_back():
    spec = load(
        "name: t\ninput: [4, 8, 8]\nblocks:\n  b:\n    outputs: [a, c]\n    layers:\n"
        "      - group: {layers: [{conv: {out: 4, kernel: 1, to: c}}, {relu: {to: a}}]}\n"
        "layers: [{b: {to: [x, y]}}, {relu: {from: x}}]\n"
    )
    assert spec.build()(torch.randn(1, 4, 8, 8)).shape == (1, 4, 8, 8)


def test_set_reaches_an_option_written_with_channels():
    text = 'name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: "${channels() * 2}", kernel: 1}\n'
    assert ns.loads(text, **{"0.out": 9}).output_shape.dims == (9, 8, 8)
    assert ns.loads(text, **{"0.kernel": 3}).output_shape.dims == (6, 6, 6)


def test_a_condition_on_shapes_leaves_an_earlier_name_as_a_value_condition_does():
    for cond in ("${use}", "${channels() > 100}"):
        spec = load(
            "name: t\ninput: [3, 8, 8]\nparams: {use: false}\nlayers:\n"
            "  - relu: {to: x}\n"
            f'  - conv: {{out: 3, kernel: 1, to: x, if: "{cond}"}}\n'
            "  - add: {from: [x, input]}\n"
        )
        x = torch.randn(1, 3, 8, 8)
        assert torch.allclose(spec.build()(x), torch.relu(x) + x), cond


def test_a_block_with_names_of_its_own_in_a_residual_body():
    spec = load(
        "name: t\ninput: [8, 8, 8]\nblocks:\n  se:\n    layers:\n"
        "      - pool: {global: true, mode: avg}\n      - conv: {out: 8, kernel: 1}\n"
        "      - sigmoid: {to: gate}\n      - mul: {from: [input, gate]}\n"
        "layers:\n  - residual: {body: [{conv: {out: 8, kernel: 1}}, se], after: relu}\n"
    )
    m = spec.build().eval()
    x = torch.randn(2, 8, 8, 8)
    body = m[0].body
    y = body[0](x)
    gate = torch.sigmoid(getattr(body[1], "1")(y.mean((2, 3), keepdim=True)))
    assert torch.allclose(m(x), torch.relu(y * gate + x), atol=1e-5)


def test_names_read_without_their_name_are_not_reported_unused():
    assert (
        load(
            "name: t\ninput: [4, 8, 8]\n"
            "blocks:\n  b: {layers: [{conv: {out: 4, kernel: 1, to: r}}]}\n"
            "layers:\n  - repeat: {times: 2, body: [{relu: {to: feat}}]}\n  - b: {to: q}\n"
            "  - relu\n  - conv: {out: 4, kernel: 1, to: out}\n"
        ).warnings
        == []
    )


def test_a_name_given_twice_in_one_to_is_an_error():
    with pytest.raises(ns.NetspecError, match='to: names "a" twice'):
        load("name: t\ninput: [4, 8, 8]\nlayers:\n  - split: {parts: 2, to: [a, a]}\n")
    with pytest.raises(ns.NetspecError, match='block inputs name "p" again'):
        load(
            "name: t\ninput: [3]\nblocks:\n  b: {inputs: [p, p], layers: [relu]}\nlayers: [relu]\n"
        )
