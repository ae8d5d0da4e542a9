"""``netspec lsp``: the language server's wiring (pygls, over stdin and stdout).

The text checked is the editor's buffer, saved or not, as the file it is: relative imports and
``std:`` libraries resolve from the document's folder. A change after a pause is checked at
once; changes that follow it within :data:`DEBOUNCE` seconds (typing) are checked once typing
pauses for that long. Checks run in the checker process (:mod:`netspec.lsp.worker`), so the
server keeps answering meanwhile; diagnostics are published only if the document is still at
the version that was checked. A file with errors is then checked again for the shapes of the
layers that no error reaches (:mod:`netspec.lsp.recovery`), which hovers show. Hover,
completion and go to definition read the latest analysis (:mod:`netspec.lsp.hover`,
:mod:`netspec.lsp.completion`, :mod:`netspec.lsp.definition`).

A version that checks without errors is then compared with its file's last commit, for the
hovers (:mod:`netspec.lsp.history`), in a second checker process: a diff never delays a
check. The answer is kept for that version of the document; a hover on an answer older than
:data:`REFRESH` seconds asks again meanwhile (a commit since: the next hover shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from .. import __version__
from ..errors import Diagnostic
from .analysis import Analysis
from .completion import complete
from .definition import definition
from .diagnostics import SOURCE, to_lsp_diagnostics
from .documents import key_of, name_of, too_big
from .history import History
from .hover import hover
from .positions import Text
from .rpc import run_io
from .worker import Checker, Job, Outcome

#: Seconds of quiet after a change before the document is checked, while typing (a change
#: within this time of the one before it).
DEBOUNCE = 0.3
#: Seconds after which a hover asks again what changed since the last commit (the answer for
#: the same texts comes from the history checker's cache, after git's look at HEAD).
REFRESH = 2.0


@dataclass(frozen=True)
class Latest:
    """The latest analysis of a document, and the version of the text it is of."""

    version: int | None
    file: str
    analysis: Analysis


@dataclass(frozen=True)
class Since:
    """What changed in a version of a document since its file's last commit (None: nothing
    to show), and when that was found (monotonic)."""

    version: int | None
    history: History | None
    when: float


class NetspecServer(LanguageServer):
    """The server with its state: the checkers, pending checks and the latest analyses."""

    def __init__(
        self,
        checker: Checker | None = None,
        debounce: float = DEBOUNCE,
        historian: Checker | None = None,
    ) -> None:
        super().__init__("netspec", __version__)
        self.checker = checker or Checker()
        #: the checker that compares documents with their last commit (its own process)
        self.historian = historian or Checker(self.checker.time_limit, *self.checker.plugins)
        self.debounce = debounce
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.checked: dict[str, Latest] = {}
        self.changed: dict[str, float] = {}  # when each document last changed (monotonic)
        self.since: dict[str, Since] = {}
        self.comparing: dict[str, asyncio.Task[None]] = {}

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve stdin and stdout through netspec's wire (:mod:`netspec.lsp.rpc`), which
        bounds what it reads and answers what it cannot take, in place of pygls's loop."""
        run_io(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

    def schedule(self, uri: str) -> None:
        """Check the document: at once after a pause, else once typing pauses; a newer
        change replaces a waiting check."""
        key = key_of(uri)
        now = time.monotonic()
        last = self.changed.get(key)
        self.changed[key] = now
        earlier = self.pending.pop(key, None)
        if earlier is not None:
            earlier.cancel()
        delay = check_delay(None if last is None else now - last, self.debounce)
        self.pending[key] = asyncio.ensure_future(self._check_later(uri, delay))

    async def _check_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        key = key_of(uri)
        document = self.workspace.text_documents.get(key)
        if document is None:
            return
        version, source = document.version, document.source
        name = name_of(uri)
        refused = name.problem or too_big(source, name.file)
        if refused is not None:  # not checked: its URI or its size says why
            analysis = Analysis(file="", diagnostics=[refused])
        else:
            job = Job(source, name.path, name.file)
            outcome = await asyncio.to_thread(self.checker.run, job)
            if not self._current(key, version):
                return  # a newer text is on its way, or the document was closed
            analysis = _analysis_of(outcome, name.file)
        earlier = self.checked.get(key)
        if earlier is not None and not analysis.spans.items:
            # text that does not parse (typing): completion keeps the names it knew
            analysis.blocks = analysis.blocks or earlier.analysis.blocks
            analysis.params = analysis.params or earlier.analysis.params
        self.checked[key] = Latest(version, name.file, analysis)
        text = Text.of(source, document.position_codec)
        found = to_lsp_diagnostics(analysis.diagnostics, name.file, text, analysis.spans)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)
        )
        if refused is None and analysis.spans.items and _has_errors(analysis):
            await self._recover(key, Job(source, name.path, name.file, recover=True), version)
        elif refused is None and name.path is not None and analysis.spans.items:
            self.compare(key, Job(source, name.path, name.file, history=True), version)

    def compare(self, key: str, job: Job, version: int | None) -> None:
        """Compare a version of a document with its last commit, in the history checker; a
        newer version's comparison replaces one not yet done."""
        earlier = self.comparing.pop(key, None)
        if earlier is not None:
            earlier.cancel()
        self.comparing[key] = asyncio.ensure_future(self._compare(key, job, version))

    async def _compare(self, key: str, job: Job, version: int | None) -> None:
        outcome = await asyncio.to_thread(self.historian.run, job)
        if self.comparing.get(key) is asyncio.current_task():
            del self.comparing[key]
        if self._current(key, version):  # a failure or a timeout shows nothing
            self.since[key] = Since(version, outcome.history, time.monotonic())

    def history(self, uri: str) -> History | None:
        """What changed in the open document since its last commit, if known for its version;
        an answer older than :data:`REFRESH` seconds is asked for again meanwhile."""
        key = key_of(uri)
        since, document = self.since.get(key), self.document(uri)
        if since is None or document is None or document.version != since.version:
            return None
        stale = time.monotonic() - since.when > REFRESH
        if stale and key not in self.comparing:
            name = name_of(uri)
            job = Job(document.source, name.path, name.file, history=True)
            self.compare(key, job, document.version)
        return since.history

    async def _recover(self, key: str, job: Job, version: int | None) -> None:
        """Check a file with errors again for the layers no error reaches (its hovers)."""
        outcome = await asyncio.to_thread(self.checker.run, job)
        latest = self.checked.get(key)
        if outcome.analysis is None or latest is None or not self._current(key, version):
            return  # the check failed, or the text changed: hovers keep what they had
        latest.analysis.layers = outcome.analysis.layers

    def _current(self, key: str, version: int | None) -> bool:
        document = self.workspace.text_documents.get(key)
        return document is not None and document.version == version

    def forget(self, uri: str) -> None:
        key = key_of(uri)
        task = self.pending.pop(key, None)
        if task is not None:
            task.cancel()
        self.checked.pop(key, None)
        self.changed.pop(key, None)
        self.since.pop(key, None)
        comparing = self.comparing.pop(key, None)
        if comparing is not None:
            comparing.cancel()
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def document(self, uri: str) -> TextDocument | None:
        """The open document ``uri`` names, however the URI is spelt."""
        found: TextDocument | None = self.workspace.text_documents.get(key_of(uri))
        return found

    def view(self, uri: str) -> tuple[Analysis, Text, str] | None:
        """The latest analysis of a document, its current text, and its name in messages."""
        checked = self.checked.get(key_of(uri))
        document = self.document(uri)
        if checked is None or document is None:
            return None
        return checked.analysis, Text.of(document.source, document.position_codec), checked.file


