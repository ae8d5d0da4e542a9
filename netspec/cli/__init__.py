"""The ``netspec`` command. Only this package prints or exits.

Exit codes: 0 all good, 1 a spec error (diagnostics on stderr), 2 misuse of the command, 3 the
asked file could not be made for want of a tool (render without Graphviz: the .dot instead).
``diff`` exits as ``diff`` does: 0 the same, 1 different, 2 trouble (misuse or a spec error).
``check``, ``diff`` and ``list`` never import torch; ``build`` and ``train`` do, after the spec
(and ``train``'s recipe) has been checked. Ctrl-C exits 130 and SIGTERM 143, each once the command
has unwound (``train``'s ``last.pt`` is that of the last finished epoch, whole).

Modules, each importing only those before it: ``usage`` (exit codes, :class:`Misuse`),
``values`` (option values), ``outputs`` (checks of ``-o``), ``commands_spec`` (check, build,
render, summary), ``commands_diff`` (diff), ``commands_files`` (new, schema, list, lsp),
``commands_import`` (import), ``commands_train`` (train), ``completion`` (what the shells
complete, read off the parser; ``netspec __complete``), ``completion_scripts`` (the scripts of
bash, zsh and fish), ``parser`` (argparse), and this one: :func:`main`, plugins and signals.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from ..errors import NetspecError, PluginFailure
from .completion import HIDDEN, answer
from .parser import _parser
from .usage import EXIT_INCOMPLETE, EXIT_MISUSE, EXIT_SPEC_ERROR, Misuse, Terminated, _shown
from .values import parse_sets

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_MISUSE",
    "EXIT_SPEC_ERROR",
    "Misuse",
    "Terminated",
    "_parser",
    "main",
    "parse_sets",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == [HIDDEN]:  # a completion script asks: answered before, and apart from, argparse
        return answer(words[1:], parser)
    args = parser.parse_args(words)
    try:
        with _terminate_by_unwinding():
            _load_plugins(args)
            result: int = args.run(args)
            return result
    except NetspecError as e:
        print(e.format(), file=sys.stderr)
        return EXIT_SPEC_ERROR
    except Misuse as e:
        print(f"netspec {args.command}: error: {_shown(e)}", file=sys.stderr)
        return EXIT_MISUSE
    except PluginFailure as e:  # where no pass could give it a layer's position
        print(
            f"netspec {args.command}: error: {_shown(e.message)}\nhint: {_shown(e.hint)}",
            file=sys.stderr,
        )
        return EXIT_SPEC_ERROR
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Terminated:
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # `netspec check --table | head`: the reader has gone
        sys.stderr.close()
        return 0


@contextlib.contextmanager
def _terminate_by_unwinding() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (only the main thread can
    handle signals; elsewhere it is left as it is). The previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load_plugins(args: argparse.Namespace) -> None:
    """Named plugins, then the installed ones: before any spec is read, so a bad one is exit 2."""
    from ..plugins import PluginError, entry_points_disabled, load_plugins

    installed = not (args.no_entry_points or entry_points_disabled())
    try:
        load_plugins(*args.plugin, entry_points=installed)
    except PluginError as e:
        raise Misuse(str(e)) from e
