"""The files that netspec's JSON Schema is tested on, shared by the jsonschema tests
(test_schema_json.py) and the real yaml-language-server's (test_schema_yls.py), so that both
judge the same texts: every bundled and documented file (no complaint), and the mistakes an
editor should underline."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, SPECS

from netspec.errors import NetspecError
from netspec.imports import LIBRARY, is_library, load_library
from netspec.source import parse_source
from netspec.spec import Spec

#: the template of ``netspec new``, which has no schema line (the command adds it)
TEMPLATE = ROOT / "netspec" / "templates" / "new.yaml"
BUNDLED = sorted(SPECS.glob("**/*.yaml")) + sorted((ROOT / "examples").glob("*.yaml")) + [TEMPLATE]
LIBRARY_FILES = sorted(LIBRARY.glob("*.yaml"))


def _documented() -> list[tuple[str, str]]:
    """Every YAML example of the docs that netspec accepts as a whole file (spec or library)."""
    out = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, body in enumerate(re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)):
            try:
                doc = parse_source(body, page.name)
                load_library(doc) if is_library(doc) else Spec(doc)
            except NetspecError:  # a fragment, or a deliberate mistake (docs/errors.md)
                continue
            out.append((f"{page.relative_to(ROOT).as_posix()}#{i}", body))
    return out


DOCUMENTED = _documented()

SPEC = "name: x\ninput: [3, 8, 8]\n"
OWN_BLOCK = "blocks: {mine: {args: {width: 1}, layers: [relu]}}\n"


#: (text, the word of it that is wrong): what the schema alone must reject
MISTAKES = [
    pytest.param(SPEC + "layers:\n  - convv: {out: 8}\n", "convv", id="unknown-kind"),
    pytest.param(SPEC + "layers:\n  - relu\n  - convv\n", "convv", id="unknown-bare-kind"),
    pytest.param(
        SPEC + "imports: [std:conv]\nlayers:\n  - repeat: {times: 2, body: [{convv: {}}]}\n",
        "convv",
        id="unknown-kind-in-a-body",
    ),
    pytest.param(SPEC + "layers:\n  - conv: {out: 8, kernel: big}\n", "big", id="pair-option-type"),
    pytest.param(
        SPEC + "layers:\n  - conv: {out: 8, kernel: 3, stride: [1, 2, 3]}\n",
        "[1, 2, 3]",
        id="pair-of-three",
    ),
    pytest.param(SPEC + "layers:\n  - pool: {kernel: 2, padding: -1}\n", "-1", id="below-minimum"),
    pytest.param(
        SPEC + "imports: [std:resnet]\nlayers:\n  - basic: {out: 8, strde: 2}\n",
        "strde",
        id="misspelt-library-arg",
    ),
    pytest.param(
        SPEC + "imports: [std:resnet]\n" + OWN_BLOCK + "layers:\n  - basic: {out: 8, strde: 2}\n",
        "strde",
        id="misspelt-library-arg-beside-own-blocks",
    ),
    pytest.param(
        SPEC
        + "imports: [std:conv]\nblocks: {b: {layers: [{conv_act: {out: 8, krnel: 3}}]}}\n"
        + "layers: [b]\n",
        "krnel",
        id="misspelt-library-arg-in-a-block",
    ),
    pytest.param(
        SPEC + "imports: [std:resnet]\nlayers:\n  - basic: {out: eight}\n",
        "eight",
        id="library-arg-type",
    ),
    pytest.param(SPEC + "layers:\n  - conv: {out: 8, kernal: 3}\n", "kernal", id="misspelt-option"),
    pytest.param(SPEC + "layers:\n  - conv: {out: eight, kernel: 3}\n", "eight", id="option-type"),
    pytest.param(
        SPEC + "layers:\n  - pool: {mode: maximum, kernel: 2}\n", "maximum", id="not-a-choice"
    ),
    pytest.param(
        SPEC + "layers:\n  - relu: {inplace: yes please}\n", "yes please", id="not-a-boolean"
    ),
    pytest.param(
        SPEC + "layers:\n  - {conv: {out: 8, kernel: 3}, name: first}\n", "name", id="two-keys"
    ),
    pytest.param(
        "blocks: {b: {layers: [relu]}}\noutput: [10]\n", "[10]", id="library-with-an-output"
    ),
    pytest.param(
        "name: x\nlayers: [relu]\nblocks: {3x3: {layers: [relu]}}\n", "3x3", id="not-a-block-name"
    ),
]

#: what the schema must accept though it looks odd: expressions, block calls, a file's own names
ACCEPTED = [
    pytest.param(
        "name: x\ninput: ['${c}', 8, 8]\nparams: {c: 3}\n" + OWN_BLOCK + "layers:\n"
        "  - conv: {out: '${c * 2}', kernel: 3, padding: '${1}', stride: ['${s}', 1]}\n"
        "  - mine: {width: 2}\n  - mine\n  - '${act}'\n  - batchnorm: {eps: 1e-5, momentum: null}\n"
        "  - pool: {mode: '${m}', global: true}\n  - linear: '${n}'\n"
        # a name written with the index, as the loader takes it (repeat copies, groups)
        "  - repeat: {times: 2, body: [{group: {name: 'stage${i + 2}', layers: [relu]}}]}\n",
        id="expressions-and-block-calls",
    ),
    # the schema cannot read the names under blocks:; netspec check (and netspec lsp) can
    pytest.param(
        SPEC + OWN_BLOCK + "layers:\n  - convv: {out: 8}\n", id="any-name-beside-own-blocks"
    ),
]
