"""The static check equals torch: what ``check`` accepts builds and runs, what it refuses torch
would refuse too (at the layer, with its line), and a saved file loads back.

Each configuration torch refuses is a ``check`` case (exit 1 at its line) and, where ``build``
once reached torch with it, a ``build`` case too; the configurations at torch's limits are
built (exit 0), and ``-o x.pt`` / ``x.pt2`` write files that load.
"""

from __future__ import annotations

from . import Case

NET = "{dir}/net.yaml"


def _net(layers: str, input: str = "[3, 8, 8]", head: str = "") -> dict[str, str]:
    return {"net.yaml": f"name: net\n{head}input: {input}\nlayers:\n{layers}"}


def _refused(
    name: str, layers: str, message: str, input: str = "[3, 8, 8]", head: str = ""
) -> list[Case]:
    """A configuration torch refuses: refused by check and by build, at its line."""
    files = _net(layers, input, head)
    return [
        Case(f"{name}_check", ("check", NET), files, message=message, position=True),
        Case(f"{name}_build", ("build", NET), files, message=message, position=True, torch=True),
    ]


def _builds(name: str, layers: str, input: str = "[3, 8, 8]", *args: str) -> Case:
    """A configuration at torch's limit that torch runs: built (and saved, with -o)."""
    outputs = tuple(a for a in args if a.startswith("x."))
    return Case(
        name,
        ("build", NET, *(f"{{dir}}/{a}" if a in outputs else a for a in args)),
        _net(layers, input),
        code=0,
        torch=True,
        outputs=outputs,
    )


GRAPH = """  - relu: {name: NAME, to: a}
  - conv: {out: 3, kernel: 1, from: a, to: b}
  - add: {from: [a, b]}
"""

