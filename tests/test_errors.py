"""Bad input raises an `AuralError` that says where (file and line) and which field."""

import json

import pytest

from aural.errors import AuralError
from aural.rewards.recipe import RecipeError, load_recipe
from aural.rollouts.prompt_set import read_prompt_set
from aural.rollouts.store import RolloutStore, StoreError
from aural.training.ppo_config import ConfigError, load_ppo_config


def test_a_bad_prompt_line_names_its_file_line_and_field(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "question": "q", "label": {"answer": "A", "choices": "AB"}}) + "\n", encoding="utf-8")
    with pytest.raises(AuralError) as raised:
        read_prompt_set(prompts)
    assert (raised.value.where, raised.value.field) == (f"{prompts}:1", "label.choices")
    assert str(raised.value) == f"{prompts}:1: label.choices: {raised.value.message}"


def test_a_bad_recipe_key_and_a_bad_config_key_are_located(tmp_path):
    recipe = tmp_path / "mine.toml"
    recipe.write_text('[route.audio]\naccuracy = { verifier = "answer", weight = "heavy" }\n', encoding="utf-8")
    with pytest.raises(RecipeError) as raised:
        load_recipe(str(recipe))
    assert (raised.value.where, raised.value.field) == (str(recipe), "route.audio.accuracy.weight")
    config = tmp_path / "ppo.toml"
    config.write_text("[bogus]\nkey = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_ppo_config(config)
    assert (raised.value.where, raised.value.field) == (str(config), "bogus")


def test_a_damaged_store_names_the_line(tmp_path):
    path = tmp_path / "rollouts.jsonl"
    line = {"prompt_id": "p", "sample_index": 0, "samples": 1}
    path.write_text(
        "".join(json.dumps(x) + "\n" for x in (line, {**line, "sample_index": 5}, {**line, "prompt_id": "q"})), encoding="utf-8"
    )
    with pytest.raises(StoreError) as raised:
        RolloutStore(path).recover()
    assert raised.value.where == f"{path}:2"
