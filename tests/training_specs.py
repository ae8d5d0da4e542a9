"""What the training tests share: the small spec they train on digits, an 8×8 classifier, the
size of digits' images (nothing to resize, seconds a run), with neither batchnorm (its
statistics would be each process's half batch) nor dropout (each process draws its own
masks), so that two processes train it as one does; and the files of a run folder."""

from __future__ import annotations

SMALL = """\
name: small
input: [1, 8, 8]
output: ["${num_classes}"]
params: {num_classes: 10}
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - relu
  - pool: {mode: max, kernel: 2}
  - flatten
  - linear: ${num_classes}
"""

#: what a finished run's folder holds, sorted
RUN_FILES = [
    "best.pt",
    "curves.png",
    "curves.svg",
    "last.pt",
    "metrics.csv",
    "metrics.json",
    "recipe.yaml",
    "run.json",
    "spec.yaml",
]
