"""Aural's reward for verl: a `compute_score` for ``reward.custom_reward_function``.

    reward.custom_reward_function.path=pkg://aural.rewards.verl
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.recipe=step-audio-r1

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info,
**reward_kwargs)`` once per sample and keeps the returned ``"score"`` as the
reward and every other key as a ``reward_extra_info`` column, named after the
first sample's keys: every sample here returns the same keys, each recipe
component's score (0 where a sample's route lacks it). Labels are Aural labels,
JSON objects or bare answers. verl's managers decode only the response, special
tokens skipped, and pass no finish reason, so this function sees neither a
``<think>`` the prompt pre-filled nor a truncation: `prompt_tail` states the
former for every prompt; `aural.rewards.verl_manager` reads both per sample.
No torch here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from aural.verifiers import Sample

from .batch import Rejection, read_sample, score_each
from .recipe import DEFAULT_RECIPE, Recipe, RecipeError, load_recipe
from .trainer_inputs import DEFAULT_MODALITY, parse_label, split_response

log = logging.getLogger(__name__)

SCORE = "score"  # verl's key for the reward in a compute_score result


@functools.cache
def cached_recipe(spec: str) -> Recipe:
    """`load_recipe(spec)`, loaded once per process; a component named ``score`` would hide verl's reward."""
    recipe = load_recipe(spec)
    if SCORE in recipe.component_names():
        raise RecipeError(recipe.name, SCORE, "a component of that name collides with verl's reward key")
    return recipe


def verl_sample(response: str, ground_truth: Any, prompt_tail: str, finish_reason: str, default_modality: str = DEFAULT_MODALITY) -> Sample:
    """The `Sample` for one verl response; raises `FieldError` for a label that cannot be read.

    >>> verl_sample("Meows.</think>(B)", '{"answer": "B", "choices": ["dog", "cat"]}', "<think>", "stop").label.kind
    'choice'
    """
    label, modality = parse_label(ground_truth, default_modality)
    return Sample(response, label, modality, prompt=prompt_tail, finish_reason=finish_reason)


def score_samples(recipe: Recipe, items: Sequence[Sample | Rejection], threads: int | None = None) -> list[dict[str, float]]:
    """Each item's ``{"score": total, component: score, ...}`` with every component of the recipe,
    scored in one batch; a rejection (a sample that could not be read, or that no route covers)
    scores 0, its reason logged.

    >>> from aural.rewards.recipe import load_recipe
    >>> score_samples(load_recipe(), [Sample("<think>Low.</think>(A)", "A", "audio"), Rejection("label", "missing")])
    [{'score': 1.0, 'accuracy': 1.0, 'format': 1.0}, {'score': 0.0, 'accuracy': 0.0, 'format': 0.0}]
    """
    names = recipe.component_names()
    rows = []
    for outcome in score_each(recipe, items, threads=threads, progress=False):
        if isinstance(outcome, Rejection):
            log.warning("scoring 0: %s", outcome)
            rows.append({SCORE: 0.0, **{n: 0.0 for n in names}})
        else:
            components = outcome.components
            rows.append({SCORE: outcome.total, **{n: components[n].score if n in components else 0.0 for n in names}})
    return rows


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict | None = None,
    *,
    recipe: str = DEFAULT_RECIPE,
    default_modality: str = DEFAULT_MODALITY,
    prompt_tail: str = "",
    eos_tokens: Sequence[str] | None = None,
    **unused: Any,
) -> dict[str, float]:
    """verl's reward hook: ``{"score": total, component: score, ...}``.

    Settings come through ``reward_kwargs``: `recipe` (a name or TOML path, loaded
    once), `default_modality` (for labels that do not name one), `prompt_tail`
    (what every prompt ends with: ``"<think>"`` when the template pre-fills the
    think block), and `eos_tokens` (only for responses decoded with special
    tokens: one that does not end with one counts as truncated). A label that
    cannot be read scores 0 with a logged reason, never an exception. verl's own
    arguments (`data_source`, `extra_info`, any others) are not used.

    >>> label = '{"answer": "B", "choices": ["a dog", "a cat"]}'
    >>> compute_score("audio_qa", "<think>A high cry.</think>The answer is (B).", label)
    {'score': 1.0, 'accuracy': 1.0, 'format': 1.0}
    >>> compute_score("audio_qa", "A high cry.</think>(B)", label, prompt_tail="<think>\\n")
    {'score': 1.0, 'accuracy': 1.0, 'format': 1.0}
    >>> compute_score("audio_qa", "<think>A high cry.</think>(B)", label, eos_tokens=["<|im_end|>"])["score"]
    0.0
    """
    finish_reason = "stop"
    if eos_tokens is not None:
        solution_str, finish_reason = split_response(solution_str, "", eos_tokens)
    sample = read_sample(lambda: verl_sample(solution_str, ground_truth, prompt_tail, finish_reason, default_modality))
    return score_samples(cached_recipe(recipe), [sample], threads=1)[0]
