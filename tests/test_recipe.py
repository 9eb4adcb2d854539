"""Reward recipes: the Step-Audio-R1 reward, routing, gates, penalties, and errors that name the key."""

import pytest

from aural import Sample, Verdict, load_recipe, make_verifier, register, shipped_recipes
from aural.rewards.recipe import RecipeError, RouteError
from conftest import CHOICES, audio

STEP_AUDIO_R1 = load_recipe("step-audio-r1")
LABEL = {"answer": "B", "choices": CHOICES}


@pytest.mark.parametrize(
    "response, modality, finish_reason, total",
    [
        ("<think>A high, rising cry.</think>The answer is (B).", "audio", "stop", 1.0),
        ("<think>A high, rising cry.</think>The answer is (A).", "audio", "stop", 0.2),
        ("<think></think>The answer is (B).", "audio", "stop", 0.8),
        ("The answer is (B).", "audio", "stop", 0.8),
        ("The answer is (A).", "audio", "stop", 0.0),
        ("<think>A high, rising cry.</think>The answer is (B).", "audio", "length", 0.0),
        ("The answer is (B).", "text", "stop", 1.0),
        ("<think>Reasoning.</think>The answer is (A).", "text", "stop", 0.0),
    ],
)
def test_step_audio_r1(response, modality, finish_reason, total):
    result = STEP_AUDIO_R1.score(Sample(response, LABEL, modality, finish_reason=finish_reason))
    assert result.total == pytest.approx(total)


def test_components_and_route_are_reported():
    result = STEP_AUDIO_R1.score(audio("<think> </think>(B)", LABEL))
    assert result.route == "audio"
    assert set(result.components) == {"accuracy", "format"}
    assert result.components["format"].reason == "empty_think"
    assert STEP_AUDIO_R1.score(Sample("(B)", LABEL, "text")).components.keys() == {"accuracy"}


def test_truncated_samples_still_report_their_components():
    result = STEP_AUDIO_R1.score(audio("<think>Cry.</think>(B)", LABEL, finish_reason="length"))
    assert result.total == 0.0
    assert result.components["accuracy"].score == 1.0
    assert result.components["format"].reason == "truncated"


RECIPE = {
    "name": "routed",
    "route": {
        "audio": {
            "accuracy": {"verifier": "answer", "weight": 1.0},
            "format": {"verifier": "think_format", "weight": 0.5, "gate": True},
            "asr": {"accuracy": {"verifier": "asr", "weight": 2.0}},
        },
        "default": {"accuracy": {"verifier": "answer", "weight": 1.0}, "late": {"verifier": "think_format", "weight": -0.5}},
    },
}


def test_routing_by_modality_kind_and_default():
    recipe = load_recipe(RECIPE)
    asr = recipe.score(audio("the cat sat", {"answer": "the cat sat", "kind": "asr"}))
    assert (asr.route, asr.total) == ("audio.asr", 2.0)
    text = recipe.score(Sample("<think>ok</think>(B)", LABEL, "text"))
    assert (text.route, text.total) == ("default", 0.5)  # 1.0 accuracy, -0.5 penalty weight
    assert recipe.component_names() == ["accuracy", "format", "late"]


def test_a_failed_gate_zeroes_the_total():
    recipe = load_recipe(RECIPE)
    assert recipe.score(audio("<think>Cry.</think>(B)", LABEL)).total == 1.5
    gated = recipe.score(audio("(B)", LABEL))
    assert gated.total == 0.0
    assert gated.components["accuracy"].score == 1.0


def test_no_route_is_an_error_naming_the_modality():
    recipe = load_recipe({"route": {"audio": {"accuracy": {"verifier": "answer"}}}})
    with pytest.raises(RouteError, match="'text'"):
        recipe.score(Sample("(B)", LABEL, "text"))


def test_a_taken_verifier_name_is_refused_unless_replaced():
    with pytest.raises(ValueError, match="'answer' is registered already"):
        register("answer")(lambda sample: 1.0)

    @register("test_twice")
    def first(sample):
        return 0.0

    @register("test_twice", replace=True)
    def second(sample):
        return 1.0

    assert make_verifier("test_twice")(audio("(B)", LABEL)).score == 1.0
    assert make_verifier("answer")(audio("(B)", LABEL)).score == 1.0  # the built-in stands


def test_a_raising_verifier_becomes_a_zero_verdict(caplog):
    @register("test_explodes")
    def explodes(sample):
        raise RuntimeError("boom")

    recipe = load_recipe({"route": {"default": {"x": {"verifier": "test_explodes"}, "y": {"verifier": "answer"}}}})
    result = recipe.score(audio("(B)", LABEL))
    assert result.components["x"] == Verdict(0.0, "verifier_error", "RuntimeError: boom")
    assert result.total == 1.0
    assert "test_explodes raised RuntimeError" in caplog.text


@pytest.mark.parametrize(
    "spec, key",
    [
        ({"route": {}}, "route"),
        ({"route": {"audio": {"accuracy": {"verifier": "nope"}}}}, "route.audio.accuracy"),
        ({"route": {"audio": {"accuracy": {"verifier": "answer", "weight": "high"}}}}, "route.audio.accuracy.weight"),
        ({"route": {"audio": {"accuracy": {"verifier": "answer", "gate": 1}}}}, "route.audio.accuracy.gate"),
        ({"route": {"audio": {"accuracy": {"verifier": "think_format", "min_chars": 2}}}}, "route.audio.accuracy"),
        ({"route": {"audio": {"essay": {"x": {"verifier": "answer"}}}}}, "route.audio.essay"),
        ({"route": {"audio": {}}}, "route.audio"),
        ({"route": {"audio": {"accuracy": 0.8}}}, "route.audio.accuracy"),
        ({"truncated": "zero", "route": {"audio": {"a": {"verifier": "answer"}}}}, "truncated"),
        ({"rout": {}, "route": {"audio": {"a": {"verifier": "answer"}}}}, "rout"),
    ],
)
def test_recipe_errors_name_the_key(spec, key):
    with pytest.raises(RecipeError, match=f"<dict>: {key}"):
        load_recipe(spec)


def test_recipes_load_by_name_or_path(tmp_path):
    assert "step-audio-r1" in shipped_recipes()
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[route.default]\naccuracy = { verifier = "answer" }\n')
    assert load_recipe(path).name == "mine"
    assert load_recipe(str(path)).score(audio("(B)", LABEL)).total == 1.0
    with pytest.raises(RecipeError, match="no shipped recipe"):
        load_recipe("step-audio-r2")
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(RecipeError, match="broken.toml: invalid TOML"):
        load_recipe(broken)
