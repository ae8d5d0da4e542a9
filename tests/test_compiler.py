"""The compiled module is the network the static pass describes, and plain PyTorch.

For every bundled spec: each layer's real output shape, parameter count and MACs (measured with
forward hooks on the built module) equal the static ones; torchinfo's mult-adds relate to ours
exactly; and the module scripts, traces and compiles. The torchvision zoo, the big bundled
specs (``BIG``: U-Net) and those with the most weights (``HEAVY``) are measured on the meta
device; the zoo networks with a module of their own, and U-Net, are scripted and compiled on
small images (the zoo's networks pool adaptively, so any size above a few dozen pixels works;
U-Net's needs a multiple of 2^depth), some at smaller widths (``SCRIPTED_SMALLER``).
"""

from __future__ import annotations

import pytest
import torch
import torchinfo
from conftest import BIG, BUNDLED, ZOO, cli
from crosscheck import assert_static_matches_module, torchinfo_extra

import netspec

#: the zoo's image size for real forward passes: 224 would take seconds per network
ZOO_IMAGE = 64
#: scripting, tracing and compiling takes 4-14 s per zoo network; only ResNet-18 has a module
#: that no bundled spec has (SequentialResidual), the others repeat bundled specs' modules
SCRIPTED_ZOO = ["torchvision/resnet18", "torchvision/convnext_tiny"]
#: specs scripted, traced and compiled with the same modules, smaller: ConvNeXt-T with a block
#: or two a stage (its 18 took 5 s of CPU) and narrower, the ResNet with one block a stage, the
#: transformer with two layers, VGG-11 and U-Net at a quarter of their widths (every layer is
#: traced and compiled as at any width)
SCRIPTED_SMALLER: dict[str, dict[str, object]] = {
    "torchvision/convnext_tiny": {"widths": [24, 48, 96, 192], "depths": [1, 1, 2, 1]},
    "resnet": {"blocks_per_stage": 1},
    "transformer_encoder": {"num_layers": 2},
    "vgg": {"conv_arch": [[1, 16], [1, 32], [2, 64], [2, 128], [2, 128]]},
    "unet": {"base": 16},
}
#: bundled specs with over 50 M weights (VGG-11: 129 M, AlexNet: 51 M), measured on the meta
#: device as the zoo is: their forward passes and initialisation took about 1 s each
HEAVY = ["alexnet", "vgg"]


def _device(name: str) -> str | None:
    return "meta" if name in ZOO or name in BIG or name in HEAVY else None


@pytest.mark.parametrize("name", BUNDLED + ZOO)
def test_bundled_static_pass_equals_built_module(name):
    spec = netspec.load(name)
    assert_static_matches_module(spec, spec.build(device=_device(name)))


@pytest.mark.parametrize("name", BUNDLED + ZOO)
def test_torchinfo_mult_adds_relation(name):
    spec = netspec.load(name)
    device = _device(name) or "cpu"
    model = spec.build(device=device)
    stats = torchinfo.summary(
        model, input_size=(1, *spec.input_shape.dims), verbose=0, device=device
    )
    assert stats.total_mult_adds == spec.macs + torchinfo_extra(spec.checked)
    assert stats.total_params == spec.num_params


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED + SCRIPTED_ZOO)
def test_script_trace_and_compile(name):
    torch.manual_seed(0)
    spec = netspec.load(name, **SCRIPTED_SMALLER.get(name, {}))
    model = spec.build().eval()
    dims = spec.input_shape.dims
    small = name in ZOO or name in BIG
    x = torch.randn(2, dims[0], ZOO_IMAGE, ZOO_IMAGE) if small else torch.randn(2, *dims)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.jit.script(model)(x), expected, atol=1e-5)
        assert torch.allclose(torch.fx.symbolic_trace(model)(x), expected, atol=1e-5)
        torch._dynamo.reset()
        # aot_eager: the whole graph captured by dynamo (fullgraph: no breaks) and traced by
        # AOTAutograd; inductor's code generation is exercised once, below
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        assert torch.allclose(compiled(x), expected, atol=1e-5)


