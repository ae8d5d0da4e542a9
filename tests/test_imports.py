"""Imports: blocks from other files and from netspec's standard library (``std:NAME``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

import netspec
from netspec.cli import main
from netspec.imports import LIBRARY, library_names

IMPORTS = FIXTURES / "imports"
FAILING = ["broken", "cycle3_a", "cycle_a", "errors", "self_import"]


def test_imported_blocks_see_their_own_files_params():
    spec = netspec.load(IMPORTS / "ok.yaml")
    stem, wider, _ = spec.checked.children
    # the library's default_width (16), not the importing spec's param of the same name (99)
    assert stem.output.channels == 16 and wider.output.channels == 32
    assert [c.path for c in stem.children] == ["0.conv", "0.bn", "0.2"]
    built = spec.build()
    assert sum(p.numel() for p in built.parameters()) == spec.num_params


@pytest.mark.parametrize("name", FAILING)
def test_import_errors(name, golden, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["check", f"tests/fixtures/imports/{name}.yaml"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "Traceback" not in err
    golden(f"imports/{name}.txt", err)


def test_an_import_cycle_shows_both_imports(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["check", "tests/fixtures/imports/cycle_a.yaml"]) == 1
    err = capsys.readouterr().err
    positions = re.findall(r"(tests/fixtures/imports/cycle_[ab]\.yaml):(\d+):(\d+)", err)
    assert ("tests/fixtures/imports/cycle_b.yaml", "3", "5") in positions
    assert ("tests/fixtures/imports/cycle_a.yaml", "2", "11") in positions


def test_a_file_exports_only_its_own_blocks(tmp_path):
    (tmp_path / "lib.yaml").write_text("imports: [std:conv]\nblocks:\n  mine: {layers: [relu]}\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\nimports: [lib.yaml]\ninput: [3, 8, 8]\nlayers: [mine, {conv_bn_act: {out: 4}}]\n"
    )
    with pytest.raises(netspec.NetspecError, match='unknown layer kind "conv_bn_act"'):
        netspec.load(tmp_path / "t.yaml")


def test_the_blocks_of_a_whole_spec_can_be_imported(tmp_path):
    resnet = (ROOT / "specs" / "resnet.yaml").read_text()
    (tmp_path / "resnet.yaml").write_text(resnet)
    (tmp_path / "t.yaml").write_text(
        "name: t\nimports: [{file: resnet.yaml, blocks: [stage]}]\ninput: [64, 8, 8]\n"
        "layers: [{stage: {out: 128}}]\n"
    )
    spec = netspec.load(tmp_path / "t.yaml")
    # the imported block sees resnet.yaml's own param blocks_per_stage (2)
    assert [c.path for c in spec.checked.children[0].children] == ["0.0", "0.1"]


def test_a_local_block_may_not_shadow_an_import(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "name: t\nimports: [std:conv]\ninput: [3, 8, 8]\n"
        "blocks:\n  conv_act: {layers: [relu]}\nlayers: [conv_act]\n"
    )
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(tmp_path / "t.yaml")
    assert 'block "conv_act" is defined here and also imported' in str(e.value)
    assert "t.yaml:5:3" in str(e.value) and "t.yaml:2:11: the import" in str(e.value)


def test_loads_resolves_the_standard_library_without_a_file():
    spec = netspec.loads(
        "name: t\nimports: [std:resnet]\ninput: [64, 8, 8]\nlayers: [{basic: {out: 64}}]\n"
    )
    assert spec.output_shape.dims == (64, 8, 8)


def test_layer_overrides_reach_into_imported_blocks():
    spec = netspec.load(IMPORTS / "ok.yaml", **{"1.conv.out": 8})
    assert spec.checked.children[1].output.channels == 8


@pytest.mark.parametrize("name", library_names())
def test_every_library_block_is_documented_and_checks(name):
    doc = (ROOT / "docs" / "library.md").read_text()
    data = netspec.source.read_source(LIBRARY / f"{name}.yaml").data
    assert data["description"]
    for block, definition in data["blocks"].items():
        assert definition.get("description"), f"std:{name} {block} has no description"
        assert f"### `{block}`" in doc, f"std:{name} {block} is not in docs/library.md"


def _examples() -> list[str]:
    text = (ROOT / "docs" / "library.md").read_text()
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("example", range(len(_examples())))
def test_library_doc_examples_check(example):
    spec = netspec.loads(_examples()[example])
    assert spec.num_params > 0


def test_std_resnet_blocks_have_torchvisions_state_dict_layout():
    spec = netspec.loads(
        "name: r18\nimports: [std:resnet]\ninput: [3, 224, 224]\nlayers:\n"
        "  - conv: {name: conv1, out: 64, kernel: 7, stride: 2, padding: 3, bias: false}\n"
        "  - batchnorm: {name: bn1}\n"
        "  - relu: {name: relu}\n"
        "  - pool: {name: maxpool, kernel: 3, stride: 2, padding: 1}\n"
        "  - basic_stage: {name: layer1, out: 64, blocks: 2, stride: 1}\n"
        "  - basic_stage: {name: layer2, out: 128, blocks: 2}\n"
        "  - basic_stage: {name: layer3, out: 256, blocks: 2}\n"
        "  - basic_stage: {name: layer4, out: 512, blocks: 2}\n"
        "  - pool: {name: avgpool, mode: avg, global: true}\n"
        "  - flatten\n"
        "  - linear: {name: fc, out: 1000}\n"
    )
    expected = []
    for line in (ROOT / "tests" / "data" / "torchvision" / "resnet18.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split(" ", 1)
            expected.append((key, [int(d) for d in shape.strip("[]").split(",") if d.strip()]))
    module = spec.build(device="meta")
    assert [(k, list(v.shape)) for k, v in module.state_dict().items()] == expected


def test_a_long_chain_of_imports_is_refused(tmp_path):
    from netspec.imports import MAX_IMPORT_DEPTH

    for i in range(MAX_IMPORT_DEPTH + 5):
        (tmp_path / f"lib{i}.yaml").write_text(
            f"imports: [lib{i + 1}.yaml]\nblocks:\n  b{i}: {{layers: [relu]}}\n"
        )
    (tmp_path / f"lib{MAX_IMPORT_DEPTH + 5}.yaml").write_text("blocks: {last: {layers: [relu]}}\n")
    (tmp_path / "t.yaml").write_text("name: t\nimports: [lib0.yaml]\ninput: [3]\nlayers: [b0]\n")
    with pytest.raises(netspec.NetspecError, match="imports are nested more than 50 files deep"):
        netspec.load(tmp_path / "t.yaml")


@pytest.mark.parametrize("target", ["/etc/passwd", "../../secret.txt", "~/.ssh/id_rsa", "x.py"])
def test_imports_only_read_relative_yaml_files(tmp_path, target):
    (tmp_path / "t.yaml").write_text(
        f"name: t\nimports: ['{target}']\ninput: [3]\nlayers: [relu]\n"
    )
    with pytest.raises(
        netspec.NetspecError, match=r"an import is a relative path to a \.yaml file"
    ):
        netspec.load(tmp_path / "t.yaml")


def test_a_file_imported_twice_is_read_once(tmp_path, monkeypatch):
    import netspec.imports

    (tmp_path / "lib.yaml").write_text("blocks: {one: {layers: [relu]}}\n")
    (tmp_path / "a.yaml").write_text("imports: [lib.yaml]\nblocks: {two: {layers: [one]}}\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\nimports: [a.yaml, lib.yaml]\ninput: [3]\nlayers: [one, two]\n"
    )
    reads: list[str] = []
    real = netspec.imports.read_source
    monkeypatch.setattr(
        netspec.imports, "read_source", lambda p, shown: reads.append(shown) or real(p, shown)
    )
    assert netspec.load(tmp_path / "t.yaml").output_shape.dims == (3,)
    assert sorted(reads) == sorted({*reads}) and len(reads) == 2


def test_check_takes_a_library_file(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    files = [f"netspec/library/{n}.yaml" for n in library_names()]
    assert main(["check", *files, "tests/fixtures/imports/lib/common.yaml"]) == 0
    out = capsys.readouterr().out
    assert "netspec/library/inception.yaml: ok  library of 1 block: inception_v1\n" in out
    assert "tests/fixtures/imports/lib/common.yaml: ok  library of 2 blocks: stem, head\n" in out
    assert main(["check", "tests/fixtures/imports/lib/broken.yaml"]) == 1
    assert 'unknown option "kernal" for conv' in capsys.readouterr().err


def test_an_expectation_on_an_imported_block_points_at_the_call():
    with pytest.raises(netspec.NetspecError) as e:
        netspec.loads(
            "name: t\nimports: [std:conv]\ninput: [3, 8, 8]\n"
            "layers: [{conv_bn_act: {out: 4, expect: [5, 8, 8]}}]\n"
        )
    assert str(e.value).startswith("<string>:4:41: error: ")
    assert "conv_bn_act, used at <string>:4:11" in str(e.value)


def test_a_failing_file_is_checked_once_however_often_it_is_imported(tmp_path, monkeypatch):
    import netspec.imports

    depth = 8  # a diamond: every level imports both files of the next, 2**8 paths to the end
    for level in range(depth):
        for side in "ab":
            (tmp_path / f"l{level}{side}.yaml").write_text(
                f"imports: [l{level + 1}a.yaml, l{level + 1}b.yaml]\n"
                f"blocks: {{b{level}{side}: {{layers: [relu]}}}}\n"
            )
    for side in "ab":
        (tmp_path / f"l{depth}{side}.yaml").write_text(
            f"blocks: {{e{side}: {{layers: [nosuch]}}}}\n"
        )
    (tmp_path / "t.yaml").write_text("name: t\nimports: [l0a.yaml]\ninput: [3]\nlayers: [relu]\n")
    reads: list[str] = []
    real = netspec.imports.read_source
    monkeypatch.setattr(
        netspec.imports, "read_source", lambda p, shown: reads.append(shown) or real(p, shown)
    )
    with pytest.raises(netspec.NetspecError, match='unknown layer kind "nosuch"'):
        netspec.load(tmp_path / "t.yaml")
    assert len(reads) == len(set(reads)) == 2 * depth + 1


def test_new_from_a_spec_with_imports_checks_them_from_the_new_files_folder(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "blocks").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "blocks" / "b.yaml").write_text("blocks: {b: {layers: [relu]}}\n")
    source = tmp_path / "specs" / "a.yaml"
    source.write_text("name: a\nimports: [../blocks/b.yaml]\ninput: [3]\nlayers: [b]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["new", "c", "--from", "specs/a.yaml", "-o", "specs/c.yaml"]) == 0
    assert (tmp_path / "specs" / "c.yaml").exists()
    # beside the spec's folder the import would name nothing: the copy is refused, not written
    assert main(["new", "d", "--from", "specs/a.yaml", "-o", "d.yaml"]) == 1
    assert "cannot import '../blocks/b.yaml'" in capsys.readouterr().err
    assert not (tmp_path / "d.yaml").exists()


LIBRARY_WITH_PARAMS = """
description: a block whose width is a file-wide setting
params: {width: 8, act: relu}
blocks:
  unit:
    layers:
      - conv: {out: "${width}", kernel: 1}
      - ${act}
