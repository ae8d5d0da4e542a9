"""The training recipe: its file, its defaults, its errors at their lines, the schedule."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import yaml

from netspec import NetspecError
from netspec.training.recipe import (
    OPTIMIZER_DEFAULTS,
    TEMPLATE,
    Optimizer,
    Recipe,
    load_recipe,
    parse_recipe,
)
from tests.helpers_keys import fresh_run

#: Each mistake a recipe can hold, with the command-line values beside it (golden file:
#: tests/golden/training/recipe_errors.txt, every message at its line and column).
BAD = {
    "unknown_key": ("epoch: 3\n", {}),
    "unknown_option_value": ("optimizer: adam\n", {}),
    "below_range": ("batch: 64\nlr: -0.1\n", {}),
    "fraction": ("label_smoothing: 1.5\n", {}),
    "fractional_count": ("epochs: 2.5\n", {}),
    "wrong_type": ("seed: one\nnormalize: maybe\n", {}),
    "betas_length": ("optimizer: adamw\nbetas: [0.9]\n", {}),
    "schedule_choice": ("schedule: linear\n", {}),
    "amp_choice": ("amp: fp16\n", {}),
    "momentum_for_adamw": ("optimizer: adamw\nmomentum: 0.5\n", {}),
    "step_key_for_cosine": ("schedule: cosine\nstep_gamma: 0.5\n", {}),
    "nesterov_without_momentum": ("momentum: 0\nnesterov: true\n", {}),
    "warmup_longer": ("epochs: 3\nwarmup_epochs: 5\n", {}),
    "command_line": ("epochs: 3\n", {"batch": 0, "optimizer": "adam"}),
    "conflict_from_command_line": ("optimizer: sgd\nmomentum: 0.5\n", {"optimizer": "adamw"}),
    "several": ("epochs: 0\nbatch: 0\nlr: 0\nval_split: 1\n", {}),
    "yaml_syntax": ("epochs: [3\n", {}),
    "tag": ("epochs: !!python/object:os.system 3\n", {}),
    "duplicate": ("epochs: 3\nepochs: 4\n", {}),
    "empty": ("# nothing but a comment\n", {}),
    "not_a_mapping": ("- epochs: 3\n", {}),
}


def test_each_recipe_error_at_its_line(golden):
    texts = []
    for name, (text, overrides) in BAD.items():
        with pytest.raises(NetspecError) as e:
            parse_recipe(text, f"{name}.yaml", overrides)
        texts.append(f"== {name}\n{e.value}\n")
    golden("training/recipe_errors.txt", "\n".join(texts))


def test_the_template_holds_every_key_at_its_default():
    written = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    assert list(written) == list(Recipe.model_fields)
    assert load_recipe(TEMPLATE) == Recipe()


def test_command_line_values_win_over_the_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("epochs: 3\nbatch: 32\n", encoding="utf-8")
    recipe = load_recipe(path, {"batch": 8})
    assert (recipe.epochs, recipe.batch) == (3, 8)


@pytest.mark.parametrize("optimizer", list(Optimizer))
def test_defaults_that_depend_on_the_optimizer(optimizer):
    recipe = Recipe(optimizer=optimizer)
    assert recipe.lr is None and recipe.weight_decay is None
    resolved = recipe.resolved()
    assert resolved.lr == OPTIMIZER_DEFAULTS[optimizer]["lr"]
    assert resolved.weight_decay == OPTIMIZER_DEFAULTS[optimizer]["weight_decay"]
    assert Recipe(optimizer=optimizer, lr=0.5).resolved().lr == 0.5


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(),
        Recipe(optimizer="adamw", schedule="step", epochs=7, warmup_epochs=0.5),
        Recipe(optimizer="adamw", schedule="none", amp="bf16", limit_batches=3, betas=[0.8, 0.99]),
    ],
)
def test_a_resolved_recipe_reads_back_the_same(recipe):
    resolved = recipe.resolved()
    assert parse_recipe(resolved.text()) == resolved


def test_a_recipe_file_that_cannot_be_read(tmp_path):
    with pytest.raises(NetspecError) as e:
        load_recipe(tmp_path / "missing.yaml")
    assert str(e.value) == f"{tmp_path / 'missing.yaml'}: error: no such file\nhint: check the path"
    with pytest.raises(NetspecError) as e:
        load_recipe(tmp_path)
    assert "is a folder, not a recipe file" in str(e.value)


def test_a_recipe_file_too_large_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as file:
        file.truncate(2 * 1024 * 1024)
    with pytest.raises(NetspecError, match="larger than 1,048,576 bytes"):
        load_recipe(path)


def test_reading_a_recipe_imports_no_torch():
    words, torch = fresh_run("from netspec.training import load_recipe; print(load_recipe().batch)")
    assert words == ["64"] and not torch


def learning_rate(recipe: Recipe, step: int, steps: int) -> float:
    from netspec.training.loop import learning_rate

    return learning_rate(recipe, step, steps)


def test_warm_up_then_cosine():
    recipe = Recipe(epochs=10, lr=1.0, warmup_epochs=2, warmup_start=0.1, min_lr=0.0)
    assert learning_rate(recipe, 0, 5) == pytest.approx(0.1)
    assert learning_rate(recipe, 5, 5) == pytest.approx(0.55)  # halfway through the warm-up
    assert learning_rate(recipe, 10, 5) == pytest.approx(1.0)  # the peak at its end
    assert learning_rate(recipe, 30, 5) == pytest.approx(0.5)  # cosine's middle
    assert learning_rate(recipe, 50, 5) == pytest.approx(0.0, abs=1e-12)
    rates = [learning_rate(recipe, s, 5) for s in range(10, 50)]
    assert rates == sorted(rates, reverse=True)


def test_step_schedule_counts_epochs_from_the_start():
    recipe = Recipe(epochs=9, lr=1.0, schedule="step", step_epochs=3, step_gamma=0.5)
    got = [learning_rate(recipe, epoch * 4, 4) for epoch in range(9)]
    assert got == [1.0] * 3 + [0.5] * 3 + [0.25] * 3
    # the default period is a third of the run, as torchvision's 30 of 90 epochs
    assert Recipe(epochs=90, schedule="step").step_epochs_value == 30


def test_constant_schedule():
    recipe = Recipe(lr=0.3, schedule="none")
    assert {learning_rate(recipe, s, 7) for s in range(70)} == {0.3}
    assert math.isclose(
        learning_rate(Recipe(lr=0.3, schedule="none", warmup_epochs=1), 0, 7), 0.003
    )


def test_template_path_is_in_the_package():
    assert TEMPLATE.is_file() and Path(os.fspath(TEMPLATE)).parent.name == "templates"
