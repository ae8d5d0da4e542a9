"""A training recipe: how a spec is trained, read from a YAML file like a spec is.

A recipe file holds any of the keys of :class:`Recipe` (each has a default; the file names
only what it changes); command-line values override the file's. Its mistakes are reported as a
spec's are, at their line and column, with a hint::

    recipe.yaml:3:10: error: "optimizer": expected one of 'sgd' or 'adamw', got 'adam' (string)
    hint: optimizer: sgd (with momentum) or adamw

Nothing here imports torch: a recipe is checked before anything is built.

Example::

    recipe = load_recipe("recipe.yaml", {"epochs": 3})     # the file, then --epochs 3
    recipe.lr_value, recipe.epochs                          # 0.1, 3
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Diagnostic, NetspecError
from ..files import open_data, shorten
from ..source import Document, a_type, parse_source, parse_value
from ..validation import WHOLE_HINT, validation_diagnostics

#: A recipe file is small; anything larger is refused before it is read.
MAX_RECIPE_BYTES = 1024 * 1024

#: Where the values given on the command line are said to come from, in messages.
COMMAND_LINE = "command line"

#: The default recipe as a commented file (``netspec train`` writes the resolved one to a run).
TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "recipe.yaml"


class Optimizer(str, enum.Enum):
    """The optimizers a recipe can name."""

    SGD = "sgd"
    ADAMW = "adamw"


class Schedule(str, enum.Enum):
    """How the learning rate changes over the run (after any warm-up)."""

    COSINE = "cosine"
    STEP = "step"
    NONE = "none"


class Amp(str, enum.Enum):
    """Mixed precision: none, or bfloat16 autocast (CPU and GPU; no loss scaling needed)."""

    NONE = "none"
    BF16 = "bf16"


class Resize(str, enum.Enum):
    """The interpolation that fits images to the spec's input size (torch's modes)."""

    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    NEAREST = "nearest"
    AREA = "area"


#: The defaults that depend on the optimizer: torchvision's classification reference recipe
#: for SGD (lr 0.1, weight decay 1e-4), torch's own defaults for AdamW (lr 1e-3, 1e-2).
OPTIMIZER_DEFAULTS = {
    Optimizer.SGD: {"lr": 0.1, "weight_decay": 1e-4},
    Optimizer.ADAMW: {"lr": 1e-3, "weight_decay": 1e-2},
}

Fraction = Annotated[float, Field(ge=0, lt=1)]


class Recipe(BaseModel):
    """How to train: every key of a recipe file, with the default a user expects.

    The defaults come from torchvision's classification reference recipe (SGD, momentum 0.9,
    weight decay 1e-4, warm-up from 1 % of the rate, step decay ×0.1 every third of the run,
    label smoothing and cosine as options), torch's defaults for AdamW, and a batch of 64 and
    10 epochs, which suit the small data sets netspec ships for its demos.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    epochs: int = Field(10, ge=1, description="how many passes over the training data")
    batch: int = Field(64, ge=1, description="images per training step (over all processes)")
    optimizer: Optimizer = Field(Optimizer.SGD, description="sgd (with momentum) or adamw")
    lr: float | None = Field(
        None, gt=0, description="the peak learning rate; default 0.1 for sgd, 0.001 for adamw"
    )
    momentum: Fraction = Field(0.9, description="sgd's momentum, from 0 to below 1")
    nesterov: bool = Field(False, description="sgd with Nesterov momentum: true or false")
    betas: Annotated[list[Fraction], Field(min_length=2, max_length=2)] = Field(
        [0.9, 0.999], description="adamw's two averaging rates, e.g. [0.9, 0.999]"
    )
    weight_decay: float | None = Field(
        None, ge=0, description="L2 decay of the weights; default 1e-4 for sgd, 0.01 for adamw"
    )
    schedule: Schedule = Field(Schedule.COSINE, description="cosine, step or none")
    warmup_epochs: float = Field(
        0, ge=0, description="epochs of linear warm-up from warmup_start × lr (0 for none)"
    )
    warmup_start: float = Field(
        0.01, gt=0, le=1, description="the warm-up's first rate, as a fraction of lr"
    )
    min_lr: float = Field(0.0, ge=0, description="the cosine schedule's last learning rate")
    step_epochs: int | None = Field(
        None, ge=1, description="the step schedule's period; default a third of the epochs"
    )
    step_gamma: float = Field(0.1, gt=0, le=1, description="the step schedule's factor")
    label_smoothing: Fraction = Field(0.0, description="cross-entropy's smoothing, 0 to below 1")
    seed: int = Field(0, ge=0, description="seeds the weights, the split and the batch order")
    amp: Amp = Field(Amp.NONE, description="none, or bf16 (bfloat16 autocast)")
    num_workers: int = Field(0, ge=0, le=64, description="data loader processes (0: the main)")
    val_split: float = Field(
        0.1, gt=0, lt=1, description="the share of the training data held out for validation"
    )
    top_k: int = Field(5, ge=1, description="validation reports top-1 and top-k accuracy")
    resize: Resize = Field(
        Resize.BILINEAR, description="how images are resized: bilinear, bicubic, nearest, area"
    )
    normalize: bool = Field(
        True, description="scale each channel to mean 0, std 1 (the training split's)"
    )
    limit_batches: int | None = Field(
        None,
        ge=1,
        description="at most this many batches an epoch, training and validation (smoke runs)",
    )

    @property
    def lr_value(self) -> float:
        """The learning rate in effect (the optimizer's default where none is given)."""
        return self.lr if self.lr is not None else OPTIMIZER_DEFAULTS[self.optimizer]["lr"]

    @property
    def weight_decay_value(self) -> float:
        given = self.weight_decay
        return given if given is not None else OPTIMIZER_DEFAULTS[self.optimizer]["weight_decay"]

    @property
    def step_epochs_value(self) -> int:
        return self.step_epochs if self.step_epochs is not None else max(1, self.epochs // 3)

    def resolved(self) -> Recipe:
        """The same recipe with every default that depends on another key written out."""
        update: dict[str, Any] = {"lr": self.lr_value, "weight_decay": self.weight_decay_value}
        if self.schedule is Schedule.STEP:
            update["step_epochs"] = self.step_epochs_value
        return self.model_copy(update=update)

    def plain(self) -> dict[str, Any]:
        """Plain data (for YAML, JSON and checkpoints): enums as their words."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data

    def text(self) -> str:
        """The recipe as a YAML file that :func:`load_recipe` reads back to the same recipe."""
        head = "# the recipe of this run, every value written out (netspec train --recipe)\n"
        return head + yaml.safe_dump(self.plain(), sort_keys=False, default_flow_style=None)


#: Keys that only one optimizer or schedule reads: naming them for another is a mistake.
_BELONGS: dict[str, tuple[str, Optimizer | Schedule]] = {
    "momentum": ("optimizer", Optimizer.SGD),
    "nesterov": ("optimizer", Optimizer.SGD),
    "betas": ("optimizer", Optimizer.ADAMW),
    "min_lr": ("schedule", Schedule.COSINE),
    "step_epochs": ("schedule", Schedule.STEP),
    "step_gamma": ("schedule", Schedule.STEP),
}


def load_recipe(
    path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Recipe:
    """The recipe in the file at ``path`` (the defaults where ``None``), with ``overrides``
    (the command line's values, by key) in place of the file's.

    Raises :class:`~netspec.NetspecError`, each mistake at its line and column (a value from
    the command line is said to come from it).
    """
    doc = None if path is None else read_recipe(path)
    return recipe_of(doc, overrides or {})


def parse_recipe(
    text: str, file: str = "<recipe>", overrides: Mapping[str, Any] | None = None
) -> Recipe:
    """Like :func:`load_recipe`, from the text of a recipe file.

    >>> parse_recipe("epochs: 3\\noptimizer: adamw").lr_value
    0.001
    """
    return recipe_of(_document(text.encode("utf-8"), file), overrides or {})


def read_recipe(path: str | os.PathLike[str]) -> Document:
    """The parsed recipe file at ``path``: a regular file of at most :data:`MAX_RECIPE_BYTES`."""
    shown = shorten(os.fspath(path))
    error = functools.partial(_file_error, shown)
    with open_data(path, error, "a recipe file", "name a .yaml recipe file") as file:
        raw = file.read(MAX_RECIPE_BYTES + 1)
    if len(raw) > MAX_RECIPE_BYTES:
        raise _file_error(
            shown, f"file is larger than {MAX_RECIPE_BYTES:,} bytes", "a recipe is a few lines"
        )
    return _document(raw, shown)


def _file_error(shown: str, message: str, hint: str = "") -> NetspecError:
    return NetspecError.plain(shown, message, hint)


_EMPTY_HINT = "write the keys to change, e.g. `epochs: 20`; leave the recipe out for the defaults"


def _document(raw: bytes, file: str) -> Document:
    """The recipe's YAML, refused (as a spec would be) unless it is a mapping of plain data."""
    try:
        data = parse_value(raw.decode("utf-8-sig"), file)  # its YAML errors, at their place
    except UnicodeDecodeError:
        data = {}  # parse_source says where the text stops being UTF-8
    if data is None:
        raise NetspecError.plain(file, "the recipe file is empty", _EMPTY_HINT)
    if not isinstance(data, dict):
        raise NetspecError.plain(
            file,
            f"a recipe must be a mapping of keys, got {a_type(data)}",
            "write one key per line, e.g. `epochs: 20`",
        )
    return parse_source(raw, file)


def recipe_of(doc: Document | None, overrides: Mapping[str, Any]) -> Recipe:
    """The recipe of a parsed file (or none) with ``overrides``; every mistake raised at once."""
    written: dict[str, Any] = dict(doc.data) if doc is not None else {}
    errors: list[Diagnostic] = []
    if doc is not None:
        errors += _invalid(doc, written)
    line = Document(file=COMMAND_LINE, text="", data=dict(overrides))
    errors += _invalid(line, dict(overrides))
    if errors:
        raise NetspecError(errors)
    recipe = Recipe.model_validate({**written, **overrides})
    problems = _conflicts(recipe, set(written) | set(overrides))
    if problems:
        raise NetspecError(
            [
                (line if key in overrides or doc is None else doc).diagnostic(
                    (key,), message, hint, key=True
                )
                for key, message, hint in problems
            ]
        )
    return recipe


def _invalid(doc: Document, data: dict[str, Any]) -> list[Diagnostic]:
    try:
        Recipe.model_validate(data)
    except ValidationError as e:
        found = validation_diagnostics(e, doc, (), Recipe)
        return [_reworded(d) for d in found]
    return []


def _reworded(found: Diagnostic) -> Diagnostic:
    """A spec's wording made a recipe's: its hint for a fractional size speaks of expressions,
    which a recipe has none of; pydantic's words for an upper bound become netspec's."""
    hint = "write a whole number" if found.hint == WHOLE_HINT else found.hint
    message = found.message.replace(": input should be less than ", ": must be less than ")
    return replace(found, hint=hint, message=message)


def _conflicts(recipe: Recipe, given: set[str]) -> list[tuple[str, str, str]]:
    """Keys that contradict the rest of the recipe: (key, message, hint) for each. A key of
    another optimizer or schedule may be written at its default (the template lists them all)."""
    out: list[tuple[str, str, str]] = []
    for key in sorted(given & set(_BELONGS)):
        which, needed = _BELONGS[key]
        chosen = getattr(recipe, which)
        default = Recipe.model_fields[key].default
        if chosen is not needed and getattr(recipe, key) != default:
            out.append(
                (
                    key,
                    f'"{key}" applies to {which} {needed.value}, not {chosen.value}',
                    f"remove it, or set {which}: {needed.value}",
                )
            )
    if "nesterov" in given and recipe.nesterov and recipe.momentum == 0:
        out.append(("nesterov", "Nesterov momentum needs a momentum above 0", "set momentum: 0.9"))
    if "warmup_epochs" in given and recipe.warmup_epochs > recipe.epochs:
        out.append(
            (
                "warmup_epochs",
                f"the warm-up ({recipe.warmup_epochs:g} epochs) is longer than the run "
                f"({recipe.epochs} epochs)",
                "shorten the warm-up, or train for more epochs",
            )
        )
    return out
