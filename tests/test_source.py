"""Reading spec files: positions, plain data only, and clear errors for odd files."""

from __future__ import annotations

import errno
import os
import time

import pytest

from netspec import files, source
from netspec.errors import NetspecError, Pos
from netspec.source import MAX_NODES, parse_source, read_source


def error_of(text: str | bytes) -> str:
    with pytest.raises(NetspecError) as e:
        parse_source(text, "x.yaml")
    return str(e.value)


def test_positions_of_values_and_keys():
    doc = parse_source("name: n\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - relu\n", "x.yaml")
    assert doc.data["layers"][1] == "relu"
    assert doc.pos(("layers", 0)) == Pos(3, 5)
    assert doc.pos(("layers", 0, "conv", "kernel")) == Pos(3, 28)
    assert doc.pos(("layers", 0, "conv", "kernel"), key=True) == Pos(3, 20)
    assert doc.pos(("layers", 1)) == Pos(4, 5)
    # a path below a scalar falls back to the nearest node that was written
    assert doc.pos(("layers", 1, "relu", "inplace")) == Pos(4, 5)


def test_an_alias_is_a_fresh_copy_that_stands_where_its_anchor_was_written():
    doc = parse_source("a: &x {p: 1, q: [1, {r: 2}]}\nb: *x\nc: [*x]\n", "x.yaml")
    assert doc.data["b"] == doc.data["c"][0] == {"p": 1, "q": [1, {"r": 2}]}
    assert doc.data["b"] is not doc.data["a"] and doc.data["b"]["q"] is not doc.data["a"]["q"]
    assert doc.pos(("b", "q", 1, "r")) == doc.pos(("a", "q", 1, "r")) == Pos(1, 25)
    assert doc.pos(("c", 0, "q"), key=True) == Pos(1, 14)
    assert doc.pos(("b",)) == Pos(1, 4)


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("&a [*a]\n", "YAML nesting is too deep", "x.yaml:1:5:"),  # an alias inside its anchor
        ("a: &a [1, *a]\n", "YAML nesting is too deep", "x.yaml:1:11:"),
        ("a: *nope\n", "found undefined alias 'nope'", "x.yaml:1:4:"),
        ("a: &x 1\nb: &x 2\n", "duplicate anchor 'x'", "x.yaml:2:4:"),
        ("a: &m {x: 1}\n? *m\n: 2\n", "a mapping key must be a plain word", "x.yaml:2:3:"),
    ],
)
def test_aliases_that_cannot_be_data(text: str, message: str, where: str) -> None:
    error = error_of(text)
    assert error.startswith(where) and message in error


def test_python_tags_are_rejected_without_constructing_anything():
    for text in (
        "a: !!python/object/apply:os.system ['echo hi']",
        "a: !!python/name:os.system",
        "a: !custom 3",
        "a: !!binary aGVsbG8=",
        "!!python/object:collections.OrderedDict {}",
    ):
        assert "is not allowed" in error_of(text)


def test_duplicate_and_merge_keys_are_errors():
    assert 'duplicate key "out"' in error_of("out: 1\nout: 2\n")
    assert "merge keys" in error_of("base: &b {x: 1}\nother:\n  <<: *b\n")


def test_utf8_bom_and_crlf_are_accepted():
    doc = parse_source("\ufeffname: n\r\nlayers: [relu]\r\n".encode(), "x.yaml")
    assert doc.data == {"name": "n", "layers": ["relu"]}
    assert doc.pos(("layers",)) == Pos(2, 9)


def test_not_utf8_names_the_byte_and_line():
    message = error_of(b"name: n\nlayers: [\xff]\n")
    assert message.startswith("x.yaml:2:10: error: file is not UTF-8 text (byte 0xff)")


@pytest.mark.parametrize("text", ["", "   \n# only a comment\n", "---\n"])
def test_empty_files(text):
    assert "file is empty" in error_of(text)


def test_top_level_must_be_a_mapping():
    assert "a spec must be a mapping of keys, got a list" in error_of("- relu\n- tanh\n")


def test_several_documents():
    assert "several YAML documents in one file" in error_of("name: a\n---\nname: b\n")