EVERY_STRUCTURE = """
name: every_structure
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - inception:
      branches:
        - [{conv: {out: 4, kernel: 1}}]
        - []
        - [{pool: {mode: max, kernel: 3, stride: 1, padding: 1}}]
  - inception:
      merge: add
      branches: [[{conv: {out: 20, kernel: 3, padding: 1}}], []]
  - residual:
      body: [{conv: {out: 32, kernel: 3, stride: 2, padding: 1}}, batchnorm]
      projection: {batchnorm: true}
      after: relu
  - pool: {mode: avg, global: true}
  - flatten
  - linear: 10
"""


@pytest.mark.slow
def test_inductor_compiles_every_structure():
    spec = netspec.loads(EVERY_STRUCTURE)
    model = spec.build().eval()
    x = torch.randn(2, 3, 16, 16)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-4)
    assert_static_matches_module(spec, model)


def test_forward_has_no_python_overhead_structures():
    """The built tree holds only torch.nn modules, netspec's own small modules (merges,
    residuals, slices, layout operations, attention's parts, ...) and the torch.fx
    GraphModules of graph-shaped blocks."""
    own = {"netspec.modules", "netspec.layout_modules", "netspec.attention_modules"}
    for name in BUNDLED + ZOO:  # module types: the meta device builds them without weights
        for module in netspec.load(name).build(device="meta").modules():
            assert (
                type(module).__module__.startswith("torch.nn")
                or type(module).__module__ in own
                or isinstance(module, torch.fx.GraphModule)
            ), type(module)


def test_state_dict_keys_follow_the_spec():
    keys = netspec.load("resnet").build().state_dict().keys()
    assert "stage2.0.body.conv1.weight" in keys
    assert "stage2.0.shortcut.weight" in keys
    assert "stem.0.weight" in keys and "head.2.weight" in keys
    assert "b3.0.p2.2.weight" in netspec.load("googlenet").build().state_dict()


def test_a_seed_gives_the_same_weights_and_leaves_torch_alone():
    spec = netspec.load("lenet")
    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    a, b = spec.build(seed=7).state_dict(), spec.build(seed=7).state_dict()
    assert torch.rand(1) == before  # torch's own random state went on as if nothing happened
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = spec.build(seed=8).state_dict()
    assert not all(torch.equal(a[k], other[k]) for k in a)
    with pytest.raises(netspec.NetspecError, match="seed must be a whole number"):
        spec.build(seed=-1)


def test_build_seed_on_the_command_line(tmp_path):
    paths = [tmp_path / "a.pt", tmp_path / "b.pt"]
    for path in paths:
        assert cli("build", "lenet", "--seed", "3", "-o", str(path)).code == 0
    a, b = (torch.jit.load(str(p)).state_dict() for p in paths)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert cli("build", "lenet", "--seed", "x").code == 2


@pytest.mark.parametrize("suffix", [".pt", ".pt2"])
def test_a_saved_file_that_does_not_load_back_is_refused_and_not_left(
    tmp_path, monkeypatch, suffix
):
    from netspec.build import build_and_run, save_module
    from netspec.errors import NetspecError

    spec = netspec.loads("name: t\ninput: [3, 4, 4]\nlayers: [{conv: {out: 2, kernel: 1}}]\n")
    model, _ = build_and_run(spec)

    def broken(*args, **kwargs):
        raise RuntimeError("cannot read this archive")

    monkeypatch.setattr(torch.jit, "load", broken)
    monkeypatch.setattr(torch.export, "load", broken)
    target = tmp_path / f"x{suffix}"
    with pytest.raises(NetspecError, match=r"does not load back in torch \(cannot read this"):
        save_module(model, spec, target)
    assert list(tmp_path.iterdir()) == []
