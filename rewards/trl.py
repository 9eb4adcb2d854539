"""Aural's reward recipes as TRL reward functions (GRPOTrainer, RLOOTrainer).

    from aural.rewards.trl import reward_funcs
    rewards = reward_funcs("step-audio-r1", eos_token_ids=[tokenizer.eos_token_id])
    trainer = GRPOTrainer(model=..., reward_funcs=rewards.funcs,
                          args=GRPOConfig(..., reward_weights=rewards.weights), train_dataset=...)

The dataset's ``label`` column holds the label (a bare answer, a JSON string or
an object) and its ``modality`` column the modality (default ``audio``).

TRL weighs each reward function once for every sample, while a recipe weighs a
component by route (step-audio-r1: accuracy 0.8 on audio, 1.0 on text). So a
component whose weight differs between routes becomes one function per route
(``audio/accuracy``, ``text/accuracy``); each function returns its component's
raw score, or None for samples outside its route, and TRL's weighted sum then
equals the recipe's sum. A recipe with gates or a truncation score adds one
more function, ``overrides``, carrying the difference they make. TRL logs each
function's mean as ``rewards/<name>/mean``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from aural.errors import AuralError
from aural.verifiers import Sample

from .batch import Rejection, read_sample, score_each
from .recipe import DEFAULT_RECIPE, Recipe, RewardResult, load_recipe
from .trainer_inputs import DEFAULT_MODALITY, parse_label

log = logging.getLogger(__name__)


@dataclass
class TRLRewards:
    """Reward functions for TRL and the `weights` to pass as ``reward_weights``."""

    funcs: list[RewardFunction]
    weights: list[float]

    @property
    def names(self) -> list[str]:
        """The names TRL logs the functions under."""
        return [f.__name__ for f in self.funcs]


def reward_funcs(
    recipe: str | Recipe = DEFAULT_RECIPE,
    combined: bool = False,
    eos_token_ids: Iterable[int] | None = None,
    label_column: str = "label",
    modality_column: str = "modality",
    default_modality: str = DEFAULT_MODALITY,
) -> TRLRewards:
    """TRL reward functions for `recipe`: one per component (per route where
    weights differ), or with `combined` a single function returning the total.

    `eos_token_ids` lets a completion that does not end with one of them count
    as truncated (``finish_reason`` ``length``); without it none is. The functions
    are `RewardFunction` objects sharing one scorer: they pickle (TRL's rollout
    workers may run them in another process), score a batch once for all of them,
    and log each sample's reason to TRL's completions table.

    >>> rewards = reward_funcs("step-audio-r1")
    >>> rewards.names, rewards.weights
    (['audio/accuracy', 'text/accuracy', 'format', 'overrides'], [0.8, 1.0, 0.2, 1.0])
    >>> completions = [[{"role": "assistant", "content": "<think>Meow.</think>(B)"}], "(A)"]
    >>> columns = {"label": ['{"answer": "B", "choices": ["a dog", "a cat"]}', "B"], "modality": ["audio", "text"]}
    >>> [f(prompts=["", ""], completions=completions, **columns) for f in rewards.funcs]
    [[1.0, None], [None, 0.0], [1.0, None], [0.0, 0.0]]
    """
    recipe = load_recipe(recipe)
    scorer = BatchScorer(recipe, frozenset(eos_token_ids or ()), label_column, modality_column, default_modality)
    if combined:
        return TRLRewards([RewardFunction(recipe.name, _totals, scorer, partial(_reasons, None))], [1.0])
    funcs, weights = [], []
    for name, routes, weight in _split_by_weight(recipe):
        component = name.rsplit("/", 1)[-1]
        funcs.append(RewardFunction(name, partial(_component_scores, component, routes), scorer, partial(_reasons, component)))
        weights.append(weight)
    every_route = _all_routes(recipe)
    if recipe.truncated is not None or any(c.gate for _, route in every_route for c in route.components):
        weights_by_route = {name: {c.name: c.weight for c in route.components} for name, route in every_route}
        gates_by_route = {name: [c.name for c in route.components if c.gate] for name, route in every_route}
        reasons = partial(_override_reasons, weights_by_route, gates_by_route)
        funcs.append(RewardFunction("overrides", partial(_overrides, weights_by_route), scorer, reasons))
        weights.append(1.0)
    return TRLRewards(funcs, weights)


def _all_routes(recipe: Recipe) -> list[tuple[str, Any]]:
    routes = []
    for name, route in recipe.routes.items():
        routes.append((name, route))
        routes.extend((f"{name}.{kind}", sub) for kind, sub in route.by_kind.items())
    return routes


def _split_by_weight(recipe: Recipe) -> list[tuple[str, frozenset[str], float]]:
    """(function name, the routes it covers, weight) for every component."""
    weights: dict[str, dict[str, float]] = {}
    for route_name, route in _all_routes(recipe):
        for component in route.components:
            weights.setdefault(component.name, {})[route_name] = component.weight
    split = []
    for component, by_route in weights.items():
        if len(set(by_route.values())) == 1:
            split.append((component, frozenset(by_route), next(iter(by_route.values()))))
        else:
            split.extend((f"{route}/{component}", frozenset([route]), weight) for route, weight in by_route.items())
    return split


Outcomes = list[RewardResult | Rejection]


def _totals(results: Outcomes) -> list[float | None]:
    return [r.total if isinstance(r, RewardResult) else None for r in results]


def _component_scores(component: str, routes: frozenset[str], results: Outcomes) -> list[float | None]:
    return [
        r.components[component].score if isinstance(r, RewardResult) and r.route in routes and component in r.components else None
        for r in results
    ]


def _reasons(component: str | None, results: Outcomes) -> list[str]:
    """Each sample's verdict reason for `component` (every component's, None), or why it was rejected."""
    return [_reason(component, r) for r in results]


def _reason(component: str | None, outcome: RewardResult | Rejection) -> str:
    if isinstance(outcome, Rejection):
        return f"rejected: {outcome}"
    if component is None:
        return ", ".join(f"{name} {verdict.reason}" for name, verdict in outcome.components.items())
    return outcome.components[component].reason if component in outcome.components else ""  # a route without it


def _override_reasons(weights_by_route: dict[str, dict[str, float]], gates_by_route: dict[str, list[str]], results: Outcomes) -> list[str]:
    """Why each sample's total differs from its weighted sum: the gates that failed, else the
    truncation score (empty where nothing was overridden), or why the sample was rejected."""
    out = []
    for r, change in zip(results, _overrides(weights_by_route, results)):
        if isinstance(r, Rejection):
            out.append(f"rejected: {r}")
            continue
        failed = [f"gate {name} failed" for name in gates_by_route[r.route] if not r.components[name].passed]
        out.append(", ".join(failed) or ("truncated" if change else ""))
    return out


def _overrides(weights_by_route: dict[str, dict[str, float]], results: Outcomes) -> list[float | None]:
    """What gates and the truncation score change: the total minus the weighted sum."""
    out: list[float | None] = []
    for r in results:
        if not isinstance(r, RewardResult):
            out.append(None)
            continue
        weighted = sum(w * r.components[name].score for name, w in weights_by_route[r.route].items())
        out.append(round(r.total - weighted, 12))
    return out


class RewardFunction:
    """One of TRL's reward functions: `pick` reads its values off the batch's shared scores.
    With TRL's ``log_extra`` it writes each sample's reason (`reasons` of the batch: its
    component's verdict, the gates that overrode the total, or why the sample was rejected)
    to the completions table."""

    def __init__(
        self, name: str, pick: Callable[[Outcomes], list[float | None]], scorer: BatchScorer, reasons: Callable[[Outcomes], list[str]]
    ):
        self.__name__ = name  # TRL logs a function under its __name__
        self.pick, self.scorer, self.reasons = pick, scorer, reasons

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        log_extra: Callable[[str, list], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        results = self.scorer.results(prompts, completions, completion_ids, columns)
        if log_extra is not None:
            log_extra(f"{self.__name__} reason", self.reasons(results))
        return self.pick(results)


class BatchScorer:
    """Scores a TRL batch once for all the functions that read it (the last batch is kept,
    keyed by its samples, not by the identity of TRL's lists); a rejected sample is logged."""

    def __init__(self, recipe: Recipe, eos: frozenset[int], label_column: str, modality_column: str, modality: str):
        self.recipe, self.eos = recipe, eos
        self.label_column, self.modality_column, self.modality = label_column, modality_column, modality
        self._last: tuple[tuple, Outcomes] | None = None

    def results(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None, columns: dict[str, Any]
    ) -> Outcomes:
        """Each completion's reward result, or why it was not scored."""
        if self.label_column not in columns:
            raise AuralError(f"the dataset has no {self.label_column!r} column for Aural's reward to read")
        items = tuple(read_sample(partial(self._sample, i, prompts, completions, completion_ids, columns)) for i in range(len(completions)))
        if self._last is not None and self._last[0] == items:
            return self._last[1]
        results = score_each(self.recipe, items, progress=False)
        for outcome, label in zip(results, columns[self.label_column]):
            if isinstance(outcome, Rejection):
                log.warning("no reward: %s (label %.200r)", outcome, label)
        self._last = (items, results)
        return results

    def _sample(
        self,
        i: int,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None,
        columns: dict[str, Any],
    ) -> Sample:
        ids = completion_ids[i] if completion_ids is not None else None
        truncated = bool(self.eos and ids and ids[-1] not in self.eos)
        modalities = columns.get(self.modality_column)
        label, modality = parse_label(columns[self.label_column][i], self.modality)
        return Sample(
            _text(completions[i]),
            label,
            modalities[i] if modalities is not None else modality,
            prompt=prompts[i] if isinstance(prompts[i], str) else "",
            finish_reason="length" if truncated else "stop",
        )


def _text(completion: Any) -> str:
    """A plain completion, or the assistant text of a conversational one."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    return "".join(parts)