def test_alias_bomb_is_rejected_quickly():
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    message = error_of("\n".join(lines))
    assert f"more than {MAX_NODES:,} YAML nodes" in message
    assert time.perf_counter() - start < 30  # generous: the point is that it ends


def test_deep_nesting_is_rejected():
    for depth in (300, 5000):  # ours, then libyaml's own limit
        assert "nesting is too deep" in error_of("a: " + "[" * depth + "]" * depth)


def test_files(tmp_path):
    with pytest.raises(NetspecError, match="no such file"):
        read_source(tmp_path / "missing.yaml")
    with pytest.raises(NetspecError, match="is a folder"):
        read_source(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (17 * 1024 * 1024))
    with pytest.raises(NetspecError, match="specs are limited to"):
        read_source(big)


def test_date_like_words_stay_text():
    assert parse_source("name: 2024-01-01\n", "x.yaml").data == {"name": "2024-01-01"}


def test_python_tags_never_run(tmp_path):
    marker = tmp_path / "pwned"
    for tag in ("!!python/object/apply:os.system", "!!python/object/apply:subprocess.call"):
        text = f"name: x\ninput: [1]\nlayers:\n  - {tag} [['touch', '{marker}']]\n"
        assert "is not allowed" in error_of(text)
        text = f"name: x\ninput: [1]\nlayers:\n  - {tag} ['touch {marker}']\n"
        assert "is not allowed" in error_of(text)
    assert not marker.exists()


def test_a_hundred_megabyte_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: instant to make
    start = time.perf_counter()
    with pytest.raises(NetspecError, match="specs are limited to"):
        read_source(big)
    assert time.perf_counter() - start < 5


def _read_error(path) -> str:
    with pytest.raises(NetspecError) as e:
        read_source(path)
    return str(e.value)


REGULAR = "hint: netspec reads specs from regular files; save the spec as a .yaml file"


def test_what_is_not_a_regular_file_is_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it must not wait for a writer
    assert _read_error(tmp_path / "pipe.yaml") == (
        f"{tmp_path / 'pipe.yaml'}: error: is a named pipe (FIFO), not a spec file\n{REGULAR}"
    )
    assert _read_error("/dev/zero") == (
        f"/dev/zero: error: is a device (character special file), not a spec file\n{REGULAR}"
    )
    assert _read_error(tmp_path) == (
        f"{tmp_path}: error: is a folder, not a spec file\nhint: name a .yaml file inside it"
    )


def test_links_that_lead_nowhere(tmp_path):
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    assert _read_error(tmp_path / "a.yaml") == (
        f"{tmp_path / 'a.yaml'}: error: a loop of symbolic links\n"
        "hint: point the link at a real file"
    )
    (tmp_path / "c.yaml").write_text("name: c\n")
    assert _read_error(tmp_path / "c.yaml" / "d.yaml") == (
        f"{tmp_path / 'c.yaml' / 'd.yaml'}: error: no such file (a part of the path is not a "
        "folder)\nhint: check the path"
    )


def test_an_over_long_name_is_shortened_in_the_message(tmp_path):
    name = str(tmp_path / ("x" * 300 + ".yaml"))
    text = _read_error(name)
    assert text == (
        f"{name[:120]}...{name[-60:]}: error: the path is too long\n"
        "hint: use a shorter name or path"
    )


def test_permission_denied(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    (tmp_path / "n.yaml").write_text("name: n\n")
    monkeypatch.setattr(source.os, "open", refuse)
    assert _read_error(tmp_path / "n.yaml") == (
        f"{tmp_path / 'n.yaml'}: error: permission denied\n"
        "hint: make the file readable (chmod a+r FILE)"
    )


def test_a_file_that_grows_after_the_check_is_read_no_further_than_the_limit(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (files.MAX_FILE_BYTES + 10))
    real = os.fstat

    def small(fd):  # as the file was when it was checked
        st = list(real(fd))
        st[6] = 100
        return os.stat_result(st)

    monkeypatch.setattr(source.os, "fstat", small)
    assert _read_error(big) == (
        f"{big}: error: file grew while it was read; specs are limited to 16,777,216\n"
        "hint: a spec describes a network in a few hundred lines; use repeat for depth"
    )
