"""The values of options: argparse types (``--depth``, ``--batch``, ``--max-memory``,
``--seed``), ``--set NAME=VALUE`` and ``--input C,H,W``."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from typing import Any

from ..errors import NetspecError, clip
from ..source import parse_value
from .usage import Misuse

_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(value)


def _natural(text: str) -> int:
    """An argparse type: a whole number from 0 to 2^63 - 1 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to 2^63 - 1, got {text!r}"
        )
    return value


def _positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = _number(text, float)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _gigabytes(text: str) -> float:
    """An argparse type: a memory limit in GB, above 0 and at most 10^9 (an exabyte)."""
    value = _positive_float(text)
    if value > 1e9:
        raise argparse.ArgumentTypeError(f"expected at most 1e9 GB, got {text!r}")
    return value


def _batch(text: str) -> int:
    """An argparse type: a batch size, from 1 to 2^31 - 1 (what torch indexes a dimension by)."""
    value = _positive(text)
    if value > 2**31 - 1:
        raise argparse.ArgumentTypeError(f"expected at most {2**31 - 1:,}, got {text!r}")
    return value


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        return 0


def parse_sets(items: Sequence[str], option: str = "--set") -> dict[str, Any]:
    """``["num_classes=100", "dropout=0.2"]`` → ``{"num_classes": 100, "dropout": 0.2}``;
    ``option`` is how messages name the option (``--b-set``)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        said = f"{option} {clip(item, 60)!r}"
        if not sep or not name.strip():
            raise Misuse(f"{said}: expected NAME=VALUE, e.g. {option} num_classes=100")
        try:
            value = parse_value(text, option) if text.strip() else ""
        except NetspecError as e:
            why = e.diagnostics[0].message
            raise Misuse(f"{said}: the value is not plain YAML data ({why})") from e
        if not isinstance(value, (int, float, str, bool, list)):
            raise Misuse(f"{said}: the value must be a number, true/false, text or a list")
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-5 (no dot) as text
        out[name.strip()] = value
    return out


def _input_shape(text: str) -> list[int]:
    try:
        shape = [int(size) for size in text.split(",")]
    except ValueError:
        shape = []
    if not shape or min(shape) < 1:
        raise Misuse(f"--input {text!r}: expected sizes such as 3,224,224")
    return shape
