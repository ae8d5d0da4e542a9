"""Shell completion, read off the argparse parser: what each command takes, and the answers of
the hidden ``netspec __complete`` that the scripts call back for what only netspec knows.

A value is completed by what its option is: one of its ``choices``; a spec (metavar ``SPEC``:
spec files and the bundled names); a path (metavar ``FILE``, ``TARGET``, ``DATA``, ``RUN`` or
``FOLDER``); the scales of the
spec on the line (``--scale``, diff's ``--a-scale`` and ``--b-scale``); anything else is free
text, offered nothing. A new option is completed by all three shells without touching their
scripts (:mod:`netspec.cli.completion_scripts` writes them from :func:`commands`).

The call-backs (``netspec __complete specs``, ``netspec __complete scales WORD...``) read the
spec's source only: no torch, no shape check, nothing printed but the names, and an error
prints nothing (a completion must never write into the user's terminal).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..errors import NetspecError

#: The word that starts a call-back; kept out of ``--help`` and of the "did you mean" list.
HIDDEN = "__complete"


class Value(Enum):
    """What an option's value, or a positional argument, is."""

    NONE = "none"  # a flag: no value
    CHOICE = "choice"
    SPEC = "spec"
    FILE = "file"
    SCALE = "scale"
    TEXT = "text"


#: a path: a file, or train's data (.npz or a folder), run folder and data sets' folder
_BY_METAVAR = {
    "SPEC": Value.SPEC,
    **dict.fromkeys(("FILE", "TARGET", "DATA", "RUN", "FOLDER", "DIR"), Value.FILE),
}


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]  # -o, --output
    help: str
    value: Value
    choices: tuple[str, ...] = ()
    repeats: bool = False  # action="append": may be given again
    final: bool = False  # --help, --version: nothing follows them
    metavar: str = ""  # what its value is called: FILE, N, NAME=VALUE


@dataclass(frozen=True)
class Command:
    name: str  # "" for netspec itself
    help: str
    options: tuple[Option, ...]
    positional: Value  # what its positional arguments are (NONE: it takes none)
    metavar: str = ""
    many: bool = False  # several of them (check SPEC...)
    choices: tuple[str, ...] = ()  # completion SHELL: bash, zsh, fish


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """netspec itself (named ""), then each command in the order of ``--help``.

    >>> from netspec.cli import _parser
    >>> [c.name for c in commands(_parser())][:3]
    ['', 'check', 'build']
    """
    sub = _subcommands(parser)
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    found = [_command("", parser.description or "", parser)]
    for name, p in sub.choices.items():
        found.append(_command(name, helps.get(name, ""), p))
    return found


def _subcommands(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError("the parser has no commands")


def _command(name: str, help: str, parser: argparse.ArgumentParser) -> Command:
    options: list[Option] = []
    positional = Command(name, help, (), Value.NONE)
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            options.append(_option(action))
        else:  # netspec's commands take one kind of positional argument each
            positional = Command(
                name,
                help,
                (),
                _value(action),
                str(action.metavar or action.dest),
                action.nargs in ("+", "*"),
                tuple(str(c) for c in action.choices or ()),
            )
    return dataclasses.replace(positional, options=tuple(options))


def _option(action: argparse.Action) -> Option:
    value = Value.NONE if action.nargs == 0 else _value(action)
    choices = tuple(str(c) for c in action.choices or ())
    repeats = isinstance(action, argparse._AppendAction)
    final = isinstance(action, (argparse._HelpAction, argparse._VersionAction))
    flags = tuple(action.option_strings)
    metavar = str(action.metavar or action.dest.upper())
    return Option(flags, action.help or "", value, choices, repeats, final, metavar)


def _value(action: argparse.Action) -> Value:
    if action.choices:
        return Value.CHOICE
    if action.dest in ("scale", "a_scale", "b_scale", "diff_scale"):  # a scale of either side
        return Value.SCALE
    return _BY_METAVAR.get(str(action.metavar), Value.TEXT)


def answer(words: Sequence[str], parser: argparse.ArgumentParser) -> int:
    """``netspec __complete specs``: the bundled names; ``netspec __complete scales WORD...``
    (the words of the line after ``netspec``, but the one being completed): the scales of the
    specs among them. One name a line."""
    if list(words[:1]) == ["specs"]:
        from ..bundled import bundled_names

        names = bundled_names()
    elif list(words[:1]) == ["scales"]:
        names = _scales(specs_among(words[1:], parser))
    else:
        return 2
    sys.stdout.write("".join(f"{name}\n" for name in names))
    return 0


def specs_among(words: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """The positional words after the command (its specs), skipping options and their values;
    bash splits ``--scale=n`` into ``--scale``, ``=``, ``n``.

    >>> from netspec.cli import _parser
    >>> specs_among(["check", "--scale", "s", "a.yaml", "--table", "b"], _parser())
    ['a.yaml', 'b']
    """
    command = next((w for w in words if not w.startswith("-")), "")
    known = {c.name: c for c in commands(parser)}.get(command)
    if known is None or not command:
        return []
    takes = {f for o in known.options if o.value is not Value.NONE for f in o.flags}
    rest = list(words[words.index(command) + 1 :])
    specs: list[str] = []
    while rest:
        word = rest.pop(0)
        if word.startswith("-") and word in takes:
            del rest[: 2 if rest[:1] == ["="] else 1]
        elif not word.startswith("-") and word not in ("=", ""):
            specs.append(word)
    return specs


def _scales(specs: list[str]) -> list[str]:
    """The scales of the given specs, in their order, each once; unreadable specs are skipped."""
    from ..bundled import locate
    from ..params import scale_names
    from ..source import read_source

    names: list[str] = []
    for word in specs:
        try:
            doc = read_source(*locate(os.path.expanduser(word)))
        except NetspecError:  # a spec being written, a mistyped name: nothing to offer
            continue
        names += [n for n in scale_names(doc.data) if n not in names]
    return names
