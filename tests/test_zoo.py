"""The torchvision zoo (``specs/torchvision``): torchvision's networks, checkpoint for checkpoint.

For each spec: the static parameter count is torchvision's, the static MACs are torchvision's
published GFLOPS (its figures count the multiply-accumulates of conv and linear weights, as
netspec does), the built module's ``state_dict`` has the keys and shapes that torchvision 0.29.1
gives, in its order (``tests/data/torchvision``, measured from torchvision itself), a state
dict of those shapes loads with ``strict=True``, and a forward pass gives ``(N, 1000)``.
Bigger family members follow from a param (``--set``). The big networks are built on the meta
device: nothing of VGG-16's 550 MB is allocated.

The second half tests the residual options the zoo needs (``inline``, ``projection.name``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import ROOT, ZOO, cli, need_torchvision, state_dict_keys
from crosscheck import assert_static_matches_module, measure
from torch import nn

import netspec as ns
from netspec.bundled import bundled_names
from netspec.cli import parse_sets
from netspec.modules import Residual, SequentialResidual

DATA = ROOT / "tests" / "data" / "torchvision"

#: torchvision's figures: parameters, and MACs whose GFLOPS torchvision publishes ("_ops")
EXPECTED = {
    "alexnet": (61_100_840, 714_188_480, 0.714),
    "vgg16": (138_357_544, 15_470_264_320, 15.47),
    "vgg16_bn": (138_365_992, 15_470_264_320, 15.47),
    "googlenet": (6_624_904, 1_498_376_192, 1.498),
    "resnet18": (11_689_512, 1_814_073_344, 1.814),
    "resnet50": (25_557_032, 4_089_184_256, 4.089),
}

#: family members by one --set: (spec, setting, torchvision model, params, published GFLOPS)
FAMILY = [
    ("resnet18", "layers=[3,4,6,3]", "resnet34", 21_797_672, 3.664),
    ("resnet50", "layers=[3,4,23,3]", "resnet101", 44_549_160, 7.801),
    ("resnet50", "layers=[3,8,36,3]", "resnet152", 60_192_808, 11.514),
    ("vgg16", "convs=[1,1,2,2,2]", "vgg11", 132_863_336, 7.609),
    ("vgg16", "convs=[2,2,2,2,2]", "vgg13", 133_047_848, 11.308),
    ("vgg16", "convs=[2,2,4,4,4]", "vgg19", 143_667_240, 19.632),
    ("vgg16_bn", "convs=[2,2,4,4,4]", "vgg19_bn", 143_678_248, 19.632),
]


def reference(name: str) -> list[tuple[str, tuple[int, ...]]]:
    """torchvision's state_dict keys and shapes, in order."""
    return state_dict_keys(DATA / f"{name}.txt")


def published(macs: int, gflops: float) -> bool:
    """Whether MACs round to a published GFLOPS figure, to the digits it is given with."""
    digits = len(repr(gflops).split(".")[1])
    return round(macs / 1e9, digits) == gflops


def assert_figures_are_torchvisions(
    name: str,
    params: int,
    macs: int,
    gflops: float,
    hand_written: Callable[[], nn.Module] | None = None,
) -> None:
    """Parameters and MACs as torchvision publishes them, and as a hand-written network's
    forward hooks measure them (on the meta device: no values); no hand-written network for
    one whose products of tensors (attention) hooks on conv and linear do not see."""
    spec = ns.load(f"torchvision/{name}")
    assert spec.num_params == params
    assert spec.macs == macs
    assert spec.input_shape.dims == (3, 224, 224) and spec.output_shape.dims == (1000,)
    header = (DATA / f"{name}.txt").read_text().splitlines()[0]
    assert header.endswith(f"; {params} parameters")
    if hand_written is not None:
        with torch.device("meta"):
            model = hand_written()
        assert sum(measure(model, (3, 224, 224))[1].values()) == macs
    assert published(macs, gflops)


def torchvision_model(name: str, device: str = "cpu") -> nn.Module:
    """torchvision's model of that name without weights, made on ``device`` (``"meta"``: its
    keys, shapes and counts without memory or init)."""
    tv = need_torchvision()
    with torch.device(device):
        model: nn.Module = getattr(tv.models, name)(weights=None)
    return model


def assert_computes_the_same(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> None:
    """The same outputs in eval and, drawing the same random numbers, in training (each
    stochastic depth's rate and place)."""
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), theirs.eval()(x), atol=1e-5, rtol=1e-5)
        ours.train(), theirs.train()
        torch.manual_seed(1)
        got = ours(x)
        torch.manual_seed(1)
        assert torch.allclose(got, theirs(x), atol=1e-5, rtol=1e-5)


def assert_loads_torchvisions_checkpoint(name: str) -> ns.Spec:
    """torchvision's keys and shapes, in order, and a strict load of a checkpoint of them."""
    spec = ns.load(f"torchvision/{name}")
    model = spec.build(device="meta")
    expected = reference(name)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == expected
    checkpoint = {k: torch.empty(shape, device="meta") for k, shape in expected}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    return spec


