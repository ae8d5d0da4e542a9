"""The build's memory estimate against what torch really allocates (issue 19).

Each case is a one-layer spec. Its measured peak is the most memory torch's CPU allocator held
at once while the module was built, its inputs made and one forward pass run (a batch of 2 in
eval mode without gradients, as ``netspec build`` does), read from
the profiler's memory events (``netspec.training.peak.cpu_peak``, which ``netspec train``
measures with too): every allocation and free of c10's CPU
allocator, in order, which oneDNN's reordered tensors and scratchpads go through too. It is
exact to the byte and deterministic, unlike a process's peak resident memory (VmHWM), which
moves with glibc reusing freed pages and counts torch's own import; so it runs in this
process, without a subprocess per case. What it cannot see (oneDNN's generated code, thread
stacks) does not grow with the tensors.

The estimate (``Spec.memory``) must be an upper bound: ``measured ≤ estimate ≤ 2 × measured
+ slack``, where slack is 1 MiB plus the allowance the estimate makes for oneDNN's
cache-sized pieces of unfolded patches (``ONEDNN_PATCHES_PER_CPU`` float32 values a CPU,
4 MiB on 2 CPUs), which a small convolution never fills.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from conftest import cli

import netspec as ns
from netspec.build import DEFAULT_MAX_BYTES, FORWARD_BATCH, example_inputs
from netspec.errors import NetspecError
from netspec.kinds.conv import ONEDNN_PATCHES_PER_CPU
from netspec.training.peak import cpu_peak

SLACK = 2**20 + ONEDNN_PATCHES_PER_CPU * (os.cpu_count() or 1) * 4

#: a 1×1 output from a 3×3 kernel dilated and padded by 10^9: torch never builds the padding
HEADLINE = "conv: {out: 4, kernel: 3, dilation: 1000000000, padding: 1000000000}"

CASES = {
    # zero padding is skipped by torch's kernels, however large
    "huge_dilation_and_padding": ("[3, 1, 1]", HEADLINE, 2),
    "zero_padding_30000": (
        "[1, 1000, 1000]",
        "conv: {out: 1, kernel: 3, stride: 10000, padding: 30000}",
        2,
    ),
    "zero_padding_300_gemm": ("[8, 16, 16]", "conv: {out: 8, kernel: 3, padding: 300}", 2),
    "conv_3x3": ("[64, 32, 32]", "conv: {out: 64, kernel: 3, padding: 1}", 2),
    "first_conv_7x7": ("[3, 64, 64]", "conv: {out: 16, kernel: 7, stride: 2, padding: 3}", 2),
    "conv_1x1": ("[64, 32, 32]", "conv: {out: 128, kernel: 1}", 2),
    "one_output_channel": ("[1, 128, 128]", "conv: {out: 1, kernel: 3, padding: 1}", 2),
    "same_even_kernel": ("[16, 64, 64]", "conv: {out: 16, kernel: 4, padding: same}", 2),
    "grouped": ("[64, 32, 32]", "conv: {out: 64, kernel: 3, padding: 1, groups: 4}", 2),
    "depthwise": ("[64, 32, 32]", "conv: {out: 64, kernel: 3, padding: 1, groups: 64}", 2),
    "grouped_small_channels": (
        "[6, 128, 128]",
        "conv: {out: 6, kernel: 3, padding: 1, groups: 3}",
        2,
    ),
    # the padded copy torch makes with F.pad
    "reflect": ("[64, 32, 32]", "conv: {out: 64, kernel: 3, padding: 1, padding_mode: reflect}", 2),
    "replicate": (
        "[16, 128, 128]",
        "conv: {out: 16, kernel: 3, padding: 8, padding_mode: replicate}",
        2,
    ),
    "circular": (
        "[16, 128, 128]",
        "conv: {out: 16, kernel: 3, padding: 8, padding_mode: circular}",
        2,
    ),
    "reflect_much": (
        "[1, 300, 300]",
        "conv: {out: 1, kernel: 1, stride: 100, padding: 299, padding_mode: reflect}",
        2,
    ),
    # a batch of one: ATen's own im2col kernel, the patches of the whole output
    "native_im2col": ("[8, 16, 16]", "conv: {out: 8, kernel: 3, padding: 100}", 1),
    "native_1x1_padded": ("[64, 16, 16]", "conv: {out: 8, kernel: 1, padding: 20}", 1),
    "conv_transpose": (
        "[64, 32, 32]",
        "conv_transpose: {out: 32, kernel: 4, stride: 2, padding: 1}",
        2,
    ),
    "conv_transpose_grouped": (
        "[6, 32, 32]",
        "conv_transpose: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 3}",
        2,
    ),
    "conv_transpose_native": (
        "[8, 32, 32]",
        "conv_transpose: {out: 8, kernel: 3, dilation: 3, output_padding: 2}",
        2,
    ),
    "max_pool_padded": ("[64, 64, 64]", "pool: {kernel: 3, stride: 2, padding: 1}", 2),
    "avg_pool_padded": ("[64, 64, 64]", "pool: {mode: avg, kernel: 3, stride: 2, padding: 1}", 2),
    "adaptive_max_pool": ("[64, 64, 64]", "pool: {output: 5}", 2),
    "global_max_pool": ("[64, 64, 64]", "pool: {global: true}", 2),
    "upsample": ("[64, 32, 32]", "upsample: {scale: 2}", 2),
    "upsample_bilinear": ("[64, 32, 32]", "upsample: {scale: 2, mode: bilinear}", 2),
}


def _spec(input: str, layer: str) -> ns.Spec:
    return ns.loads(f"name: net\ninput: {input}\nlayers:\n  - {layer}\n")


def measured_peak(spec: ns.Spec, batch: int) -> int:
    """The most bytes torch's CPU allocator held at once while building ``spec``, making its
    inputs and running one forward pass of ``batch`` in eval mode without gradients."""

    def run() -> None:
        with torch.no_grad():
            model = spec.build().eval()
            inputs = example_inputs(spec, batch)
            model(*inputs)
            del model, inputs

    return cpu_peak(run)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name", CASES)
def test_the_estimate_bounds_what_torch_allocates(name: str) -> None:
    input, layer, batch = CASES[name]
    spec = _spec(input, layer)
    measured = measured_peak(spec, batch)
    estimate = spec.memory(batch)
    assert measured <= estimate <= 2 * measured + SLACK, (measured, estimate)


def test_zero_padding_is_not_counted_as_allocated() -> None:
    # the estimate once counted the padded input, (2·10^9 + 1)² values a channel
    assert _spec("[3, 1, 1]", HEADLINE).memory(FORWARD_BATCH) < SLACK


def test_netspec_build_accepts_a_1x1_output_from_huge_padding(tmp_path: Any) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(f"name: net\ninput: [3, 1, 1]\nlayers:\n  - {HEADLINE}\n")
    run = cli("build", str(path))
    assert run.code == 0, run.err
    assert "output  (4, 1, 1)" in run.out


@pytest.mark.parametrize(
    ("input", "layer", "needs"),
    [
        (
            "[1, 1000, 1000]",
            "{out: 1, kernel: 1, stride: 10000, padding: 30000, padding_mode: replicate}",
            "59.5 GB",
        ),
        (
            "[1, 20000, 20000]",
            "{out: 1, kernel: 1, stride: 10000, padding: 19999, padding_mode: reflect}",
            "60.8 GB",
        ),
        (
            "[1, 20000, 20000]",
            "{out: 1, kernel: 1, stride: 10000, padding: 20000, padding_mode: circular}",
            "60.8 GB",
        ),
    ],
)
def test_a_huge_padded_copy_is_refused_before_torch_allocates_it(
    input: str, layer: str, needs: str
) -> None:
    spec = _spec(input, f"conv: {layer}")
    with pytest.raises(NetspecError) as e:
        spec.build(max_bytes=DEFAULT_MAX_BYTES)
    assert str(e.value) == (
        f"<string>: error: building this network needs about {needs} (2 parameters plus one "
        "forward pass); the limit is 8.0 GB\n"
        "hint: build on the meta device (--meta), or raise the limit with --max-memory GB"
    )
