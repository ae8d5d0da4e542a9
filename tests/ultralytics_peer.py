"""Ultralytics' own YOLOv8 models, in a process of their own
(tests/ultralytics_all.py runs it; tests/test_ultralytics_package.py reads what it writes).

Importing Ultralytics changes its process (it replaces torch.save, sets print options and
OMP_NUM_THREADS), so the tests run this script rather than import it. It builds the models from
Ultralytics' stock YAMLs (no weights, no network), and writes to the file named by its argument,
with torch.save: for every scale, the parameter count and the GFLOPs Ultralytics reports; for
the models named in ``OUTPUTS``, a state_dict (batchnorm statistics randomised, so that eps
matters), an input, and what the model computes on it (the raw per-level maps of Detect, as
cat(cv2[i], cv3[i]), and the logits of Classify).
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

SCALES = "nsmlx"
#: (task, scale, input size) of the models whose outputs are compared
OUTPUTS = [
    ("detect", "n", 256),
    ("detect", "s", 256),
    ("classify", "n", 224),
    ("classify", "s", 224),
]


def build(task: str, scale: str) -> torch.nn.Module:
    if task == "detect":
        return DetectionModel(f"yolov8{scale}.yaml", nc=80, verbose=False)
    return ClassificationModel(f"yolov8{scale}-cls.yaml", nc=1000, verbose=False)


def randomise(model: torch.nn.Module) -> None:
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            shape = m.running_mean.shape
            m.running_mean.copy_(torch.rand(shape, generator=generator) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(shape, generator=generator) + 0.5)
            m.bias.data.copy_(torch.rand(shape, generator=generator) * 0.2 - 0.1)


def outputs(
    task: str, model: torch.nn.Module, x: torch.Tensor, dfl: bool = False
) -> list[torch.Tensor]:
    """Detect's raw maps, cat(cv2[i](x_i), cv3[i](x_i)) (and with ``dfl`` its DFL's box
    distances after them), or Classify's logits, by hooks."""
    head = model.model[-1]
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    if task == "detect":
        for i in range(head.nl):
            for branch in ("cv2", "cv3"):
                module = getattr(head, branch)[i]
                hooks.append(module.register_forward_hook(_keep(seen, f"{branch}.{i}")))
        if dfl:
            hooks.append(head.dfl.register_forward_hook(_keep(seen, "dfl")))
    else:
        hooks.append(head.linear.register_forward_hook(_keep(seen, "logits")))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    if task == "detect":
        maps = [torch.cat([seen[f"cv2.{i}"], seen[f"cv3.{i}"]], 1) for i in range(head.nl)]
        return [*maps, seen["dfl"]] if dfl else maps
    return [seen["logits"]]


def _keep(seen: dict[str, torch.Tensor], name: str):  # type: ignore[no-untyped-def]
    def hook(module, args, out):  # type: ignore[no-untyped-def]
        seen[name] = out.detach().clone()

    return hook


def main(target: str) -> None:
    torch.manual_seed(0)
    result: dict[str, object] = {"figures": {}, "outputs": {}}
    for task in ("detect", "classify"):
        for scale in SCALES:
            model = build(task, scale)
            size = 640 if task == "detect" else 224
            result["figures"][(task, scale)] = {  # type: ignore[index]
                "params": sum(p.numel() for p in model.parameters()),
                "gflops": get_flops(model, imgsz=size),
            }
            if any(o[:2] == (task, scale) for o in OUTPUTS):
                size = next(o[2] for o in OUTPUTS if o[:2] == (task, scale))
                randomise(model)
                model.eval()
                x = torch.randn(2, 3, size, size)
                result["outputs"][(task, scale)] = {  # type: ignore[index]
                    "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
                    "input": x,
                    "outputs": outputs(task, model, x),
                }
    torch.save(result, target)


if __name__ == "__main__":
    main(sys.argv[1])