CASES = [
    # padding_mode with padding: same larger than the input (once passed check, failed in build)
    *_refused(
        "same_reflect_small",
        "  - conv: {out: 4, kernel: 7, padding: same, padding_mode: reflect}\n",
        "padding_mode reflect needs padding below the input size, padding: same pads 3×3 on 2×2",
        input="[3, 2, 2]",
    ),
    *_refused(
        "same_circular_small",
        "  - conv: {out: 4, kernel: 3, dilation: 3, padding: same, padding_mode: circular}\n",
        "padding_mode circular needs padding at most the input size",
        input="[3, 2, 2]",
    ),
    Case(
        "explicit_reflect_check",
        ("check", NET),
        _net("  - conv: {out: 4, kernel: 3, padding: 8, padding_mode: reflect}\n"),
        message="padding_mode reflect needs padding below the input size",
        position=True,
    ),
    _builds(
        "circular_at_the_limit",
        "  - conv: {out: 4, kernel: 3, padding: 8, padding_mode: circular}\n",
    ),
    _builds(
        "same_reflect_at_the_limit",
        "  - conv: {out: 4, kernel: 3, padding: same, padding_mode: reflect}\n",
        "[3, 2, 2]",
    ),
    # conv_transpose, pool, upsample, norms, channels, activations: torch's own rules
    *_refused(
        "transpose_output_padding",
        "  - conv_transpose: {out: 4, kernel: 3, stride: 2, output_padding: 2}\n",
        "output_padding 2 on the height must be smaller than the stride",
    ),
    Case(
        "transpose_crops_all_check",
        ("check", NET),
        _net("  - conv_transpose: {out: 4, kernel: 1, padding: 4}\n"),
        message="crops 8 rows from a height of 8, leaving none",
        position=True,
    ),
    *_refused(
        "pool_padding_half_kernel",
        "  - pool: {kernel: 2, padding: 2}\n",
        "more than half the kernel",
    ),
    Case(
        "pool_window_too_big_check",
        ("check", NET),
        _net("  - pool: {kernel: 9}\n"),
        message="larger than the padded input",
        position=True,
    ),
    Case(
        "upsample_align_corners_nearest",
        ("check", NET),
        _net("  - upsample: {scale: 2, mode: nearest, align_corners: true}\n"),
        message="only modes bilinear and bicubic take it",
        position=True,
    ),
    Case(
        "upsample_to_nothing",
        ("check", NET),
        _net("  - upsample: {scale: 0.1}\n"),
        message="gives an empty output",
        position=True,
    ),
    _builds(
        "upsample_bicubic_corners",
        "  - upsample: {size: [5, 3], mode: bicubic, align_corners: true}\n",
    ),
    *_refused("groupnorm_groups", "  - groupnorm: 2\n", "do not divide by it"),
    Case(
        "instancenorm_one_pixel",
        ("check", NET),
        _net("  - instancenorm: {}\n", "[3, 1, 1]"),
        message="normalises each channel's one value to 0",
        position=True,
    ),
    _builds(
        "batchnorm_no_running_stats_flat", "  - batchnorm: {track_running_stats: false}\n", "[6]"
    ),
    _builds("groupnorm_one_group_flat", "  - groupnorm: {groups: 1, affine: false}\n", "[1]"),
    Case(
        "slice_negative_out_of_range",
        ("check", NET),
        _net("  - slice: {start: -4}\n"),
        message="slice start=-4 is outside the 3 channels",
        position=True,
    ),
    Case(
        "split_sizes",
        ("check", NET),
        _net("  - split: {sizes: [1, 1]}\n"),
        message="add up to 2, not the 3 channels",
        position=True,
    ),
    Case(
        "channel_shuffle_groups",
        ("check", NET),
        _net("  - channel_shuffle: 2\n"),
        message="do not divide by it",
        position=True,
    ),
    Case(
        "softmax_dim",
        ("check", NET),
        _net("  - softmax: {dim: 4}\n"),
        message="dim=4 is out of range",
        position=True,
    ),
    Case(
        "hardtanh_order",
        ("check", NET),
        _net("  - hardtanh: {min_val: 1, max_val: 1}\n"),
        message="min_val below max_val",
        position=True,
    ),
    # the padded copy counts in the memory estimate: refused before torch allocates 15 GB
    Case(
        "padded_copy_memory",
        ("build", NET),
        _net(
            "  - conv: {out: 1, kernel: 1, stride: 10000, padding: 30000,"
            " padding_mode: replicate}\n",
            "[1, 1000, 1000]",
        ),
        message="building this network needs about",
        torch=True,
    ),
    # zero padding is never materialised (torch's kernels skip it): built in about 16 MB
    _builds(
        "zero_padding_memory",
        "  - conv: {out: 1, kernel: 3, stride: 10000, padding: 30000}\n",
        "[1, 1000, 1000]",
    ),
    # names the code torch generates cannot carry
    *_refused("layer_named_self", GRAPH.replace("NAME", "self"), '"self" names the module itself'),
    Case(
        "name_self_from_expression",
        ("check", NET),
        _net(GRAPH.replace("NAME", "'${n}'"), head="params: {n: self}\n"),
        message='"self" names the module itself',
        position=True,
    ),
    Case(
        "group_named_self",
        ("check", NET),
        _net("  - group: {name: self, layers: [relu, relu]}\n"),
        message='"self" names the module itself',
        position=True,
    ),
    Case(
        "branch_named_none",
        ("check", NET),
        _net("  - inception:\n      branches:\n        None: [relu]\n        b: [identity]\n"),
        message='"None" is a Python keyword',
        position=True,
    ),
    Case(
        "name_def_from_param",
        ("check", NET),
        _net("  - group: {name: '${n}', layers: [relu]}\n", head="params: {n: def}\n"),
        message='"def" is a Python keyword',
        position=True,
    ),
    # saved files load back
    _builds(
        "saved_pt_loads",
        "  - conv: {out: 4, kernel: 3, padding: same, padding_mode: reflect}\n",
        "[3, 8, 8]",
        "-o",
        "x.pt",
    ),
    _builds(
        "saved_pt2_loads",
        "  - conv: {out: 4, kernel: 3, padding: same, padding_mode: circular}\n",
        "[3, 8, 8]",
        "-o",
        "x.pt2",
    ),
    _builds("graph_named_print_pt", GRAPH.replace("NAME", "print"), "[3, 8, 8]", "-o", "x.pt"),
    _builds("graph_named_getattr_pt", GRAPH.replace("NAME", "getattr"), "[3, 8, 8]", "-o", "x.pt"),
    _builds("graph_named_torch_pt", GRAPH.replace("NAME", "torch"), "[3, 8, 8]", "-o", "x.pt"),
    _builds(
        "branches_named_pt2",
        "  - inception:\n      branches:\n        input: [relu]\n        output: [identity]\n",
        "[3, 8, 8]",
        "-o",
        "x.pt2",
    ),
]
