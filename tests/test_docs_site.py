"""The documentation site: docs/ built by MkDocs (Material theme) in strict mode, as mkdocs.yml
says, so that a broken link, an anchor that is not there, a page missing from nav or a link out
of docs/ fails the suite; and the landing page's quick start, run as written."""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
PICTURES = sorted((DOCS / "gallery").glob("*.svg"))


def need_mkdocs() -> None:
    """mkdocs is a test extra: skip on a workstation without it, fail under ``CI=true``."""
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("mkdocs and mkdocs-material are not installed; CI builds the docs site")
        pytest.skip("mkdocs and mkdocs-material are not installed (pip install -e '.[test]')")


def mkdocs_build(config: Path, site: Path) -> tuple[bool, str]:
    """``mkdocs build --strict``, in this process (both builds share MkDocs' imports): whether
    it built (with no warning at all), and what it said of warnings and errors, a line each."""
    need_mkdocs()
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    said = io.StringIO()
    handler = logging.StreamHandler(said)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    folder = os.getcwd()
    os.chdir(config.parent)
    try:
        build(load_config(str(config), strict=True, site_dir=str(site)))
        return True, said.getvalue()
    except MkDocsException as e:  # strict mode's Abort, or a configuration error
        return False, f"{said.getvalue()}{e}\n"
    finally:
        os.chdir(folder)
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    built, said = mkdocs_build(ROOT / "mkdocs.yml", folder)
    assert built, said
    assert "WARNING" not in said, said
    return folder


def html_of(page: Path) -> str:
    """Where a page of docs/ lands on the site (MkDocs' directory URLs)."""
    return "index.html" if page.stem == "index" else f"{page.stem}/index.html"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_page_is_on_the_site(site, page):
    html = (site / html_of(page)).read_text(encoding="utf-8")
    title = page.read_text(encoding="utf-8").splitlines()[0].removeprefix("# ")
    # the page's own heading, as Markdown renders it (`code` becomes <code>code</code>)
    heading = re.sub(r"`([^`]*)`", r"<code>\1</code>", title)
    assert heading in html, f"{page.name}: its heading is not in {html_of(page)}"


def test_the_gallery_pictures_are_on_the_site(site):
    assert PICTURES, "docs/gallery has no pictures"
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    for svg in PICTURES:
        assert (site / "gallery" / svg.name).read_bytes() == svg.read_bytes()
        assert f'src="{svg.name}"' in gallery, f"the gallery page does not show {svg.name}"


def test_the_schema_is_on_the_site_and_the_gallery_script_is_not(site):
    schema = DOCS / "netspec.schema.json"
    assert (site / "netspec.schema.json").read_bytes() == schema.read_bytes()
    assert not (site / "make_gallery.py").exists()


def broken_copy(tmp_path: Path) -> Path:
    """mkdocs.yml and docs/ copied, with one mistake of each kind strict mode must catch."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    library = tmp_path / "docs" / "library.md"
    library.write_text(
        library.read_text(encoding="utf-8")
        + "\nSee [the missing page](no_such_page.md), [a missing anchor](language.md#no-such-part)"
        + " and [the README](../README.md).\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "stray.md").write_text("# A page nav does not list\n", encoding="utf-8")
    return tmp_path / "mkdocs.yml"


def test_strict_mode_fails_on_a_broken_link_and_names_the_page(tmp_path):
    built, said = mkdocs_build(broken_copy(tmp_path), tmp_path / "site")
    assert not built, said
    for mistake in [
        "Doc file 'library.md' contains a link 'no_such_page.md', but the target",
        "Doc file 'library.md' contains a link 'language.md#no-such-part', but the doc",
        "Doc file 'library.md' contains a link '../README.md', but the target",
        'not included in the "nav" configuration:\n  - stray.md',
    ]:
        assert mistake in said, f"not reported: {mistake}\n{said}"


def quick_start() -> tuple[str, list[tuple[str, str]]]:
    """The landing page's spec, and the (command, output) pairs of its console blocks."""
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    spec = re.search(r"Write `small_cnn.yaml`:\n\n```yaml\n(.*?)```", text, re.S)
    assert spec, "docs/index.md: the quick start's spec is not where this test reads it"
    pairs = []
    for body in re.findall(r"```console\n(.*?)```", text, re.S):
        command, _, output = body.partition("\n")
        pairs.append((command.removeprefix("$ "), output))
    return spec[1], pairs


def test_the_quick_start_runs_as_written(tmp_path):
    spec, pairs = quick_start()
    # the first block checks the file as written, the second the file without its flatten
    texts = [spec, spec.replace("  - flatten\n", "")]
    assert len(pairs) == len(texts) and texts[0] != texts[1]
    for text, (command, expected) in zip(texts, pairs, strict=True):
        (tmp_path / "small_cnn.yaml").write_text(text, encoding="utf-8")
        argv = command.split()
        assert argv[0] == "netspec", command
        proc = subprocess.run(
            [sys.executable, "-m", "netspec", *argv[1:]],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        got = [line.rstrip() for line in proc.stdout.splitlines()]
        assert got == expected.rstrip("\n").splitlines(), proc.stdout
