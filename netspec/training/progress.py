"""What a run shows while it trains: the interface the loop reports to, and its text form.

The loop calls a :class:`Progress`; it never prints. :class:`Silent` shows nothing (the
default of the API); :class:`TextProgress` writes to the stream the command line gives it: on
a terminal, one line redrawn in place (a bar, the loss, images/s) at most every
:data:`REDRAW` seconds; elsewhere (a log file, CI), plain lines at each quarter of an epoch
and one line an epoch, so that a log stays short and reads in order::

    epoch 1/3  step 7/26  loss 2.2846  1,043 img/s
    epoch 1/3  loss 2.1029  val_loss 1.9876  val_top1 41.7 %  val_top5 88.9 %  1,012 img/s  1.7 s
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

#: Seconds between two redraws of a terminal's line.
REDRAW = 0.2
#: The width of a terminal's bar, in characters.
BAR = 24


class Progress(Protocol):
    """What the training loop tells as it goes."""

    def note(self, text: str) -> None:
        """A line to show once (the data, the transform, a resumed run)."""

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        """An epoch (from 1) of ``epochs`` begins, of ``steps`` training steps."""

    def step(
        self, step: int, steps: int, images: int, seconds: float, loss: Callable[[], float]
    ) -> None:
        """A training step is done: ``images`` trained in ``seconds`` so far this epoch;
        ``loss()`` is the epoch's running mean loss (reading it waits for the device)."""

    def end_epoch(self, row: dict[str, Any]) -> None:
        """An epoch is done; ``row`` holds its metrics (see :mod:`.metrics`)."""


class Silent:
    """A :class:`Progress` that shows nothing."""

    def note(self, text: str) -> None:
        pass

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def step(
        self, step: int, steps: int, images: int, seconds: float, loss: Callable[[], float]
    ) -> None:
        pass

    def end_epoch(self, row: dict[str, Any]) -> None:
        pass


class TextProgress:
    """A :class:`Progress` written to ``stream``: redrawn in place on a terminal (``tty``:
    the stream's ``isatty()`` unless given), else as plain lines."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.epoch = 0
        self.epochs = 0
        self.drawn = 0.0
        self.quarters: set[int] = set()

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        self.epoch, self.epochs = epoch, epochs
        self.drawn = 0.0
        self.quarters = {max(1, steps * q // 4) for q in (1, 2, 3)}

    def step(
        self, step: int, steps: int, images: int, seconds: float, loss: Callable[[], float]
    ) -> None:
        rate = images / seconds if seconds > 0 else 0.0
        head = f"epoch {self.epoch}/{self.epochs}"
        if not self.tty:
            if step in self.quarters and step < steps:
                self.note(f"{head}  step {step}/{steps}  loss {loss():.4f}  {rate:,.0f} img/s")
            return
        now = time.monotonic()
        if now - self.drawn < REDRAW and step < steps:
            return
        self.drawn = now
        filled = BAR * step // max(steps, 1)
        bar = "█" * filled + "·" * (BAR - filled)
        line = f"{head} {bar} {step}/{steps}  loss {loss():.4f}  {rate:,.0f} img/s"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()

    def end_epoch(self, row: dict[str, Any]) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.note(epoch_line(row, self.epochs))


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    """One epoch's metrics in a line (accuracies in per cent)."""
    parts = [f"epoch {row['epoch']}/{epochs}", f"loss {row['train_loss']:.4f}"]
    parts.append(f"val_loss {row['val_loss']:.4f}")
    for key, value in row.items():
        if key.startswith("val_top"):
            parts.append(f"{key} {100 * value:.1f} %")
    parts.append(f"{row['images_per_s']:,.0f} img/s")
    parts.append(f"{row['seconds']:.1f} s")
    return "  ".join(parts)
