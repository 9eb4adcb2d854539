"""OpenRLHF's view of a sample, turned into Aural's, and rewards turned back.

OpenRLHF hands a reward function (or a remote reward server) three lists:
`queries` (prompt + response, decoded with special tokens), `prompts`, and
`labels` (strings from the dataset's label column). This module recovers the
response and its finish reason from the query and reads the label (as
`aural.rewards.trainer_inputs` does for every trainer), scores with a recipe, and
returns OpenRLHF's reward lists.
No torch here: the reward file converts to tensors, the server sends JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from aural.verifiers import Sample

from .batch import Rejection, read_sample, score_each
from .recipe import ACCURACY, Recipe
from .trainer_inputs import DEFAULT_MODALITY, EOS_TOKENS, parse_label, split_response

log = logging.getLogger(__name__)


@dataclass
class RewardLists:
    """OpenRLHF's reward fields, one entry per sample: `rewards` (the recipe
    total), `scores` (the answer's correctness, for dynamic filtering), and
    `extra_logs` (every component's score; 0 where a sample's route lacks it)."""

    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


def score_openrlhf(
    recipe: Recipe,
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any],
    eos_tokens: Sequence[str] = EOS_TOKENS,
    default_modality: str = DEFAULT_MODALITY,
    threads: int | None = None,
) -> RewardLists:
    """Score OpenRLHF's lists. A sample that cannot be read (a bad label, no
    route) gets reward and score 0 and a logged reason, never an exception.
    """
    names = recipe.component_names()
    items = [
        read_sample(partial(_sample, query, prompt, label, eos_tokens, default_modality))
        for query, prompt, label in zip(queries, prompts, labels, strict=True)
    ]
    out = RewardLists([], [], {name: [] for name in names})
    for outcome, label in zip(score_each(recipe, items, threads=threads, progress=False), labels):
        if isinstance(outcome, Rejection):
            log.warning("scoring 0: %s (label %.200r)", outcome, label)
            total, components = 0.0, {}
        else:
            total, components = outcome.total, outcome.components
        out.rewards.append(total)
        out.scores.append(components[ACCURACY].score if ACCURACY in components else total)
        for name in names:
            out.extra_logs[name].append(components[name].score if name in components else 0.0)
    return out


def _sample(query: str, prompt: str, label: Any, eos_tokens: Sequence[str], default_modality: str) -> Sample:
    response, finish_reason = split_response(query, prompt, eos_tokens)
    parsed, modality = parse_label(label, default_modality)
    return Sample(response, parsed, modality, prompt=prompt, finish_reason=finish_reason)
