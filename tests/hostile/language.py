"""The attacks of docs/reliability.md's table through the language itself: YAML tags, imports
reaching outside, the expression interpreter, names torch refuses, broken encodings. Each is a
`netspec check` of one file, refused at its line (or accepted, where the input is fine)."""

from __future__ import annotations

from . import Case

HEAD = "name: net\ninput: [3, 8, 8]\n"


def _spec(name: str, text: str, message: str, code: int = 1, position: bool = True) -> Case:
    return Case(name, ("check", "net.yaml"), {"net.yaml": text}, code, message, position)


def _layers(name: str, layers: str, message: str) -> Case:
    return _spec(name, HEAD + "layers:\n" + layers, message)


def _expr(name: str, expression: str, message: str) -> Case:
    return _layers(name, f'  - conv: {{out: "${{{expression}}}", kernel: 1}}\n', message)


def _import(name: str, target: str, message: str, files: dict[str, str] | None = None) -> Case:
    text = HEAD + f"imports: ['{target}']\nlayers: [relu]\n"
    return Case(name, ("check", "net.yaml"), {"net.yaml": text, **(files or {})}, 1, message, True)


MARKER = "{dir}/pwned"

CASES = [
    _spec("python_object_apply", f"!!python/object/apply:os.system ['touch {MARKER}']\n", "tag"),
    _spec("python_name_tag", HEAD + "layers: [!!python/name:os.system relu]\n", "tag"),
    _spec("python_module_tag", HEAD + "layers: [!!python/module:os]\n", "tag"),
    _spec("custom_tag", HEAD + "layers: [!custom relu]\n", "tag"),
    _spec("binary_tag", HEAD + "layers: [!!binary aGVsbG8=]\n", "tag"),
    _spec("merge_key", "base: &b {name: net}\n<<: *b\ninput: [3]\nlayers: [relu]\n", "merge|<<"),
    _spec("duplicate_key", HEAD + "name: again\nlayers: [relu]\n", "duplicate|twice|again"),
    _spec("set_tag", HEAD + "layers: !!set {relu: null}\n", "tag"),
    _import("import_absolute", "/etc/passwd", "absolute|relative path"),
    _import("import_not_yaml", "../secret.txt", r"\.yaml"),
    _import("import_home", "~/.ssh/id_rsa", r"\.yaml|relative"),
    _import("import_missing", "nothere.yaml", "no such file|cannot import"),
    _import("import_std_unknown", "std:../../etc", "library has no"),
    _import(
        "import_cycle",
        "a.yaml",
        "import cycle",
        {
            "a.yaml": "imports: [b.yaml]\nblocks: {x: {layers: [relu]}}\n",
            "b.yaml": "imports: [a.yaml]\nblocks: {y: {layers: [relu]}}\n",
        },
    ),
    _import(
        "import_self",
        "net.yaml",
        "import cycle",
    ),
    _expr("expr_dunder_import", "__import__('os').system('true')", "not allowed"),
    _expr("expr_class_bases", "().__class__.__bases__", "not allowed"),
    _expr("expr_open", "open('/etc/passwd')", "not allowed"),
    _expr("expr_eval", "eval('1')", "not allowed"),
    _expr("expr_getattr", "getattr(1, 'real')", "not allowed"),
    _expr("expr_attribute", "out.real", "not allowed|undefined"),
    _expr("expr_lambda", "(lambda: 1)()", "not allowed"),
    _expr("expr_comprehension", "[x for x in [1]][0]", "not allowed"),
    _expr("expr_walrus", "(x := 1)", "not allowed"),
    _expr("expr_fstring", "f'{1}'", "not allowed"),
    _expr("expr_underscore", "_x", "reserved|not allowed"),
    _expr("expr_tower", "9 ** 9 ** 9 ** 9", "exponent too large"),
    _expr("expr_big_power", "10 ** 100", "exponent too large|out of range"),
    _expr("expr_long_literal", "1" * 30, "out of range"),
    _expr("expr_string_bomb", "'a' * 100000000", "needs numbers|too long"),
    _expr("expr_list_bomb", "[1] * 100000000", "needs numbers|too long"),
    _expr("expr_division_by_zero", "1 // 0", "division by zero"),
    _expr("expr_unclosed", "1 + (2", "cannot parse|unclosed"),
    _layers("name_forward", "  - relu: {name: forward}\n", "torch module attribute"),
    _layers("name_keyword", "  - relu: {name: class}\n", "keyword"),
    _layers(
        "inplace_first_in_branch",
        "  - inception:\n      branches:\n"
        "        - [{relu: {inplace: true}}]\n        - [identity]\n",
        "in-place|inplace",
    ),
    _spec(
        "not_utf8",
        "name: net\ninput: [3]\nlayers: [r\xe9lu]\n".encode("latin-1"),
        "UTF-8",
        position=False,
    ),
    _spec("empty_file", "", "empty", position=False),
    _spec("only_a_comment", "# nothing\n", "empty", position=False),
    _spec("a_yaml_list", "- relu\n- tanh\n", "mapping", position=True),
    _spec("a_yaml_scalar", "relu\n", "mapping", position=True),
    _spec("two_documents", HEAD + "layers: [relu]\n---\nname: two\n", "document", position=True),
    _spec(
        "nul_byte_in_a_key",
        "name: net\x00\ninput: [3]\nlayers: [relu]\n",
        "control character",
        position=True,
    ),
    _spec("bom_is_fine", "\ufeff" + HEAD + "layers: [relu]\n", "", code=0, position=False),
    _spec(
        "crlf_is_fine",
        (HEAD + "layers: [relu]\n").replace("\n", "\r\n"),
        "",
        code=0,
        position=False,
    ),
    _spec("tabs_indentation", HEAD + "layers:\n\t- relu\n", "tab|found character", position=True),
]
