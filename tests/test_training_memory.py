"""The memory of a training step predicted from the spec (``netspec.train_memory``, no torch)
against what torch's CPU allocator really holds (``netspec.training.peak``, from the
profiler's memory events: exact and deterministic), and ``netspec check --train``.

Each case is a small network of one or two kinds of layer whose step takes well under a
second; together they exercise what each kind keeps for backward (a conv its input, ReLU its
output, in place or not, a max pool its input and indices, batchnorm its input, dropout its
mask, a residual's sum, a concatenation, views) and the optimizers' state.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, cli, imported_modules, imports_torch

import netspec as ns
from netspec.errors import NetspecError
from netspec.train_memory import Optimizer, train_memory
from netspec.training.peak import step_peak
from netspec.training.recipe import Recipe

#: the estimate's tolerance against the measured peak
TOLERANCE = 0.10

CASES = {
    "conv_relu_linear": ("[16, 32, 32]", ["conv: {out: 64, kernel: 3, padding: 1}", "relu"]),
    "conv_bn_relu_maxpool": (
        "[8, 32, 32]",
        ["conv: {out: 64, kernel: 3, padding: 1}", "batchnorm", "relu", "pool: {kernel: 2}"],
    ),
    "inplace_relu_global_pool": (
        "[8, 32, 32]",
        [
            "conv: {out: 64, kernel: 3, padding: 1}",
            "batchnorm",
            "relu: {inplace: true}",
            "pool: {global: true}",
        ],
    ),
    "strided_and_1x1": (
        "[8, 32, 32]",
        [
            "conv: {out: 32, kernel: 3, padding: 1}",
            "relu",
            "conv: {out: 64, kernel: 3, stride: 2, padding: 1}",
            "relu",
            "conv: {out: 16, kernel: 1}",
        ],
    ),
    "sigmoid_avgpool": (
        "[1, 28, 28]",
        [
            "conv: {out: 8, kernel: 5, padding: 2}",
            "sigmoid",
            "pool: {mode: avg, kernel: 2}",
            "conv: {out: 16, kernel: 5}",
            "tanh",
        ],
    ),
    "mlp_dropout": ("[1024]", ["linear: 2048", "relu", "dropout: 0.5", "linear: 1024", "gelu"]),
    "residual": (
        "[32, 16, 16]",
        [
            "conv: {out: 32, kernel: 3, padding: 1}",
            "residual: {body: [{conv: {out: 32, kernel: 3, padding: 1}}, batchnorm, relu,"
            " {conv: {out: 32, kernel: 3, padding: 1}}, batchnorm], after: relu}",
            "residual: {body: [{conv: {out: 64, kernel: 3, stride: 2, padding: 1}}],"
            " shortcut: auto, after: {relu: {inplace: true}}}",
        ],
    ),
    "inception_concat": (
        "[16, 16, 16]",
        [
            "conv: {out: 32, kernel: 3, padding: 1}",
            "inception: {branches: [[{conv: {out: 16, kernel: 1}}, relu],"
            " [{conv: {out: 16, kernel: 3, padding: 1}}, relu],"
            " [{pool: {kernel: 3, stride: 1, padding: 1}}, {conv: {out: 8, kernel: 1}}]]}",
        ],
    ),
}


def _spec(input: str, layers: list[str]) -> ns.Spec:
    body = "".join(f"  - {layer}\n" for layer in [*layers, "flatten", "linear: 10"])
    return ns.loads(f"name: net\ninput: {input}\nlayers:\n{body}")


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
@pytest.mark.parametrize("name", CASES)
def test_the_prediction_is_within_ten_percent_of_the_measured_peak(
    name: str, optimizer: str
) -> None:
    spec = _spec(*CASES[name])
    predicted = train_memory(spec, 16, Optimizer(optimizer)).peak
    measured = step_peak(spec, Recipe(batch=16, optimizer=optimizer))
    assert abs(predicted - measured) <= TOLERANCE * measured, (predicted, measured)


def test_lenet_at_batch_32_as_the_bench_runs_it() -> None:
    spec = ns.load("lenet")
    predicted = train_memory(spec, 32).peak
    measured = step_peak(spec, Recipe(batch=32))
    assert abs(predicted - measured) <= TOLERANCE * measured, (predicted, measured)


def test_the_parts_add_up_and_follow_the_optimizer() -> None:
    spec = _spec(*CASES["conv_bn_relu_maxpool"])
    sgd = train_memory(spec, 16)
    adamw = train_memory(spec, 16, Optimizer.ADAMW)
    assert sgd.params == spec.checked.params * 4
    assert sgd.optimizer_state == sgd.params and adamw.optimizer_state == 2 * sgd.params
    parts = (sgd.params, sgd.buffers, sgd.gradients, sgd.optimizer_state, sgd.activations)
    assert sum(parts) + sgd.data + sgd.transient == sgd.peak
    assert [m.path for m in sgd.layers] == [c.path for c in spec.checked.walk() if not c.children]


def test_what_a_layer_keeps_grows_with_the_batch() -> None:
    spec = _spec(*CASES["conv_relu_linear"])
    one, two = train_memory(spec, 8), train_memory(spec, 16)
    kept = [m.kept for m in one.layers]
    assert kept[1] == 64 * 32 * 32 * 8 * 4  # relu keeps its output
    assert [m.kept for m in two.layers] == [2 * k for k in kept]


def test_an_inplace_relu_keeps_no_second_copy() -> None:
    plain = _spec("[8, 32, 32]", ["conv: {out: 64, kernel: 3, padding: 1}", "batchnorm", "relu"])
    inplace = _spec(
        "[8, 32, 32]",
        ["conv: {out: 64, kernel: 3, padding: 1}", "batchnorm", "relu: {inplace: true}"],
    )
    forward = [m.kept for m in train_memory(plain, 8).layers]
    assert forward == [m.kept for m in train_memory(inplace, 8).layers]


EXPECTED_LENET = """\
training step, batch 32, SGD with momentum: peak 2.91 MiB (backward at 0)
  parameters       0.24 MiB
  buffers          0.00 MiB  running statistics
  gradients        0.24 MiB
  optimizer state  0.24 MiB  one buffer a parameter
  activations      0.00 MiB  kept for backward, not yet released
  data             0.10 MiB  inputs, labels, logits, log-probabilities
  transient        2.11 MiB  what the step allocates at its peak
