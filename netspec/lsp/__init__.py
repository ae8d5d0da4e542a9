"""``netspec lsp``: a language server for spec files (diagnostics, hover, completion,
go to definition), over stdin and stdout. It needs pygls: ``pip install 'netspec-nn[lsp]'``.

Like ``netspec check``, it never imports torch. See docs/editors.md.
"""

from __future__ import annotations

INSTALL = "pip install 'netspec-nn[lsp]'"


def available() -> bool:
    """Whether pygls (and lsprotocol, which it brings) can be imported."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        return False
    return True


def serve(plugins: tuple[str, ...] = (), entry_points: bool = True) -> int:
    """Run the language server on stdin and stdout until the editor closes it; its checks load
    the ``plugins`` (module names) and, with ``entry_points``, the installed ones."""
    from .server import serve as run

    return run(plugins, entry_points)
