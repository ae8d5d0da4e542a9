"""The hand-written mobile networks of ``bench/reference_mobile.py`` against torchvision's.

What torchvision builds is recorded in ``tests/data/torchvision/<name>.txt`` (copied from the
project's shared reference): a comment line ending in the parameter count,
then one ``key [shape]`` line per ``state_dict`` entry, in order. Each network must reproduce
that list exactly, have that many parameters, and map a 224×224 image to 1000 logits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from bench import reference_mobile as ref

REFERENCE_DIR = Path(__file__).resolve().parent / "data" / "torchvision"

BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "efficientnet_b0": ref.efficientnet_b0,
    "mobilenet_v2": ref.mobilenet_v2,
    "mobilenet_v3_small": ref.mobilenet_v3_small,
}

# (eps, momentum) of every BatchNorm, as torchvision sets them
BATCHNORM = {
    "efficientnet_b0": (1e-5, 0.1),
    "mobilenet_v2": (1e-5, 0.1),
    "mobilenet_v3_small": (1e-3, 0.01),
}


def read_reference(name: str) -> tuple[int, list[tuple[str, list[int]]]]:
    """The parameter count and the ``(key, shape)`` list of a torchvision reference file."""
    path = REFERENCE_DIR / f"{name}.txt"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    header, *lines = path.read_text().splitlines()
    count = re.search(r"(\d+) parameters$", header)
    assert count is not None, header
    entries = []
    for line in lines:
        key, shape = line.split(" ", 1)
        entries.append((key, [int(d) for d in re.findall(r"\d+", shape)]))
    return int(count.group(1)), entries


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def built(request: pytest.FixtureRequest) -> tuple[str, nn.Module]:
    torch.manual_seed(0)
    return request.param, BUILDERS[request.param]().eval()


def test_state_dict_matches_torchvision(built: tuple[str, nn.Module]) -> None:
    name, model = built
    _, expected = read_reference(name)
    actual = [(key, list(t.shape)) for key, t in model.state_dict().items()]
    assert actual == expected


def test_parameter_count_matches_torchvision(built: tuple[str, nn.Module]) -> None:
    name, model = built
    count, _ = read_reference(name)
    assert sum(p.numel() for p in model.parameters()) == count


def test_batchnorm_settings(built: tuple[str, nn.Module]) -> None:
    name, model = built
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms
    assert {(m.eps, m.momentum) for m in norms} == {BATCHNORM[name]}


def test_forward_gives_1000_logits_deterministically_in_eval(built: tuple[str, nn.Module]) -> None:
    _, model = built
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first, second = model(x), model(x)
    assert first.shape == (1, 1000)
    assert torch.isfinite(first).all()
    # dropout and stochastic depth are off in eval
    assert torch.equal(first, second)


def test_copied_weights_give_the_same_output(built: tuple[str, nn.Module]) -> None:
    name, model = built
    torch.manual_seed(2)
    other = BUILDERS[name]().eval()
    other.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)


def test_make_divisible() -> None:
    # nearest multiple, at least the divisor, and never more than 10% below the value
    assert ref.make_divisible(60, 8) == 64
    assert ref.make_divisible(30, 8) == 32
    assert ref.make_divisible(18, 8) == 24  # 16 would lose more than 10%
    assert ref.make_divisible(3, 8) == 8
    assert ref.make_divisible(12, 8, min_value=24) == 24
    assert ref.make_divisible(32 * 1.0, 8) == 32


def test_squeeze_excitation_computes_the_channel_gate() -> None:
    torch.manual_seed(4)
    se = ref.SqueezeExcitation(6, 2, activation=nn.SiLU)
    x = torch.randn(2, 6, 5, 5)
    pooled = x.mean(dim=(2, 3))
    assert se.fc1.bias is not None and se.fc2.bias is not None
    hidden = nn.functional.silu(pooled @ se.fc1.weight.flatten(1).T + se.fc1.bias)
    gate = torch.sigmoid(hidden @ se.fc2.weight.flatten(1).T + se.fc2.bias)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])


def test_residual_only_where_shapes_allow() -> None:
    # EfficientNet: first block of each stage has no residual, later ones do
    b0 = ref.efficientnet_b0()
    stages = list(b0.features.children())[1:8]
    residual = [[b.use_residual for b in s.children() if isinstance(b, ref.MBConv)] for s in stages]
    assert residual == [
        [False],
        [False, True],
        [False, True],
        [False, True, True],
        [False, True, True],
        [False, True, True, True],
        [False],
    ]
    v3 = ref.mobilenet_v3_small()
    blocks = [b for b in v3.features.children() if isinstance(b, ref.InvertedResidualV3)]
    assert [b.use_residual for b in blocks] == [
        False, False, True, False, True, True, False, True, False, True, True,
    ]  # fmt: skip


def test_stochastic_depth_is_identity_in_eval_and_drops_rows_in_training() -> None:
    sd = ref.StochasticDepth(0.5)
    x = torch.ones(64, 3, 2, 2)
    assert torch.equal(sd.eval()(x), x)
    torch.manual_seed(5)
    out = sd.train()(x)
    per_row = out.flatten(1)
    # every row is either dropped (0) or kept and scaled by 1 / (1 - p) = 2
    assert all(set(row.tolist()) <= {0.0} or set(row.tolist()) == {2.0} for row in per_row)
