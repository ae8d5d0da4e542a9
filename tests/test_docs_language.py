"""docs/language.md is the complete reference: every kind and every option is in it."""

from __future__ import annotations

import pytest
from conftest import ROOT

from netspec.registry import all_kinds, is_builtin

LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
KINDS = [k for k in all_kinds() if is_builtin(k)]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_every_kind_and_option_is_documented(kind):
    assert f"`{kind.name}`" in LANGUAGE, f"kind {kind.name} is not in docs/language.md"
    for name, field in kind.Options.model_fields.items():
        option = field.alias or name
        # in a table or the text (`option`), or in a YAML example (option: ...)
        documented = f"`{option}`" in LANGUAGE or f" {option}: " in LANGUAGE
        assert documented, f"{kind.name} option {option} is not in docs/language.md"


@pytest.mark.parametrize("key", ["name", "description", "imports", "input", "output", "params"])
def test_every_top_level_key_is_documented(key):
    assert f"| `{key}` |" in LANGUAGE