def check_delay(since_last: float | None, debounce: float = DEBOUNCE) -> float:
    """Seconds to wait before checking a change made ``since_last`` seconds after the one
    before it (None: the document's first): none after a pause, ``debounce`` while typing,
    so that a burst of keystrokes is checked once, when it pauses.

    >>> check_delay(None), check_delay(2.0), check_delay(0.05)
    (0.0, 0.0, 0.3)
    """
    return debounce if since_last is not None and since_last < debounce else 0.0


def _has_errors(analysis: Analysis) -> bool:
    return any(d.severity == "error" for d in analysis.diagnostics)


def _analysis_of(outcome: Outcome, file: str) -> Analysis:
    """An analysis for every outcome: a check stopped or failed is a diagnostic at line 1."""
    if outcome.analysis is not None:
        return outcome.analysis
    if outcome.timeout:
        message = "netspec stopped checking this file: it took longer than the time limit"
        hint = "the file may be very large; netspec check FILE shows where the time goes"
    else:
        message = f"netspec failed while checking this file (a bug in netspec): {outcome.failure}"
        hint = "please report it, with the file"
    return Analysis(file=file, diagnostics=[Diagnostic(file, message, hint)])


def make_server(
    checker: Checker | None = None, debounce: float = DEBOUNCE, historian: Checker | None = None
) -> NetspecServer:
    """The server with its features registered (``server.start_io()`` runs it)."""
    server = NetspecServer(checker, debounce, historian)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NetspecServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NetspecServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NetspecServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: NetspecServer, params: types.HoverParams) -> types.Hover | None:
        view = ls.view(params.text_document.uri)
        if view is None:
            return None
        return hover(*view, params.position, ls.history(params.text_document.uri))

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["-", " ", "{", "$", ":"]),
    )
    def on_completion(
        ls: NetspecServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        document = ls.document(params.text_document.uri)
        if document is None:
            return None
        checked = ls.checked.get(key_of(params.text_document.uri))
        analysis = checked.analysis if checked else Analysis(file="")
        text = Text.of(document.source, document.position_codec)
        return complete(analysis, text, params.position)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(
        ls: NetspecServer, params: types.DefinitionParams
    ) -> list[types.Location] | None:
        view = ls.view(params.text_document.uri)
        return None if view is None else definition(*view, params.position)

    @server.feature(types.EXIT)
    def on_exit(ls: NetspecServer, params: None) -> None:
        ls.checker.close()
        ls.historian.close()

    return server


def serve(plugins: tuple[str, ...] = (), entry_points: bool = True) -> int:
    """Run the server on stdin and stdout until the client says exit."""
    server = make_server(Checker(plugins=plugins, entry_points=entry_points))
    try:
        server.start_io()
    finally:
        with contextlib.suppress(OSError):
            server.checker.close()
        with contextlib.suppress(OSError):
            server.historian.close()
    return 0


__all__ = ["SOURCE", "NetspecServer", "make_server", "serve"]