"""


def test_check_train_prints_the_peak_and_its_parts() -> None:
    run = cli("check", "lenet", "--train", "--batch", "32")
    assert run.code == 0, run.err
    assert run.out.split("\n", 1)[1] == EXPECTED_LENET


def test_check_train_table_lists_what_each_layer_keeps() -> None:
    run = cli("check", "lenet", "--train", "--batch", "32", "--optimizer", "adamw", "--table")
    assert run.code == 0, run.err
    assert "training step, batch 32, AdamW: peak" in run.out
    assert "  optimizer state  0.47 MiB  two buffers a parameter\n" in run.out
    assert "  1      sigmoid                  0.57 MiB\n" in run.out
    assert run.out.endswith("  total                           0.99 MiB\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--train"],
            "netspec check: error: check --train needs --batch N: the batch of the training step\n",
        ),
        (
            ["--batch", "8"],
            "netspec check: error: --batch is an option of check --train: add --train\n",
        ),
        (
            ["--optimizer", "adamw"],
            "netspec check: error: --optimizer is an option of check --train: add --train\n",
        ),
    ],
)
def test_train_options_without_their_partner_are_misuse(args: list[str], message: str) -> None:
    run = cli("check", "lenet", *args)
    assert (run.code, run.out, run.err) == (2, "", message)


def test_a_batch_of_zero_is_refused() -> None:
    run = cli("check", "lenet", "--train", "--batch", "0")
    assert run.code == 2 and "--batch" in run.err and run.out == ""


def test_a_network_that_is_not_a_classifier_is_an_error() -> None:
    run = cli("check", "unet", "--train", "--batch", "2")
    assert run.code == 1
    assert run.err == (
        "specs/unet.yaml: error: a training step needs one flat output of class scores, "
        "got (2, 256, 256)\nhint: netspec train trains classifiers: end the network with a "
        "linear layer\n"
    )


def test_check_train_does_not_import_torch() -> None:
    imported = imported_modules("check", "--train", "--batch", "8", "--table", "lenet", "resnet")
    assert "netspec.train_memory" in imported
    assert not imports_torch(imported)


TRAINED = """\
name: small
input: [1, 8, 8]
layers:
  - conv: {out: 16, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - pool: {kernel: 2}
  - flatten
  - dropout: 0.2
  - linear: 10
"""


def test_train_predicts_before_and_measures_after() -> None:
    from netspec.training import train

    spec = ns.loads(TRAINED, "small.yaml")
    recipe = Recipe(epochs=1, batch=32, limit_batches=2, optimizer="adamw")
    result = train(spec, "digits", recipe, device="cpu")
    assert result.predicted_memory == train_memory(spec, 32, Optimizer.ADAMW).peak
    assert result.peak_memory == step_peak(spec, recipe)
    assert abs(result.predicted_memory - result.peak_memory) <= TOLERANCE * result.peak_memory


def test_memory_note_says_predicted_then_measured() -> None:
    from netspec.training.peak import memory_note

    assert (
        memory_note(3 * 2**20, None) == "memory: a training step is predicted to peak at 3.00 MiB"
    )
    assert memory_note(3 * 2**20, 2**30) == (
        "memory: a training step peaked at 1,024.0 MiB (predicted 3.00 MiB)"
    )


def test_hover_says_what_a_layer_keeps_for_backward() -> None:
    from netspec.lsp.analysis import analyse
    from netspec.lsp.hover import layer_text

    text = (ROOT / "specs" / "lenet.yaml").read_text(encoding="utf-8")
    layers = {x.name: x for x in analyse(text, str(ROOT / "specs" / "lenet.yaml")).layers}
    assert layer_text(layers["0"]).endswith(
        "  \ntraining: keeps its input for backward, 3.06 KiB a sample"
    )
    assert layers["1"].keeps == ("its output", 6 * 28 * 28 * 4)  # sigmoid
    assert layers["2"].keeps == ("its input", 6 * 28 * 28 * 4)  # avg pool
    assert layers["6"].keeps == ("nothing", 0)  # flatten: a view
    assert layers[""].keeps is None  # the network: its layers keep what they keep
    assert "training:" not in layer_text(layers[""])


@pytest.mark.parametrize("batch", [0, -3, 2.5, True])
def test_the_api_refuses_a_batch_that_is_no_count(batch: object) -> None:
    with pytest.raises(NetspecError) as e:
        train_memory(ns.load("lenet"), batch)  # type: ignore[arg-type]
    assert str(e.value).endswith(f"error: the batch must be a whole number ≥ 1, got {batch!r}")
