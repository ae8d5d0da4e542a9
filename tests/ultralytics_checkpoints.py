"""Ultralytics' own YOLOv8n checkpoints, saved as Ultralytics saves them, in a process of their
own (tests/ultralytics_all.py runs it, for test_transfer and test_init_from: importing Ultralytics
changes its process).

Into the folder named by its argument it writes, with no weights downloaded and no network:

- ``last.pt``: the dict ``BaseTrainer.save_model`` writes while training (``"model": None``,
  the float16 EMA model under ``"ema"``, the optimizer's state, the train args, numpy numbers);
- ``best.pt``: that file finalised by Ultralytics' own ``strip_optimizer``, as the trainer
  finalises ``best.pt`` (the model under ``"model"``, float16, no optimizer);
- ``reference.pt``: an input, the raw maps Ultralytics' Detect computes on it with the weights
  the checkpoints hold (float16 values, computed in float32), and those weights' state_dict.
"""

from __future__ import annotations

import sys
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch
import ultralytics_peer  # sets Ultralytics' environment (offline, quiet) and imports it
from ultralytics import __version__
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils.torch_utils import strip_optimizer


def main(folder: Path) -> None:
    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=80, verbose=False)
    ultralytics_peer.randomise(model)  # batchnorm statistics that are not the defaults
    ema = deepcopy(model).half()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    training = {  # the layout of BaseTrainer.save_model (ultralytics/engine/trainer.py)
        "epoch": 0,
        "best_fitness": np.float64(0.5),
        "model": None,
        "ema": ema,
        "updates": 1,
        "optimizer": optimizer.state_dict(),
        "train_args": {"model": "yolov8n.yaml", "epochs": 1, "imgsz": 640},
        "train_metrics": {"fitness": np.float64(0.5)},
        "date": "2025-01-01T00:00:00",
        "version": __version__,
    }
    torch.save(training, folder / "last.pt")
    strip_optimizer(folder / "last.pt", str(folder / "best.pt"))
    reference = deepcopy(ema).float().eval()
    x = torch.randn(1, 3, 128, 128)  # small: a forward pass at 640 takes seconds
    torch.save(
        {
            "input": x,
            "outputs": ultralytics_peer.outputs("detect", reference, x),
            "state_dict": reference.state_dict(),
        },
        folder / "reference.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
