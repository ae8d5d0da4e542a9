"""Loading a checkpoint into a network built from a spec: every key that matches by name and
shape, and a report, by name, of the rest.

:func:`load_weights` loads into a built module what :func:`plan_transfer` finds (without
torch): each key of the module's ``state_dict`` gets the checkpoint's tensor of that name (after
``--rename`` rules, :mod:`netspec.renaming`) where the shapes agree, converted to the module's
dtype (Ultralytics saves float16). The :class:`TransferReport` says what happened to every key:

- **loaded**: the spec's key got the checkpoint's tensor (``source`` names it where renamed);
- **missing**: the spec's key, with nothing in the checkpoint for it: left as built;
- **reshaped** (shape-changed): in both, of other shapes (old → new): left as built;
- **unexpected**: the checkpoint's key, with no key of the spec for it;
- **dropped**: the checkpoint's key, dropped by a rename to nothing (``model.22.dfl=``).

Each key is placed at the spec's layer that holds it (or the nearest that holds its name),
``file:line:col``; :meth:`TransferReport.groups` gathers the keys of one fate under the widest
name that holds no other (``model.16.*: 6 keys missing``), so a report of 400 keys stays short.
Renames are suggested where keys are missing and the checkpoint's keys of the same shapes sit
under a shifted index (:func:`netspec.renaming.suggest_renames`); for a netspec checkpoint, a
caller may pass those of the diff of its spec and this one instead
(:func:`netspec.transfer.saved.diff_renames`).

The data is in :mod:`netspec.transfer.model`, its text and JSON in :mod:`netspec.transfer.text`.

Example::

    model = spec.build()
    report = load_weights(model, spec, read_checkpoint("yolov8n.pt"), renames=["model.22.dfl="])
    report.count(Fate.LOADED), report.complete
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..diff.model import Rename, apply_renames
from ..errors import Diagnostic, NetspecError
from ..renaming import RenameRule, map_keys, parse_rename, suggest_renames
from .model import Dims, Fate, KeyFate, Places, SpecLike, TransferReport
from .text import group_line, rename_flags

if TYPE_CHECKING:
    import os

    import torch
    from torch import nn

    from ..checkpoints import Checkpoint

#: at most this many groups of keys are named in a strict load's error
MAX_NAMED = 20


def plan_transfer(
    spec: SpecLike,
    have: Mapping[str, Dims],
    given: Mapping[str, Dims],
    renames: Sequence[RenameRule] = (),
    *,
    checkpoint: str = "<checkpoint>",
    described: str = "",
) -> TransferReport:
    """What loading a checkpoint of the keys and shapes ``given`` into a module of ``have``
    (its ``state_dict``'s, in order) built from ``spec`` does, without torch.

    Example::

        report = plan_transfer(spec, {"0.weight": (6, 1, 5, 5)}, {"0.weight": (6, 1, 5, 5)})
    """
    mapped = map_keys(given, renames)
    places = Places(spec)
    keys: list[KeyFate] = []
    used: set[str] = set()
    for key, shape in have.items():
        source = mapped.sources.get(key)
        old = given[source] if source is not None else None
        fate = Fate.MISSING if old is None else Fate.LOADED if old == shape else Fate.RESHAPED
        if source is not None:
            used.add(source)
        renamed = source if source != key else None
        keys.append(KeyFate(key, fate, renamed, old, shape, *places.of(key)))
    for source, shape in given.items():
        if source in used:
            continue
        new = mapped.moved.get(source, source)
        fate = Fate.DROPPED if source in mapped.dropped else Fate.UNEXPECTED
        name = new or source
        keys.append(
            KeyFate(name, fate, source if name != source else None, shape, None, *places.of(name))
        )
    return TransferReport(
        checkpoint,
        described,
        spec.file,
        spec.title,
        tuple(keys),
        tuple(renames),
        places=places,
    )


def load_weights(
    module: nn.Module,
    spec: SpecLike,
    state_dict: Checkpoint | Mapping[str, torch.Tensor],
    renames: Iterable[str | RenameRule] = (),
    strict: bool = False,
    suggestions: Sequence[Rename] | None = None,
) -> TransferReport:
    """Load into ``module`` (built from ``spec``) every tensor of ``state_dict`` (a
    :class:`~netspec.checkpoints.Checkpoint`, or a mapping of key to tensor) that matches a
    key by name, after ``renames`` (``"model.16=model.17"``, see :mod:`netspec.renaming`), and
    by shape; report the rest. ``strict``: load nothing and raise a
    :class:`~netspec.errors.NetspecError` naming what would not load, unless everything would.
    ``suggestions``: the renames to suggest, where the caller knows them (the diff of the
    spec a netspec checkpoint was made from, :func:`netspec.transfer.saved.diff_renames`);
    by default they are found from the keys and shapes.

    Example::

        report = load_weights(model, spec, torch.load("w.pt", weights_only=True))
        print(format_transfer(report))
    """
    from ..checkpoints import Checkpoint

    rules = tuple(r if isinstance(r, RenameRule) else parse_rename(r) for r in renames)
    if isinstance(state_dict, Checkpoint):
        tensors, shown, described = state_dict.tensors, state_dict.file, state_dict.describe()
    else:
        tensors, shown, described = dict(state_dict), "<state_dict>", "a state_dict"
    targets = module.state_dict()
    have = {k: tuple(v.shape) for k, v in targets.items()}
    given = {k: tuple(v.shape) for k, v in tensors.items()}
    report = plan_transfer(spec, have, given, rules, checkpoint=shown, described=described)
    if suggestions is None:
        suggestions = _suggestions(report, given, have, rules)
    if strict and not report.complete:
        raise strict_error(report, suggestions)
    picked: dict[str, torch.Tensor] = {}
    converted: Counter[tuple[str, str]] = Counter()
    for k in report.keys:
        if k.fate is Fate.LOADED:
            tensor, target = tensors[k.source or k.key], targets[k.key]
            if tensor.dtype != target.dtype:  # load_state_dict's copy_ converts it
                converted[(_dtype(tensor), _dtype(target))] += 1
            picked[k.key] = tensor
    module.load_state_dict(picked, strict=False)
    return TransferReport(
        report.checkpoint,
        report.described,
        report.spec_file,
        report.spec_title,
        report.keys,
        rules,
        tuple(suggestions),
        tuple((a, b, n) for (a, b), n in sorted(converted.items())),
        report.places,
    )


def init_from(
    module: nn.Module,
    spec: SpecLike,
    path: str | os.PathLike[str],
    renames: Iterable[str | RenameRule] = (),
    strict: bool = False,
) -> TransferReport:
    """:func:`load_weights` from the checkpoint file at ``path``, read as data
    (:func:`netspec.checkpoints.read_checkpoint`): what ``spec.build(init_from=path)`` and
    ``netspec build --init-from`` do."""
    from ..checkpoints import read_checkpoint

    return load_weights(module, spec, read_checkpoint(path), renames, strict)


def strict_error(report: TransferReport, suggestions: Sequence[Rename] = ()) -> NetspecError:
    """The error of a strict load that would leave keys out: a diagnostic at the layer of
    each group (at most :data:`MAX_NAMED`), then one for the whole."""
    out: list[Diagnostic] = []
    bad = [g for g in report.groups() if g.fate not in (Fate.LOADED, Fate.DROPPED)]
    for g in bad[:MAX_NAMED]:
        message = group_line(g)
        c = report.layers.get(g.layer)
        if c is None:
            out.append(Diagnostic(report.spec_file, message))
        else:
            doc, at = c.node.site or (c.node.doc, c.node.path)
            out.append(doc.diagnostic(at, message, key=True))
    loaded = report.count(Fate.LOADED)
    hint = "load without strict to keep what loads"
    if suggestions:
        hint += f", or rename what moved: {rename_flags(suggestions)}"
    total = Diagnostic(
        report.spec_file,
        f"strict: {loaded:,} of {report.spec_keys:,} keys would load from "
        f"{report.checkpoint}; nothing was loaded"
        + (f" ({len(bad) - MAX_NAMED} more groups not shown)" if len(bad) > MAX_NAMED else ""),
        hint,
    )
    return NetspecError([*out, total])


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _suggestions(
    report: TransferReport,
    given: Mapping[str, Dims],
    have: Mapping[str, Dims],
    rules: Sequence[RenameRule],
) -> tuple[Rename, ...]:
    """Renames that would carry keys the load leaves out, from the keys and shapes (after
    the rules): those that load more keys than the rules alone."""
    if report.complete:
        return ()
    mapped = map_keys(given, rules)
    renamed = {new: given[old] for new, old in mapped.sources.items()}
    found = suggest_renames(renamed, have)
    # from the keys alone, two layers of one shape are either's: keep renames that load more
    table = [(r.old, r.new) for r in found]
    now = sum(have.get(k) == shape for k, shape in renamed.items())
    moved = sum(have.get(new) == renamed[old] for new, old in apply_renames(renamed, table).items())
    return found if moved > now else ()
