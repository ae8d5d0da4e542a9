"""Ultralytics' own models for the whole suite, in one process of its own (conftest's
``ultralytics_made``, once a session): importing torch and Ultralytics takes 3 s of CPU, once
here rather than once for each of the three scripts it runs.

Into the folder named by its argument it writes what each script writes: ``ultralytics_peer.pt``
(tests/ultralytics_peer.py: the YOLOv8 models), ``ultralytics11_peer.pt``
(tests/ultralytics11_peer.py: YOLO11) and the folder ``checkpoints``
(tests/ultralytics_checkpoints.py: YOLOv8n's checkpoints as Ultralytics saves them). Each
script seeds torch itself, so what it writes does not depend on the one run before it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ultralytics11_peer
import ultralytics_checkpoints
import ultralytics_peer


def main(folder: Path) -> None:
    ultralytics_peer.main(str(folder / "ultralytics_peer.pt"))
    ultralytics11_peer.main(str(folder / "ultralytics11_peer.pt"))
    (folder / "checkpoints").mkdir()
    ultralytics_checkpoints.main(folder / "checkpoints")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