def test_every_zoo_spec_is_tested_and_has_reference_data():
    names = [n.removeprefix("torchvision/") for n in ZOO]
    assert sorted(p.stem for p in DATA.glob("*.txt")) == names
    # the classic five here; the graph networks in test_zoo_*.py, each with its figures
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_zoo*.py"))
    assert set(EXPECTED) <= set(names)
    for name in names:
        assert f'"{name}": (' in tests, f"torchvision/{name} has no expected figures"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_params_and_macs_are_torchvisions(name):
    spec = ns.load(f"torchvision/{name}")
    params, macs, gflops = EXPECTED[name]
    assert spec.num_params == params
    assert spec.macs == macs
    assert published(spec.macs, gflops)
    assert spec.input_shape.dims == (3, 224, 224) and spec.output_shape.dims == (1000,)
    header = (DATA / f"{name}.txt").read_text().splitlines()[0]
    assert header.endswith(f"; {params} parameters")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_state_dict_is_torchvisions_and_loads_strictly(name):
    model = assert_loads_torchvisions_checkpoint(name).build(device="meta")
    # num_batches_tracked is a buffer, not a parameter: the counts agree with the file's header
    assert sum(p.numel() for p in model.parameters()) == EXPECTED[name][0]
    with torch.no_grad():
        assert model.eval()(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)


@pytest.mark.parametrize(("name", "setting", "model", "params", "gflops"), FAMILY)
def test_family_members_by_one_param(name, setting, model, params, gflops):
    spec = ns.load(f"torchvision/{name}", **parse_sets([setting]))
    assert spec.num_params == params, model
    assert published(spec.macs, gflops), model


def test_resnet101_from_the_command_line():
    run = cli("check", "torchvision/resnet50", "--set", "layers=[3,4,23,3]")
    assert run.code == 0, run.err
    assert "44,549,160 params" in run.out and "(7.8 G)" in run.out


def test_zoo_specs_are_bundled_by_name():
    assert set(ZOO) <= set(bundled_names())
    assert ns.load("torchvision/resnet18").file == "specs/torchvision/resnet18.yaml"
    listed = cli("list")
    assert listed.code == 0 and "torchvision/googlenet" in listed.out
    with pytest.raises(ns.NetspecError, match="no such file"):
        ns.load("torchvision/resnet19")
    with pytest.raises(ns.NetspecError, match="no such file"):
        ns.load("torchvision/../lenet")  # names are the bundled ones, never a way out


def _torchvision_resnet(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet and BasicBlock/Bottleneck forward, on the built module's layers."""
    m: nn.Module = model
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    for stage in (m.layer1, m.layer2, m.layer3, m.layer4):
        for block in stage:
            identity = block.downsample(x) if hasattr(block, "downsample") else x
            out = torch.relu(block.bn1(block.conv1(x)))
            out = block.bn2(block.conv2(out))
            if hasattr(block, "conv3"):
                out = block.bn3(block.conv3(torch.relu(out)))
            x = torch.relu(out + identity)
    return m.fc(torch.flatten(m.avgpool(x), 1))


def _torchvision_googlenet(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's GoogLeNet forward (no aux heads, no transform_input) on the built layers."""
    m: nn.Module = model
    x = m.maxpool2(m.conv3(m.conv2(m.maxpool1(m.conv1(x)))))
    for name in ("3a", "3b", "maxpool3", "4a", "4b", "4c", "4d", "4e", "maxpool4", "5a", "5b"):
        layer = getattr(m, name if name.startswith("maxpool") else f"inception{name}")
        if name.startswith("maxpool"):
            x = layer(x)
        else:
            branches = [layer.branch1, layer.branch2, layer.branch3, layer.branch4]
            x = torch.cat([b(x) for b in branches], 1)
    return m.fc(m.dropout(torch.flatten(m.avgpool(x), 1)))


@pytest.mark.parametrize(
    ("name", "forward"),
    [
        ("resnet18", _torchvision_resnet),
        ("resnet50", _torchvision_resnet),
        ("googlenet", _torchvision_googlenet),
    ],
)
def test_forward_is_torchvisions(name, forward):
    """The layers are not only named as torchvision's: they are used as its forward uses them."""
    torch.manual_seed(0)
    model = ns.load(f"torchvision/{name}").build().eval()
    for module in model.modules():  # non-trivial statistics, so that batchnorm order matters
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), forward(model, x), atol=1e-5)


# The residual options the zoo needs: inline bodies and a named projection.

