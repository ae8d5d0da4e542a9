"""Ultralytics' own YOLO11 models, in a process of their own
(tests/ultralytics_all.py runs it; tests/test_ultralytics11.py reads what it writes).

As tests/ultralytics_peer.py does for YOLOv8 (importing Ultralytics changes its process), this
script builds yolo11n and yolo11n-cls from Ultralytics' stock YAMLs (no weights, no network)
and writes to the file named by its argument, with torch.save: each model's parameter count
and the GFLOPs Ultralytics reports, a state_dict (batchnorm statistics randomised, so that eps
matters), an input, and what the model computes on it: Detect's raw per-level maps
(cat(cv2[i], cv3[i])) and its DFL's box distances, or Classify's logits.
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("YOLO_OFFLINE", "1")  # no DNS lookups at import
os.environ["YOLO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="netspec-yolo-")  # its settings file
os.environ.setdefault("YOLO_VERBOSE", "False")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

import torch  # before ultralytics, which would otherwise set one thread
from ultralytics.nn.tasks import ClassificationModel, DetectionModel
from ultralytics.utils.torch_utils import get_flops
from ultralytics_peer import outputs, randomise

#: (task, input size) of the models whose outputs are compared
SIZES = {"detect": 256, "classify": 224}


def build(task: str) -> torch.nn.Module:
    if task == "detect":
        return DetectionModel("yolo11n.yaml", nc=80, verbose=False)
    return ClassificationModel("yolo11n-cls.yaml", nc=1000, verbose=False)


def main(target: str) -> None:
    torch.manual_seed(0)
    result: dict[str, object] = {}
    for task, size in SIZES.items():
        model = build(task)
        flops_size = 640 if task == "detect" else 224
        randomise(model)
        model.eval()
        x = torch.randn(2, 3, size, size)
        result[task] = {
            "params": sum(p.numel() for p in model.parameters()),
            "gflops": get_flops(model, imgsz=flops_size),
            "frozen": [k for k, p in model.named_parameters() if not p.requires_grad],
            "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "input": x,
            "outputs": outputs(task, model, x, dfl=True),
        }
    torch.save(result, target)


if __name__ == "__main__":
    main(sys.argv[1])
