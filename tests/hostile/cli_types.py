"""Wrong types and out-of-range values on the command line: a usage error (exit 2), never a
traceback."""

from __future__ import annotations

from . import Case

LENET = "{dir}/net.yaml"
FILES = {"net.yaml": "name: net\ninput: [1, 28, 28]\nlayers: [flatten, {linear: 10}]\n"}


def _misuse(name: str, *args: str, message: str) -> Case:
    return Case(name, args, FILES, code=2, message=message)


CASES = [
    _misuse("max_layers_word", "check", LENET, "--max-layers", "many", message="--max-layers"),
    _misuse("max_layers_zero", "check", LENET, "--max-layers", "0", message="--max-layers"),
    _misuse("max_layers_float", "check", LENET, "--max-layers", "1.5", message="--max-layers"),
    _misuse("max_memory_inf", "build", LENET, "--max-memory", "inf", message="--max-memory"),
    _misuse("max_memory_nan", "build", LENET, "--max-memory", "nan", message="--max-memory"),
    _misuse("max_memory_negative", "build", LENET, "--max-memory", "-1", message="--max-memory"),
    _misuse("max_memory_huge", "build", LENET, "--max-memory", "1e400", message="--max-memory"),
    _misuse("batch_huge", "summary", LENET, "--batch", "100000000000000000000", message="--batch"),
    _misuse(
        "batch_huge_static", "summary", LENET, "--static", "--batch", "1e20", message="--batch"
    ),
    _misuse("batch_zero", "summary", LENET, "--static", "--batch", "0", message="--batch"),
    _misuse("depth_negative", "render", LENET, "--depth", "-3", message="--depth"),
    _misuse("seed_negative", "build", LENET, "--seed", "-1", message="--seed"),
    _misuse("seed_word", "build", LENET, "--seed", "lucky", message="--seed"),
    _misuse("seed_huge", "build", LENET, "--seed", "1" + "0" * 30, message="--seed"),
    _misuse("set_no_equals", "check", LENET, "--set", "width", message="--set"),
    _misuse("set_alias", "check", LENET, "--set", "x=[*a]", message="--set"),
    _misuse("unknown_command", "frobnicate", LENET, message='no command "frobnicate"'),
    _misuse("unknown_option", "check", LENET, "--colour", message="unrecognized arguments"),
    _misuse("format_unknown", "render", LENET, "--format", "gif", message="--format"),
    _misuse("rankdir_unknown", "render", LENET, "--rankdir", "XY", message="--rankdir"),
    _misuse("no_spec", "check", message="required|SPEC"),
    _misuse("output_is_folder", "build", LENET, "-o", "{dir}", message="folder"),
    _misuse("output_suffix", "build", LENET, "-o", "{dir}/net.h5", message=r"\.onnx \(ONNX\)"),
    _misuse("output_is_the_spec", "summary", LENET, "--static", "-o", LENET, message="itself"),
    Case(
        "scale_without_scales",
        ("check", LENET, "--scale", "s"),
        FILES,
        message="declares no scales",
    ),
    Case("scale_empty", ("check", LENET, "--scale", ""), FILES, message="declares no scales"),
]