BLOCKS = """
name: blocks
input: [16, 8, 8]
layers:
  - residual:
      name: plain
      body: [{conv: {out: 16, kernel: 3, padding: 1}}, relu]
      after: relu
  - residual:
      name: basic
      inline: true
      body:
        - conv: {name: conv1, out: 32, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm: {name: bn1}
        - relu: {name: relu, inplace: true}
        - conv: {name: conv2, out: 32, kernel: 3, padding: 1, bias: false}
        - batchnorm: {name: bn2}
      projection: {name: downsample, batchnorm: true}
      after: {relu: {inplace: true}}
  - residual: {name: bare, inline: true, body: [{conv: {out: 32, kernel: 1}}]}
  - residual:
      name: named
      body: [{conv: {out: 64, kernel: 1}}, relu]
      projection: {name: down}
  - residual:
      name: after_list
      inline: true
      shortcut: projection
      body: [{conv: {out: 64, kernel: 1}}]
      after: [relu, {dropout: 0.1}]
"""


def test_residual_names():
    spec = ns.loads(BLOCKS)
    model = spec.build()
    children = {name: list(dict(m.named_children())) for name, m in model.named_children()}
    assert children == {
        "plain": ["body", "after"],
        "basic": ["conv1", "bn1", "relu", "conv2", "bn2", "downsample", "after"],
        "bare": ["0"],
        "named": ["body", "down"],
        "after_list": ["0", "shortcut", "after"],
    }
    assert type(model.plain) is Residual  # the default stays as it was
    assert all(type(getattr(model, n)) is SequentialResidual for n in list(children)[1:])
    assert "basic.downsample.0.weight" in model.state_dict()
    assert "basic.downsample.1.running_mean" in model.state_dict()
    assert [c.path for c in spec.checked.child("basic").children][-2:] == [
        "basic.downsample",
        "basic.after",
    ]
    assert_static_matches_module(spec, model)


def test_inline_residual_computes_the_residual():
    torch.manual_seed(0)
    model = ns.loads(BLOCKS).build().eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        x = model.plain(x)
        b = model.basic
        expected = torch.relu(b.bn2(b.conv2(torch.relu(b.bn1(b.conv1(x))))) + b.downsample(x))
        assert torch.allclose(b(x), expected)
        x = expected
        assert torch.allclose(model.bare(x), getattr(model.bare, "0")(x) + x)  # the identity
        x = model.bare(x)
        n = model.named
        assert torch.allclose(n(x), n.body(x) + n.down(x))
        x = n(x)
        a = model.after_list
        assert torch.allclose(a(x), a.after(getattr(a, "0")(x) + a.shortcut(x)))


def test_inline_residual_scripts_to_straight_line_code():
    """TorchScript unrolls the loop: the scripted forward reads like a hand-written block."""
    model = ns.loads(BLOCKS).build().eval()
    scripted = torch.jit.script(model)
    code = scripted.basic.code
    assert "for " not in code and "if " not in code
    # the sum of the block's output and its shortcut, written into the output out of autograd
    # as torchvision's BasicBlock writes out += identity
    assert "_0 = __torch__.netspec.modules._accumulated" in code
    assert "_0(out3, (downsample).forward(x, ), )" in code
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(scripted(x), expected, atol=1e-6)
        assert torch.allclose(torch.fx.symbolic_trace(model)(x), expected, atol=1e-6)
        torch._dynamo.reset()
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        assert torch.allclose(compiled(x), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("residual", "message"),
    [
        (
            "{inline: true, body: [{conv: {out: 32, kernel: 1}}, {relu: {name: shortcut}}]}",
            ':6:68: error: this layer of an inline residual body is named "shortcut", '
            "like the projection shortcut",
        ),
        (
            "{inline: true, body: [{conv: {out: 16, kernel: 1}}, {relu: {name: after}}], "
            "after: relu}",
            ':6:68: error: this layer of an inline residual body is named "after", '
            "like the layer after the addition",
        ),
        (
            "{body: [{conv: {out: 32, kernel: 1}}], projection: {name: body}}",
            ':6:5: error: the projection shortcut is named "body", like the body',
        ),
        (
            "{body: [{conv: {out: 32, kernel: 1}}], projection: {name: after}, after: relu}",
            ':6:5: error: the projection shortcut is named "after", like the layer after the '
            "addition",
        ),
    ],
)
def test_residual_name_clashes(residual, message):
    text = "name: x\ninput: [16, 8, 8]\nlayers:\n  - conv: {out: 16, kernel: 1}\n\n"
    text += f"  - residual: {residual}\n"
    with pytest.raises(ns.NetspecError) as info:
        ns.loads(text)
    assert f"<string>{message}" in str(info.value)


def test_an_identity_shortcut_frees_its_name():
    """Only a shortcut that exists takes its name; an unused default projection takes none."""
    spec = ns.loads(
        "name: x\ninput: [8, 4, 4]\nlayers:\n  - residual:\n      inline: true\n"
        "      shortcut: identity\n      body: [{conv: {name: shortcut, out: 8, kernel: 1}}]\n"
    )
    assert [c.path for c in spec.checked.walk()][1:] == ["0", "0.shortcut"]
