"""Elaboration: params, blocks, repeats, names, expectations, and the limits that keep it safe."""

from __future__ import annotations

import pytest
import torch
from conftest import netspec as run_netspec

import netspec
from netspec import NetspecError
from netspec.modules import Residual
from netspec.schema import RESERVED_NAMES


def load(text: str) -> netspec.Spec:
    return netspec.loads("name: t\ninput: [3, 8, 8]\n" + text)


def paths(spec: netspec.Spec) -> list[str]:
    return [c.path for c in spec.checked.walk()[1:]]


def test_block_argument_defaults_may_be_expressions():
    spec = load(
        "params: {width: 4}\nblocks:\n  b:\n    args: {o: '${width * 2}'}\n"
        "    layers: [{conv: {out: '${o}', kernel: 1}}]\nlayers:\n  - b\n  - b: {o: 3}\n"
    )
    assert [c.output.dims[0] for c in spec.checked.children] == [8, 3]


def test_explicit_names_survive_collapsing():
    spec = load(
        "layers:\n  - group: {layers: [{relu: {name: r}}]}\n  - group: {name: g, layers: [tanh]}\n"
    )
    assert paths(spec) == ["r", "g"]
    spec = load(
        "blocks:\n  b:\n    layers: [{conv: {name: conv1, out: 4, kernel: 1}}]\n"
        "layers:\n  - b\n  - b: {name: second}\n"
    )
    assert paths(spec) == ["conv1", "second"]
    # a repeat's copies are named by index, whatever their layer is called
    spec = load("layers:\n  - repeat: {name: stage, times: 2, body: [{relu: {name: r}}]}\n")
    assert paths(spec) == ["stage", "stage.0", "stage.1"]


def test_inline_keeps_explicit_groups():
    spec = load(
        "layers:\n  - repeat:\n      times: 2\n      inline: true\n"
        "      body: [{group: {name: 'g${i}', layers: [relu, tanh]}}]\n"
    )
    assert paths(spec) == ["g0", "g0.0", "g0.1", "g1", "g1.0", "g1.1"]


def test_expectations_are_kept_through_collapsing_and_splicing():
    for text in (
        "layers:\n  - group: {name: g, layers: [relu], expect: [99]}\n",
        "layers:\n  - group: {inline: true, layers: [relu], expect: [99]}\n",
        "layers:\n  - repeat: {times: 2, inline: true, body: [relu], expect: [99]}\n",
        "blocks:\n  b:\n    layers: [{relu: {expect: [3, 8, 8]}}]\n"
        "layers:\n  - b: {expect: [99]}\n",
    ):
        with pytest.raises(NetspecError, match=r"but expect: says \(99,\)"):
            load(text)


def test_expressions_work_in_every_option():
    spec = load(
        "params: {g: true, act: relu}\nlayers:\n  - residual: {body: [relu], after: '${act}'}\n"
        "  - residual: {body: [relu], after: [relu, tanh]}\n  - pool: {mode: avg, global: '${g}'}\n"
    )
    assert spec.output_shape.dims == (3, 1, 1)
    assert "1.after.1" in paths(spec)


def test_yaml_exponent_numbers_are_numbers():
    spec = load("layers:\n  - batchnorm: {eps: 1e-3}\n")
    assert spec.checked.children[0].node.opts.eps == 0.001
    assert run_netspec("check", "nin", "--set", "dropout=2e-1").code == 0


def test_pool_ceil_mode_follows_torch():
    for h, k, s, p in [(1, 3, 3, 0), (5, 3, 2, 1), (7, 2, 3, 1), (4, 3, 3, 0), (2, 2, 3, 1)]:
        spec = netspec.loads(
            f"name: t\ninput: [2, {h}, {h}]\nlayers:\n"
            f"  - pool: {{kernel: {k}, stride: {s}, padding: {p}, ceil_mode: true}}\n"
        )
        out = spec.build()(torch.zeros(1, 2, h, h))
        assert tuple(out.shape[1:]) == spec.output_shape.dims


