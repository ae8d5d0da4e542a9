"""The YOLOv8 specs against Ultralytics' own models, built by the Ultralytics package.

Ultralytics is in the test environment (``make test``: ``.venv-test``); elsewhere these tests
skip, and under ``CI=true`` a missing Ultralytics fails them. Its models are built in a process
of their own (tests/ultralytics_peer.py), from its stock YAMLs, without weights or network,
once a session: under pytest-xdist the first worker to need them builds them and the others
read its file (building the ten models takes half a minute or more).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from conftest import ultralytics_at_size, ultralytics_gflops, ultralytics_peer

import netspec as ns

SPECS = {"detect": "ultralytics/yolov8", "classify": "ultralytics/yolov8-cls"}
#: building Ultralytics' models takes half a minute: these tests run early, together (conftest)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result: dict[str, Any] = ultralytics_peer(tmp_path_factory, "ultralytics_peer.py", "YOLOv8")
    return result


@pytest.mark.parametrize("scale", "nsmlx")
@pytest.mark.parametrize("task", sorted(SPECS))
def test_counts_and_gflops_are_ultralytics(peer, task, scale):
    spec = ns.load(SPECS[task], scale=scale)
    figures = peer["figures"][(task, scale)]
    # the detector's DFL conv (16 fixed weights, no gradient) is in the spec, as in Ultralytics'
    assert spec.num_params == figures["params"]
    assert ultralytics_gflops(spec) == pytest.approx(figures["gflops"], rel=1e-9)


@pytest.mark.parametrize(
    ("task", "scale"), [("detect", "n"), ("detect", "s"), ("classify", "n"), ("classify", "s")]
)
def test_outputs_equal_ultralytics_with_its_weights(peer, task, scale):
    recorded = peer["outputs"][(task, scale)]
    size = recorded["input"].shape[-1]
    spec = ultralytics_at_size(ns.load(SPECS[task], scale=scale), size, scale)
    model = spec.build().eval()
    result = model.load_state_dict(recorded["state_dict"], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        out = model(recorded["input"])
    got = list(out.values()) if isinstance(out, dict) else [out]
    if task == "detect":  # the per-level maps (the DFL distances: test_ultralytics11.py)
        got = got[:3]
    assert len(got) == len(recorded["outputs"])
    for mine, theirs in zip(got, recorded["outputs"], strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-4)
