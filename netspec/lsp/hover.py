"""Hover: what netspec knows about the word under the cursor, as Markdown (every word a spec
or a plugin wrote escaped by :mod:`netspec.lsp.markdown`: none becomes markup).

- a layer (its kind, a block call, or any of its options): its submodule path
  (``stage2.0.body.conv1``), output shape, parameters and MACs, once per use of a block;
- a block call: the block's description and arguments, and the file that defines it;
- a kind: its summary and options;
- a param (in ``params:`` or in ``${...}``): its value; a block's argument: its default.

In a file with errors, a layer shows its shapes where no error reaches it: the layers checked
before the first shape error at once, and those beside it (another branch, a layer reading
an earlier tensor) once the server's second check is done (:mod:`netspec.lsp.recovery`).

Where the file is in a git repository, a layer also shows its change since the file's last
commit (:mod:`netspec.lsp.history`): added, its changed options and output shape, or where it
moved from; the layers removed inside it; and its ``state_dict`` keys that would not carry
over from the commit's weights.

Example::

    hover(analysis, text, "net.yaml", types.Position(line=12, character=8))
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from ..registry import get_kind
from ..source import show
from ..train_memory_text import binary
from .analysis import Analysis, Block, Layer
from .history import History
from .lookup import Cursor, block_of, cursor_at, layers_at, names_layer
from .markdown import code, text
from .options import kind_options
from .positions import Text

#: Uses of one layer shown in a hover; a block used 50 times says "and 46 more".
MAX_USES = 4
#: Keys, and removed layers, listed under a layer's change; the rest are counted.
MAX_LISTED = 5


def hover(
    analysis: Analysis,
    text: Text,
    file: str,
    position: types.Position,
    history: History | None = None,
) -> types.Hover | None:
    """What the hover at ``position`` shows; ``history``: the document's changes since its
    file's last commit, for its layers."""
    cursor = cursor_at(analysis, text, position)
    if cursor.hit is None:
        return None
    parts = [p for p in (_name(analysis, cursor), _layers(analysis, cursor, history)) if p]
    if not parts:
        return None
    at = text.range((cursor.line, cursor.start, cursor.line, cursor.end))
    content = types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts))
    return types.Hover(contents=content, range=at)


def _name(analysis: Analysis, cursor: Cursor) -> str:
    """What the word itself names: a param, an argument, a block or a kind."""
    word, path = cursor.word, cursor.path
    if not word:
        return ""
    if cursor.in_expression or (path == ("params", word) and cursor.hit and cursor.hit.on_key):
        block = analysis.blocks.get(block_of(path) or "")
        if block is not None and word in block.args and block.file == analysis.file:
            return f"{code(word)}: argument of block {code(block.name)}, {_arg(block.args[word])}"
        if word in analysis.params:
            return f"{code(word)} = {code(show(analysis.params[word]))} (param)"
        return ""
    if not names_layer(cursor):
        return ""
    block = analysis.blocks.get(word)
    if block is not None:
        return block_text(block)
    kind = get_kind(word)
    if kind is None:
        return ""
    options = "\n".join(f"- {code(o.line())}" for o in kind_options(kind))
    return f"**{text(kind.name)}** (kind): {text(kind.summary)}\n\n{options}"


def block_text(block: Block) -> str:
    """A block's description and arguments, in Markdown (the spec's words escaped)."""
    where = f" from {code(block.origin)}" if block.origin else ""
    lines = [f"**{text(block.name)}** (block{where})"]
    if block.description:
        lines.append(text(block.description))
    if block.args:
        lines.append("\n".join(f"- {code(str(n))}: {_arg(v)}" for n, v in block.args.items()))
    return "\n\n".join(lines)


def _arg(default: Any) -> str:
    """A block argument as ``args:`` writes it: a type word is required, else a default."""
    if default in ("int", "float", "bool", "str", "list", "number"):
        return f"required {default}"
    return f"default {code(show(default))}"


def _layers(analysis: Analysis, cursor: Cursor, history: History | None) -> str:
    if cursor.in_expression:
        return ""
    found = layers_at(analysis, cursor.path)
    if not found:
        return ""
    lines = [layer_text(x) + history_text(history, x.name) for x in found[:MAX_USES]]
    if len(found) > MAX_USES:
        lines.append(f"… and {len(found) - MAX_USES} more uses")
    return "\n\n".join(lines)


def layer_text(layer: Layer) -> str:
    """``stage2.0.body.conv1``: conv 3×3, 128 → (128, 12, 12), 147,456 params, 21.2 M MACs,
    then what a leaf keeps for backward in training (``keeps its input …, 72.0 KiB a sample``)."""
    name = code(layer.name) if layer.name else "the network"
    flow = f"{text(layer.input)} → " if layer.input else ""  # a parameter reads nothing
    shown = (
        f"{name}: {text(layer.text)}  \n"
        f"{flow}**{text(layer.output)}**, {layer.params:,} params, "
        f"{layer.macs:,} MACs"
    )
    if layer.keeps is not None:
        what, size = layer.keeps
        shown += f"  \ntraining: keeps {text(what)} for backward, {binary(size)} a sample"
    return shown


def history_text(history: History | None, path: str) -> str:
    """The change of the layer ``path`` since the commit, as lines to follow its own ("" for
    none): ``since `HEAD`: changed: out 8 → 16``, the layers removed inside it, and its keys
    that do not carry over."""
    if history is None or not path:
        return ""
    since = f"since {code(history.against)}"
    lines = []
    change = history.layers.get(path)
    if change:
        lines.append(f"{since}: {text(change)}")
    removed = history.removed.get(path, [])
    if removed:
        lines.append(f"removed inside {since}: " + _listed([text(r) for r in removed], "layers"))
    inside = path + "."
    keys = [f"{code(k)}: {text(why)}" for k, why in history.keys.items() if k.startswith(inside)]
    if keys:
        lines.append(f"weights that do not carry over {since}:")
        lines += [f"- {k}" for k in keys[:MAX_LISTED]]
        if len(keys) > MAX_LISTED:
            lines.append(f"- … and {len(keys) - MAX_LISTED:,} more keys")
    return "".join(f"  \n{line}" for line in lines)


def _listed(items: list[str], noun: str) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f" and {more:,} more {noun}" if more > 0 else "")