def test_reserved_names_cover_torch_container_attributes():
    for module in (torch.nn.Sequential(), Residual(torch.nn.Identity(), None, None)):
        public = {n for n in dir(module) if not n.startswith("_")} - {"body", "shortcut", "after"}
        assert public <= RESERVED_NAMES


def test_deep_nesting_is_an_error_not_a_crash():
    blocks = "".join(
        f"  b{i}:\n    layers: [{{group: {{layers: [{{group: {{layers: [b{i + 1}]}}}}]}}}}]\n"
        for i in range(60)
    )
    with pytest.raises(NetspecError, match="nest more than 100 levels"):
        load(f"blocks:\n{blocks}  b60:\n    layers: [relu]\nlayers: [b0]\n")


def test_output_folder_is_checked_before_building(tmp_path):
    run = run_netspec("build", "lenet", "-o", str(tmp_path / "missing" / "x.pt"))
    assert run.code == 2 and "does not exist" in run.err


def test_max_layers_option():
    run = run_netspec("check", "resnet", "--max-layers", "20")
    assert run.code == 1 and "more than 20 layers" in run.err


def test_an_inline_block_call_splices_its_layers_into_the_callers_list():
    import netspec

    spec = netspec.loads(
        "name: v\nimports: [std:classic]\ninput: [3, 32, 32]\nlayers:\n"
        "  - group:\n      name: features\n      layers:\n"
        "        - vgg_block: {convs: 1, out: 64, inline: true}\n"
        "        - vgg_block: {convs: 2, out: 128, inline: true, expect: [128, 8, 8]}\n"
        "  - flatten\n  - linear: 10\n"
    )
    features = spec.checked.children[0]
    assert [c.path for c in features.children] == [f"features.{i}" for i in range(8)]
    assert [c.node.kind.name for c in features.children][:3] == ["conv", "relu", "pool"]
    keys = list(spec.build(device="meta").state_dict())
    assert keys[:4] == [
        "features.0.weight",
        "features.0.bias",
        "features.3.weight",
        "features.3.bias",
    ]
    # the expectation is the caller's: the error points at it, not into the library
    with pytest.raises(netspec.NetspecError) as e:
        netspec.loads(
            "name: v\nimports: [std:classic]\ninput: [3, 32, 32]\nlayers:\n"
            "  - vgg_block: {convs: 2, out: 128, inline: true, expect: [64, 16, 16]}\n"
        )
    assert str(e.value).startswith(
        "<string>:5:59: error: pool gives (128, 16, 16), but expect: says (64, 16, 16)"
    )


def test_a_block_reaching_itself_through_an_expression_is_refused():
    # the first pass cannot see the call; the recursion is stopped at its limit, at once,
    # however many calls each level makes (two here: it would be exponential otherwise)
    with pytest.raises(NetspecError, match=r"block selfb calls itself more than 64 times") as e:
        netspec.loads(
            "name: rec\ninput: [4]\nparams: {me: selfb}\n"
            "blocks:\n  selfb:\n    layers: ['${me}', '${me}']\nlayers: [selfb]\n"
        )
    assert len(e.value.diagnostics) == 1
    assert "more block calls" in str(e.value)  # the chain of calls, by its ends


def test_an_inline_list_whose_layers_all_fail_reports_them():
    with pytest.raises(NetspecError, match='linear option "out": must be at least 1') as e:
        netspec.loads(
            "name: ce\ninput: [4]\nblocks:\n  bad:\n    layers: [{linear: '${0 - 1}'}]\n"
            "layers:\n  - bad: {inline: true, expect: [4]}\n"
            "  - group: {inline: true, expect: [4], layers: [{linear: '${0 - 1}'}]}\n"
        )
    assert len(e.value.diagnostics) == 2
