"""What the tests of ``state_dict`` keys, diffs and transfers share (test_state_keys, test_diff,
test_transfer): a plugin kind that keeps a tensor, kinds registered for a test, YOLOv8 with a
row inserted into its head, Ultralytics' own checkpoints, and a fresh interpreter to see whether
code imports torch."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SPECS, ultralytics_made

import netspec
from netspec.ir import Kind
from netspec.plugins import Cost, Options, Shape


class Scale(Kind):
    """A per-channel scale, a plugin's kind: its module keeps ``gain`` (channels, 1, 1), which
    it does not say (a subclass may, or may answer wrongly, by ``tensors``)."""

    name = "test_scale"
    Options = Options

    def cost(self, opts: Any, shape: Shape) -> Cost:
        return Cost(shape, shape.channels)

    def module(self, opts: Any, input: Shape, output: Shape) -> Any:
        import torch
        from torch import nn

        module = nn.Module()
        module.gain = nn.Parameter(torch.ones(input.channels, 1, 1))
        return module


@contextlib.contextmanager
def registered(*kinds: Kind) -> Iterator[None]:
    """``kinds`` registered inside the block (a test's fixture), and unregistered after it."""
    done: list[Kind] = []
    try:
        for kind in kinds:
            netspec.register(kind)
            done.append(kind)
        yield
    finally:
        for kind in done:
            netspec.unregister(kind.name)


def yolov8_row(edited_file: str) -> tuple[netspec.Spec, netspec.Spec]:
    """YOLOv8 (``yolov8.yaml``), and YOLOv8 with a 3×3 Conv row inserted after row 15 of its
    head (``edited_file`` in messages): the rows after it shift by one, as in Ultralytics'
    own edits."""
    text = (SPECS / "ultralytics" / "yolov8.yaml").read_text()
    row = '        - C2f: {c2: "${ch(256)}", n: "${reps(3)}", to: small}       # 15 (P3/8-small)\n'
    new = (
        row.replace(", to: small}", "}")
        + '        - Conv: {c2: "${ch(256)}", k: 3, s: 1, to: small}\n'
    )
    assert text.count(row) == 1
    edited = netspec.loads(text.replace(row, new), file=edited_file)
    return netspec.loads(text, file="yolov8.yaml"), edited


def fresh_run(code: str) -> tuple[list[str], bool]:
    """What ``code`` prints (its words), run by a fresh interpreter in the repository, and
    whether it imported torch: the tests' own process has torch already."""
    check = f"{code}\nimport sys\nprint('torch' in sys.modules)\n"
    run = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    *words, torch = run.stdout.split()
    return words, torch == "True"


def need_ultralytics(ci_needs: str) -> None:
    """Skip the test where Ultralytics is not installed (``make test`` sets it up); under
    ``CI=true`` its absence fails the test, ``ci_needs`` saying what CI does with it."""
    if importlib.util.find_spec("ultralytics") is None:
        if os.environ.get("CI"):
            pytest.fail(f"Ultralytics is not installed; {ci_needs}")
        pytest.skip("Ultralytics is not installed (make test sets it up)")


def ultralytics_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding YOLOv8n checkpoints saved by Ultralytics itself (``best.pt``,
    ``last.pt``) and ``reference.pt``, written by tests/ultralytics_checkpoints.py in a process
    of its own, once a session (conftest's ``ultralytics_made``): test_transfer and
    test_init_from read it, never write to it."""
    need_ultralytics("CI loads its checkpoints")
    return ultralytics_made(tmp_path_factory) / "checkpoints"
