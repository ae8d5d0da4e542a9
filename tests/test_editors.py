"""docs/editors.md's editor set-ups, tested as the page writes them.

The code blocks are read from the page, so an edit of the page is what runs. Neovim's set-up
for versions before 0.11 runs in a real headless Neovim (Debian's 0.7.2, which ``make test``
installs with apt) against the real ``netspec lsp``: a spec gets its diagnostic, hover and
completion, and a ``compose.yaml`` gets no client. The 0.11 set-up runs in the same Neovim with
``vim.lsp.config`` and ``vim.lsp.enable`` recorded instead of started (no 0.11 in the
registries). Helix's TOML and VS Code's ``package.json`` are parsed and their keys checked, and
their globs matched as each editor matches them. Without Neovim the Neovim tests skip on a
workstation, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, cli

from netspec.lsp import INSTALL

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own TOML reader, the same parser before 3.11
    import tomli as tomllib

DOC = ROOT / "docs" / "editors.md"
DRIVERS = Path(__file__).resolve().parent / "fixtures" / "editors"
MISTAKE = ROOT / "tests" / "fixtures" / "seed_mistakes" / "alexnet_no_flatten.yaml"
#: how long Neovim waits for the diagnostics: a count of polling steps of STEP_MS each, a bound
#: for a hang (they come in a second or two), not a measure
STEPS, STEP_MS = 600, 100
#: a hang guard for the whole Neovim process, not a measure
PROCESS_TIMEOUT = 300

#: YAML files a project may hold, and whether the page's rule makes each a spec: by its folder
#: (every editor), by netspec's schema line, which `netspec new` writes (Neovim only), or not
PLACES: dict[str, str | None] = {
    "specs/net.yaml": "folder",
    "specs/deeper/net.yml": "folder",
    "models/new.yaml": "schema line",
    "compose.yaml": None,
    "myspecs/net.yaml": None,
    "specs.yaml": None,
    "specs/notes.txt": None,
}
COMPOSE = "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n"

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w+)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)


def blocks(lang: str, section: str) -> list[str]:
    """The ``lang`` code blocks of the page's section ``## section``, as a reader copies them."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    part = text[start : end if end > 0 else len(text)]
    return [textwrap.dedent(m["body"]) for m in FENCE.finditer(part) if m["lang"] == lang]


def neovim_setup(version: str) -> str:
    """The page's Neovim set-up for ``"0.11"`` or ``"older"``: the blocks both share, then its
    own."""
    lua = blocks("lua", "Neovim")
    new = [b for b in lua if "vim.lsp.config" in b]
    old = [b for b in lua if "nvim_create_autocmd" in b]
    assert len(new) == 1 and len(old) == 1, "one block for Neovim 0.11 and one for older ones"
    shared = [b for b in lua if b not in (*new, *old)]
    return "\n".join([*shared, *(new if version == "0.11" else old)])


def make_project(folder: Path) -> Path:
    """A project with a file at each of PLACES, the spec with a mistake among them; the file at
    ``models/new.yaml`` is what ``netspec new`` writes."""
    project = folder / "project"
    for place in PLACES:
        (project / place).parent.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'nets'\n")
    for place in ("specs/net.yaml", "specs/deeper/net.yml", "myspecs/net.yaml", "specs.yaml"):
        shutil.copyfile(MISTAKE, project / place)
    (project / "compose.yaml").write_text(COMPOSE)
    (project / "specs/notes.txt").write_text("notes\n")
    made = cli("new", "new", "-o", str(project / "models/new.yaml"))
    assert made.code == 0, made.err
    return project


def command_folder(folder: Path) -> Path:
    """The folder whose ``netspec`` the editor starts: the test environment's, where ``make
    test`` installs the command, or where the package is only importable, a stand-in."""
    here = Path(sys.executable).parent
    if (here / "netspec").is_file():
        return here
    shim = folder / "bin" / "netspec"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m netspec "$@"\n')
    shim.chmod(0o755)
    return shim.parent


@pytest.fixture(scope="module")
def nvim() -> str:
    found = shutil.which("nvim")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Neovim is not installed (make test installs it); CI runs the set-up")
        pytest.skip("Neovim is not installed (make test installs it with apt)")
    return found


