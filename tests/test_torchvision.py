"""The zoo against torchvision itself: its model's weights load strictly and compute the same.

tests/test_zoo*.py check every spec against recorded key lists and hand-written references;
here each is compared with the real thing. torchvision is in the test environment
(``make test``: ``.venv-test``, with the torch it imports beside); elsewhere these tests skip,
and under ``CI=true`` a missing torchvision fails them, as a missing Graphviz does.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from conftest import ZOO, need_torchvision
from torch import nn

import netspec as ns


class _FPN(nn.Module):
    """torchvision's ResNet-50 layers 1-4 and feature pyramid, as its detection models join them."""

    def __init__(self, tv: Any) -> None:
        super().__init__()
        from torchvision.models._utils import IntermediateLayerGetter
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        layers = {f"layer{i + 1}": str(i) for i in range(4)}
        self.body = IntermediateLayerGetter(tv.models.resnet50(weights=None), layers)
        self.fpn = FeaturePyramidNetwork([256, 512, 1024, 2048], 256, LastLevelMaxPool())

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = self.fpn(self.body(x))
        return out


def _model(tv: Any, name: str) -> nn.Module:
    if name == "resnet50_fpn":
        return _FPN(tv)
    if name == "googlenet":
        return tv.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    model: nn.Module = getattr(tv.models, name)(weights=None)
    return model


def _theirs_loaded_into(ours: nn.Module, theirs: nn.Module) -> nn.Module:
    """``ours``, built on the meta device (its own weights would be replaced: initialising
    them took up to a second), after its keys and shapes are checked to be ``theirs``, in
    order, with their tensors loaded strictly (assigned, not copied: neither is changed), in
    eval mode. A tensor of ours that no key holds would stay on the meta device and fail the
    forward pass."""
    state = theirs.state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in state.items()
    ]
    ours.load_state_dict(state, strict=True, assign=True)
    return ours.eval()


def _outputs(out: Any) -> list[torch.Tensor]:
    return list(out.values()) if isinstance(out, dict) else [out]


#: the zoo's networks of tokens and attention, each compared with torchvision in a file of its
#: own (tests/test_zoo_vit.py, ...): at the image size they need (ViT takes 224 only), with
#: their scales made on the meta device rather than built
OWN_FILE = {"vit_b_16", "swin_t", "convnext_tiny"}
COMPARED = [
    n.removeprefix("torchvision/") for n in ZOO if n.removeprefix("torchvision/") not in OWN_FILE
]


@pytest.mark.parametrize("name", COMPARED)
def test_torchvision_weights_load_and_compute_the_same(name):
    tv = need_torchvision()
    torch.manual_seed(0)
    theirs = _model(tv, name).eval()
    for module in theirs.modules():  # statistics that are not the identity, so order matters
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
    spec = ns.load(f"torchvision/{name}")
    ours = _theirs_loaded_into(spec.build(device="meta"), theirs)
    assert sum(p.numel() for p in ours.parameters()) == spec.num_params
    x = torch.randn(2, *spec.input_shape.dims[:1], 64, 64)
    with torch.no_grad():
        expected, got = _outputs(theirs(x)), _outputs(ours(x))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()


#: zoo specs that hold a family as scales, and torchvision's name for each scale
FAMILIES = {
    "resnet18": lambda scale: scale,
    "resnet50": lambda scale: scale,
    "efficientnet_b0": lambda scale: f"efficientnet_{scale}",
}


def _family_members() -> list[tuple[str, str]]:
    return [
        (name, scale)
        for name in sorted(FAMILIES)
        for scale in ns.load(f"torchvision/{name}").scales
    ]


def test_the_families_are_the_zoo_specs_with_scales():
    scaled = {n for n in COMPARED if ns.load(f"torchvision/{n}").scales}
    assert scaled == set(FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "scale"), _family_members())
def test_every_scale_is_torchvisions_model_of_that_name(name, scale):
    tv = need_torchvision()
    torch.manual_seed(0)
    theirs = getattr(tv.models, FAMILIES[name](scale))(weights=None).eval()
    for module in theirs.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.running_mean, -0.1, 0.1)
            nn.init.uniform_(module.running_var, 0.5, 1.5)
    spec = ns.load(f"torchvision/{name}", scale=scale)
    ours = _theirs_loaded_into(spec.build(device="meta"), theirs)
    norms = [(m.eps, m.momentum) for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms == [(m.eps, m.momentum) for m in theirs.modules() if isinstance(m, nn.BatchNorm2d)]
    drops = [m.p for m in ours.modules() if isinstance(m, nn.Dropout)]
    assert drops == [m.p for m in theirs.modules() if isinstance(m, nn.Dropout)]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-4, rtol=1e-4)