"""


def _spec_importing(tmp_path, settings: str) -> str:
    (tmp_path / "lib.yaml").write_text(LIBRARY_WITH_PARAMS)
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "name: net\ninput: [3, 8, 8]\n"
        f"imports:\n  - {{file: lib.yaml, params: {settings}}}\n"
        "layers: [unit]\n"
    )
    return str(spec)


def test_an_import_sets_the_imported_files_params(tmp_path):
    spec = netspec.load(_spec_importing(tmp_path, "{width: 16, act: silu}"))
    assert spec.output_shape.dims == (16, 8, 8)
    assert [c.node.kind.name for c in spec.checked.walk()[1:]][-1] == "silu"
    # the file's own defaults where the import sets nothing
    assert netspec.load(_spec_importing(tmp_path, "{}")).output_shape.dims == (8, 8, 8)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("{widht: 16}", ':4:31: error: lib.yaml has no param "widht"'),
        ("{width: wide}", ":4:38: error: lib.yaml's param width: expected an integer"),
    ],
)
def test_an_imports_params_are_checked_at_the_import(tmp_path, settings, expected):
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(_spec_importing(tmp_path, settings))
    assert expected in e.value.format()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("{widht: 16}", ':4:31: error: lib.yaml has no param "widht"'),
        ("{width: wide}", ":4:38: error: lib.yaml's param width: expected an integer"),
    ],
)
def test_an_imports_params_are_checked_where_none_of_its_blocks_is_used(
    tmp_path, settings, expected
):
    spec = _spec_importing(tmp_path, settings)
    Path(spec).write_text(Path(spec).read_text().replace("layers: [unit]", "layers: [relu]"))
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(spec)
    assert expected in e.value.format()


def test_params_set_by_an_imported_files_own_import_are_checked(tmp_path):
    _spec_importing(tmp_path, "{}")
    (tmp_path / "mid.yaml").write_text(
        "imports:\n  - {file: lib.yaml, params: {width: wide}}\nblocks: {x: {layers: [relu]}}\n"
    )
    (tmp_path / "net.yaml").write_text(
        "name: net\ninput: [3]\nimports: [mid.yaml]\nlayers: [relu]\n"
    )
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(str(tmp_path / "net.yaml"))
    assert e.value.format().startswith(
        f"{tmp_path / 'mid.yaml'}:2:38: error: lib.yaml's param width: expected an integer"
    )


@pytest.mark.parametrize("text", ["", "\n# nothing here\n"])
def test_an_empty_import_is_refused_at_the_import(tmp_path, text):
    (tmp_path / "empty.yaml").write_text(text)
    (tmp_path / "net.yaml").write_text(
        "name: net\ninput: [3]\nimports:\n  - std:conv\n  - empty.yaml\nlayers: [relu]\n"
    )
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(str(tmp_path / "net.yaml"))
    assert e.value.format().splitlines()[:2] == [
        f"{tmp_path / 'net.yaml'}:5:5: error: cannot import 'empty.yaml': file is empty "
        f"({tmp_path / 'empty.yaml'})",
        "hint: an imported file defines blocks:, and may declare params:",
    ]


def test_an_import_that_is_no_yaml_is_refused_at_its_line_and_names_the_import(tmp_path):
    (tmp_path / "bad.yaml").write_text("blocks: [\n")
    (tmp_path / "net.yaml").write_text(
        "name: net\ninput: [3]\nimports:\n  - bad.yaml\nlayers: [relu]\n"
    )
    with pytest.raises(netspec.NetspecError) as e:
        netspec.load(str(tmp_path / "net.yaml"))
    text = e.value.format()
    assert text.startswith(f"{tmp_path / 'bad.yaml'}:2:1: error: YAML syntax")
    assert f"note: {tmp_path / 'net.yaml'}:4:5: imported here" in text
