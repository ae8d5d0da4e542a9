"""Attention written as a block: ``matmul`` (with ``transpose``), ``scale``, ``softmax`` over an
axis and ``gather`` (a bias read from its table): shapes, MACs and errors against torch."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import yaml

import netspec
from netspec.errors import NetspecError


def load(shape: list[int], layers: list[Any]) -> netspec.Spec:
    return netspec.loads(yaml.safe_dump({"name": "parts", "input": shape, "layers": layers}))


#: one head's attention over 5 tokens of 4 features, q, k and v the input itself
ATTENTION = [
    {"identity": {"to": "x"}},
    {"scale": {"by": 0.5, "from": "x", "to": "q"}},
    {"matmul": {"from": ["q", "x"], "transpose": True}},
    {"softmax": {"axis": -1, "to": "a"}},
    {"matmul": {"from": ["a", "x"]}},
]


def test_an_attention_written_as_a_block_computes_softmax_of_q_kt_times_v():
    spec = load([5, 4], ATTENTION)
    assert spec.checked.output.dims == (5, 4)
    # Q·Kᵀ and A·V: 5·4·5 each
    assert spec.macs == 2 * 5 * 4 * 5
    model = spec.build().eval()
    x = torch.randn(3, 5, 4)
    expected = torch.softmax((x * 0.5) @ x.transpose(-2, -1), dim=-1) @ x
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize(
    ("first", "second", "transpose", "out"),
    [
        ([2, 3, 5, 4], [2, 3, 5, 4], True, (2, 3, 5, 5)),
        ([2, 3, 5, 4], [1, 3, 4, 6], False, (2, 3, 5, 6)),
        ([3, 4], [4, 7], False, (3, 7)),
    ],
)
def test_matmul_broadcasts_batch_axes_as_torch(
    first: list[int], second: list[int], transpose: bool, out: tuple[int, ...]
):
    layers = [
        {"reshape": {"shape": first, "to": "a"}},
        {"buffer": {"shape": second, "init": "normal", "to": "b"}},
        {"matmul": {"from": ["a", "b"], "transpose": transpose}},
    ]
    spec = load([int(torch.tensor(first).prod())], [{"group": {"layers": layers}}])
    assert spec.checked.output.dims == out
    inner = first[-1]
    assert spec.macs == int(torch.tensor(out).prod()) * inner
    model = spec.build().eval()
    x = torch.randn(2, *spec.checked.input.dims)
    b = model[0].get_buffer("1") if isinstance(model, torch.nn.Sequential) else None
    b = b if b is not None else next(iter(model.buffers()))
    b = b.transpose(-2, -1) if transpose else b
    torch.testing.assert_close(model(x), torch.matmul(x.reshape(2, *first), b))


def error(shape: list[int], layers: list[Any]) -> str:
    with pytest.raises(NetspecError) as info:
        load(shape, layers)
    return str(info.value)


def test_inner_sizes_that_differ_name_each_input_and_where_it_was_made():
    text = error(
        [5, 4],
        [
            {"linear": {"out": 6, "to": "k"}},
            {"matmul": {"from": ["input", "k"]}},
        ],
    )
    assert "matmul's inner sizes differ: the first is 5×4 matrices, the second 5×6" in text
    assert '"input" is the token sequence (5, 4), the network\'s input' in text
    assert '"k" is the token sequence (5, 6), made by layer 0 at' in text


def test_a_forgotten_transpose_is_the_hint():
    text = error([5, 4], [{"identity": {"to": "x"}}, {"matmul": {"from": ["x", "x"]}}])
    assert "add transpose: true" in text


def test_softmax_axis_counts_from_the_first_axis_after_the_batch():
    spec = load([2, 3, 4], [{"softmax": {"axis": 1}}])
    x = torch.randn(2, 2, 3, 4)
    torch.testing.assert_close(spec.build()(x), torch.softmax(x, dim=2))
    assert "softmax axis=3 is not an axis" in error([2, 3, 4], [{"softmax": {"axis": 3}}])
    assert "dim (counting the batch) or axis" in error(
        [2, 3, 4], [{"softmax": {"axis": 1, "dim": 2}}]
    )


def test_scale_takes_an_expression():
    spec = netspec.loads(
        yaml.safe_dump(
            {
                "name": "s",
                "input": [8],
                "params": {"head_dim": 16},
                "layers": [{"scale": "${head_dim ** -0.5}"}],
            }
        )
    )
    x = torch.randn(2, 8)
    torch.testing.assert_close(spec.build()(x), x * 0.25)
    assert spec.macs == 0 and spec.num_params == 0


def bias_block(rows: int, window: int = 2) -> list[Any]:
    n = window * window
    return [
        {
            "group": {
                "name": "attn",
                "layers": [
                    {"identity": {"to": "x"}},
                    {"parameter": {"name": "table", "shape": [rows, 3], "to": "t"}},
                    {
                        "buffer": {
                            "name": "index",
                            "shape": [n * n],
                            "init": "relative_position_index",
                            "window": window,
                            "to": "i",
                        }
                    },
                    {"gather": {"from": ["t", "i"]}},
                    {"reshape": [n, n, 3]},
                    {"permute": {"axes": [2, 0, 1], "to": "bias"}},
                    {"add": {"from": ["x", "bias"]}},
                ],
            }
        }
    ]


def test_a_bias_gathered_from_its_table_is_torchvisions_relative_position_bias():
    from torchvision.models.swin_transformer import ShiftedWindowAttention

    spec = load([3, 4, 4], bias_block(9))
    reference = ShiftedWindowAttention(6, [2, 2], [0, 0], 3)
    model = spec.build().eval()
    model.attn.table.data.copy_(reference.relative_position_bias_table)
    assert torch.equal(model.attn.index, reference.relative_position_index)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(model(x), x + reference.get_relative_position_bias())


def test_a_table_with_too_few_rows_for_its_index_is_an_error():
    text = error([3, 4, 4], bias_block(8))
    assert "gather's index reaches row 8, but its table has 8 rows" in text
    assert "shape: [9, ...]" in text


def test_gather_reads_tensors_the_network_holds():
    layers = [
        {"buffer": {"shape": [4], "init": "arange", "to": "i"}},
        {"gather": {"from": ["input", "i"]}},
    ]
    assert "gather's table is the token sequence (5, 4) of each sample" in error(
        [5, 4], [{"group": {"layers": layers}}]
    )