def run_nvim(
    nvim: str, init: str, driver: str, case: dict[str, Any], folder: Path, opens: Sequence[str] = ()
) -> tuple[Any, str]:
    """Neovim, headless and without the user's configuration, with ``init`` as its init.lua:
    it ``:edit``s the files ``opens``, as a user does (an error in an autocommand is shown
    then, where a script's ``vim.cmd`` loses it), then runs the driver. What the driver wrote,
    and what Neovim said (an error in it fails)."""
    (folder / "init.lua").write_text(init, encoding="utf-8")
    out = folder / "result.json"
    env = {
        **os.environ,
        "PATH": f"{command_folder(folder)}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "NETSPEC_EDITOR_CASE": json.dumps({**case, "out": str(out)}),
        **{f"XDG_{k}_HOME": str(folder / "xdg" / k.lower()) for k in ("STATE", "CACHE", "DATA")},
    }
    argv = [nvim, "--headless", "--clean", "-u", str(folder / "init.lua")]
    edits = ["edit " + path.replace(" ", "\\ ") for path in opens]
    for command in [*edits, f"luafile {DRIVERS / driver}"]:
        argv += ["-c", command]
    proc = subprocess.run(
        argv,
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    said = proc.stderr + proc.stdout
    assert out.exists(), f"Neovim wrote nothing (exit status {proc.returncode}):\n{said}"
    result = json.loads(out.read_text())
    said += result.pop("messages", "")
    assert "error" not in result, f"{result['error']}\nNeovim said:\n{said}"
    assert not re.search(r"\bE\d+:|Error", said), f"Neovim said:\n{said}"
    return result, said


def check_says(path: Path) -> tuple[int, int, str]:
    """``netspec check``'s error for ``path``: its line and column counted from 0, as the
    protocol counts, and its message with the notes and hint that follow it."""
    run = cli("check", str(path))
    assert run.code == 1, run.err
    head, *rest = run.err.splitlines()
    found = re.fullmatch(rf"{re.escape(str(path))}:(\d+):(\d+): error: (.*)", head)
    assert found, head
    notes = [line for line in rest if re.match(r"(note|hint): ", line)]
    return int(found[1]) - 1, int(found[2]) - 1, "\n".join([found[3], *notes])


def test_install_lines_name_the_distribution() -> None:
    text = DOC.read_text(encoding="utf-8")
    installs = re.findall(r"pip install\s+([^\s`]+)", text)
    assert installs, "the page says how to install"
    assert all(re.fullmatch(r"'?netspec-nn(\[lsp\])?'?", i) for i in installs), installs


def test_the_message_quoted_is_the_servers() -> None:
    """The page quotes what `netspec lsp` says without pygls: the command the server gives."""
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert f"the language server needs pygls: {INSTALL}" in text


def test_neovim_before_011_checks_specs_and_nothing_else(nvim: str, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    line, column, message = check_says(project / "specs/net.yaml")
    case = {
        "files": {
            "mistake": str(project / "specs/net.yaml"),
            "new": str(project / "models/new.yaml"),
            "compose": str(project / "compose.yaml"),
        },
        "steps": STEPS,
        "step_ms": STEP_MS,
        "request_ms": 30_000,
        "hover": {"line": 4, "character": 5},  # `conv` of the first layer
        "completion": {"line": 4, "character": 4},  # a layer's kind
    }
    # compose.yaml first: were it checked, its answer would come before the spec's
    opens = [case["files"][name] for name in ("compose", "new", "mistake")]
    result, said = run_nvim(nvim, neovim_setup("older"), "session.lua", case, tmp_path, opens)
    assert result.get("waited"), f"no diagnostics in {STEPS} steps of {STEP_MS} ms:\n{said}"
    files = result["files"]
    (got,) = files["mistake"]["diagnostics"]
    assert (got["lnum"], got["col"], got["message"]) == (line, column, message)
    assert (got["severity"], got["source"]) == (1, "netspec")
    marked = (project / "specs/net.yaml").read_text().splitlines()[line][column : got["end_col"]]
    assert marked == "linear"
    for name in ("mistake", "new"):
        assert [c["name"] for c in files[name]["clients"]] == ["netspec"], name
        assert files[name]["clients"][0]["root"] == str(project)
    assert result["all_clients"] == 1  # one server for the project
    assert not files["compose"]["clients"] and not files["compose"]["diagnostics"]
    assert "conv" in result["hover"]  # the layer's kind, or the layer itself
    assert {"conv", "relu", "flatten", "linear"} <= set(result["completion"])


def test_neovim_011_root_dir_takes_specs_only(nvim: str, tmp_path: Path) -> None:
    """0.11's set-up parses in 0.7's LuaJIT, and its root_dir, called as vim.lsp.enable calls
    it, gives a folder (so a client) to each spec and to nothing else."""
    project = make_project(tmp_path)
    case = {"files": {place: str(project / place) for place in PLACES}}
    prelude = (DRIVERS / "record_config.lua").read_text()
    init = prelude + "\n" + neovim_setup("0.11")
    result, _ = run_nvim(nvim, init, "root_dir.lua", case, tmp_path)
    assert result["cmd"] == ["netspec", "lsp"]
    assert result["filetypes"] == ["yaml"]
    assert result["enabled"] == ["netspec"]
    for place, why in PLACES.items():
        roots = result["roots"][place]
        if why is None:
            assert not roots, place
        else:
            (root,) = roots
            assert (project / place).is_relative_to(root), (place, root)


def glob_regex(glob: str, star_crosses_folders: bool) -> re.Pattern[str]:
    """A path glob as a regular expression over the whole path: ``**/`` is any run of folders
    (none, too), ``{a,b}`` either, ``?`` one character and ``*`` any, within one folder unless
    ``star_crosses_folders`` (Rust's globset, which Helix uses, lets it cross by default)."""
    one = "." if star_crosses_folders else "[^/]"
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] in "*?":
            out, i = out + one + ("*" if glob[i] == "*" else ""), i + 1
        elif glob[i] == "{":
            end = glob.index("}", i)
            out += "(?:" + "|".join(map(re.escape, glob[i + 1 : end].split(","))) + ")"
            i = end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out + r"\Z")


