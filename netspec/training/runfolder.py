"""A run's folder: what a training run writes, each file atomically, and reads to resume.

::

    RUN/
      spec.yaml        the spec's text as it was trained (run.json has its scale and params)
      recipe.yaml      the recipe, every value written out (reusable: --recipe RUN/recipe.yaml)
      run.json         what the run is: spec, data, recipe, versions (netspec-run/1)
      metrics.csv      one row an epoch (see netspec.training.metrics)
      metrics.json     the same, with the run's summary
      curves.png/.svg  loss and accuracy by epoch
      last.pt          the state after the last finished epoch
      best.pt          the state after the epoch of the best validation top-1

``last.pt`` and ``best.pt`` are netspec checkpoints (:func:`netspec.checkpoints.checkpoint_dict`)
holding the model's ``state_dict`` and, beside it, ``epoch`` (finished), ``optimizer``,
``schedule`` (``{"step": ..., "lr": ...}``), ``rng`` (torch's generators), ``metrics`` (the
rows so far), ``recipe`` and ``spec_hash``: tensors, numbers, strings, lists and dicts only, so
that ``torch.load(weights_only=True)`` and :func:`netspec.checkpoints.read_checkpoint` read
them. They are written only at an epoch's end: a run killed mid-epoch resumes at the start of
that epoch.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from ..errors import NetspecError
from ..files import write_atomic, write_bytes_atomic
from ..spec import Spec
from .recipe import Recipe

RUN_FORMAT = "netspec-run/1"
#: what run.json says of the spec, and the type of each
_SPEC_KEYS = {"name": str, "file": str, "scale": str, "params": dict, "hash": str}


def spec_hash(spec: Spec) -> str:
    """The identity of a spec as trained: its text, scale and param values (sha256, hex)."""
    about = {"text": spec.document.text, "scale": spec.scale, "params": spec.overrides}
    raw = json.dumps(about, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run (``path``), as messages show it (``shown``)."""

    path: Path
    shown: str

    @classmethod
    def check_new(cls, path: str | os.PathLike[str]) -> RunFolder:
        """The folder for a new run, unmade: refused if it is a file or a folder that holds
        anything, so that no earlier run is overwritten."""
        folder = cls(Path(path), os.fspath(path))
        if folder.path.exists() and not folder.path.is_dir():
            raise NetspecError.plain(folder.shown, "is a file, not a folder for a run")
        if folder.path.is_dir() and any(folder.path.iterdir()):
            raise NetspecError.plain(
                folder.shown,
                "the run folder is not empty (an earlier run?)",
                "choose another folder with -o, or continue that run with --resume",
            )
        return folder

    @classmethod
    def new(cls, path: str | os.PathLike[str]) -> RunFolder:
        """A folder for a new run (see :meth:`check_new`), made with its parents if missing."""
        folder = cls.check_new(path)
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NetspecError.plain(folder.shown, f"cannot make the folder: {e.strerror}") from e
        return folder

    @classmethod
    def existing(cls, path: str | os.PathLike[str]) -> RunFolder:
        """The folder of an earlier run, to resume: it must hold its ``run.json``."""
        folder = cls(Path(path), os.fspath(path))
        if not (folder.path / "run.json").is_file():
            raise NetspecError.plain(
                folder.shown,
                "is not a run folder (it has no run.json)",
                "name the folder netspec train wrote (its -o)",
            )
        return folder

    def write_text(self, name: str, text: str) -> None:
        write_bytes_atomic(self.path / name, text.encode("utf-8"))

    def save(self, name: str, checkpoint: dict[str, Any]) -> None:
        """Write a checkpoint so that it appears whole or not at all."""
        write_atomic(self.path / name, lambda tmp: torch.save(checkpoint, tmp))

    def about(self) -> dict[str, Any]:
        """The run's ``run.json``."""
        shown = os.path.join(self.shown, "run.json")
        try:
            about = json.loads((self.path / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise NetspecError.plain(shown, f"cannot read the run's description: {e}") from e
        if not isinstance(about, dict) or about.get("format") != RUN_FORMAT:
            raise NetspecError.plain(
                shown, f"is not a {RUN_FORMAT} file", "a later netspec may have written it"
            )
        spec, data = about.get("spec"), about.get("data")
        if not (
            isinstance(spec, dict)
            and all(isinstance(spec.get(k), t) for k, t in _SPEC_KEYS.items())
            and isinstance(data, dict)
            and isinstance(data.get("source"), str)
            and isinstance(about.get("recipe"), dict)
        ):
            raise NetspecError.plain(shown, "is damaged: it lacks the spec, data or recipe")
        return about

    def recipe(self) -> Recipe:
        """The recipe the run was started with (its ``run.json``'s, every value written)."""
        try:
            return Recipe.model_validate(self.about()["recipe"])
        except ValidationError as e:
            shown = os.path.join(self.shown, "run.json")
            raise NetspecError.plain(shown, f"is damaged: its recipe is not valid ({e})") from e

    def last(self) -> dict[str, Any] | None:
        """The state in ``last.pt``, or None before the first epoch ended."""
        path = self.path / "last.pt"
        if not path.exists():
            return None
        shown = os.path.join(self.shown, "last.pt")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:  # torch's restricted unpickler met something else
            raise NetspecError.plain(
                shown, "cannot read the checkpoint: it is damaged, or not one netspec wrote"
            ) from e
        except (OSError, RuntimeError, ValueError, EOFError) as e:
            # torch.load's ways of refusing a damaged file (the unpickler raises RuntimeError)
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise NetspecError.plain(shown, f"cannot read the checkpoint: {reason}") from e
        if not isinstance(state, dict) or "optimizer" not in state or "epoch" not in state:
            raise NetspecError.plain(shown, "is not a checkpoint netspec train wrote")
        return state
