"""The specs that ship with netspec, reachable by name (``netspec build nin``)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def bundled_dir() -> Path:
    """Where the bundled specs are: inside an installed wheel, or the repository's ``specs/``."""
    installed = _HERE / "_bundled_specs"
    return installed if installed.is_dir() else _HERE.parent / "specs"


def bundled_names() -> list[str]:
    folder = bundled_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def locate(path_or_name: str | Path) -> tuple[Path, str]:
    """The file to read for a path or bundled name, and how to show it in messages."""
    text = str(path_or_name)
    candidate = Path(text)
    if candidate.exists() or "/" in text or "\\" in text or candidate.suffix in (".yaml", ".yml"):
        return candidate, text
    bundled = bundled_dir() / f"{text}.yaml"
    if bundled.exists():
        return bundled, _shown(bundled)
    return candidate, text


def _shown(path: Path) -> str:
    """A path as messages show it: relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
