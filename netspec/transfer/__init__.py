"""Loading a checkpoint into a network built from a spec, by name and shape, and a report by
name of what did not load (issue 22).

:func:`load_weights` (and :func:`init_from`, from a file read by
:func:`netspec.checkpoints.read_checkpoint`) loads; :func:`plan_transfer` finds what would load
without torch; :func:`format_transfer` and :func:`transfer_json` show a
:class:`TransferReport`. Renames: :mod:`netspec.renaming`.

Example::

    import netspec
    from netspec.transfer import format_transfer, init_from
    spec = netspec.load("ultralytics/yolov8", scale="n")
    model = spec.build()
    print(format_transfer(init_from(model, spec, "yolov8n.pt", ["model.22.dfl="])), end="")
"""

from .load import MAX_NAMED, init_from, load_weights, plan_transfer, strict_error
from .model import Fate, Group, KeyFate, TransferReport
from .text import format_transfer, transfer_json

__all__ = [
    "MAX_NAMED",
    "Fate",
    "Group",
    "KeyFate",
    "TransferReport",
    "format_transfer",
    "init_from",
    "load_weights",
    "plan_transfer",
    "strict_error",
    "transfer_json",
]