def by_path(match: Any) -> dict[str, bool]:
    """For each of PLACES in a project at /home/user/project, whether ``match`` takes it."""
    return {place: bool(match(f"/home/user/project/{place}")) for place in PLACES}


#: the places an editor that chooses by path should take: the folder rule alone
BY_FOLDER = {place: why == "folder" for place, why in PLACES.items()}


def helix_config() -> dict[str, Any]:
    (text,) = blocks("toml", "Helix")
    return tomllib.loads(text)


def test_helix_languages_toml_has_the_keys_helix_reads() -> None:
    """The keys and types of Helix's documented languages.toml (book/src/languages.md)."""
    config = helix_config()
    assert set(config) <= {"language-server", "language", "grammar", "use-grammars"}
    server = config["language-server"]["netspec"]
    assert set(server) <= {"command", "args", "config", "timeout", "environment"}
    assert server["command"] == "netspec" and server["args"] == ["lsp"]
    (language,) = config["language"]
    known = {
        "name", "language-id", "scope", "injection-regex", "file-types", "shebangs", "roots",
        "auto-format", "diagnostic-severity", "comment-token", "comment-tokens", "indent",
        "language-servers", "grammar", "formatter", "soft-wrap", "text-width", "rulers",
    }  # fmt: skip
    assert set(language) <= known and {"name", "scope", "file-types"} <= set(language)
    assert language["name"] == "netspec" and language["grammar"] == "yaml"
    assert all(isinstance(language[k], str) for k in ("scope", "comment-token"))
    assert all(isinstance(r, str) for r in language["roots"])
    assert set(language["indent"]) == {"tab-width", "unit"}
    assert set(language["language-servers"]) <= set(config["language-server"]) | {
        "yaml-language-server"
    }
    assert all(isinstance(t, str) or set(t) == {"glob"} for t in language["file-types"])
    (queries,) = blocks("scheme", "Helix")
    assert queries.strip() == "; inherits: yaml"


def test_helix_globs_take_specs_only() -> None:
    """Helix matches a glob against the whole path, with ``*/`` before it unless it starts with
    ``/`` or ``*``; a file that no glob takes stays YAML, without netspec's server."""
    (language,) = helix_config()["language"]
    globs = [t["glob"] for t in language["file-types"] if isinstance(t, dict)]
    patterns = [glob_regex(g if g[0] in "/*" else "*/" + g, True) for g in globs]
    assert by_path(lambda path: any(p.match(path) for p in patterns)) == BY_FOLDER


def vscode_extension() -> tuple[dict[str, Any], str]:
    """The extension's package.json, parsed, and its extension.ts."""
    (package,) = blocks("json", "VS Code")
    (source,) = blocks("ts", "VS Code")
    return json.loads(package), source


def test_vscode_extension_is_complete() -> None:
    package, source = vscode_extension()
    for key in ("name", "publisher", "version", "main", "activationEvents"):
        assert package[key], key
    assert package["engines"]["vscode"] == package["devDependencies"]["@types/vscode"]
    assert "vscode-languageclient" in package["dependencies"]
    assert "onLanguage:yaml" in package["activationEvents"]
    assert package["main"] == "./out/extension.js"
    assert '{ command: "netspec", args: ["lsp"] }' in source
    assert re.search(r"export function (activate|deactivate)\(", source)


def test_vscode_selector_takes_specs_only() -> None:
    """The documentSelector's pattern, matched against a file's path as VS Code's globs match
    (``*`` within one folder)."""
    _, source = vscode_extension()
    (selector,) = re.findall(r"documentSelector: \[(.*?)\]", source)
    assert re.findall(r'(\w+): "', selector) == ["scheme", "language", "pattern"]
    assert '"yaml"' in selector
    (glob,) = re.findall(r'pattern: "([^"]+)"', selector)
    assert by_path(glob_regex(glob, False).match) == BY_FOLDER
