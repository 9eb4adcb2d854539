"""Does a policy use the audio? Its accuracy on a prompt set with the prompts' own clips,
and under controls that take the clips' information away while keeping everything else:

* ``silence``: each clip replaced by silence of the same length;
* ``shuffled``: the clips dealt out again so that no prompt keeps its own (each prompt
  with audio gets the clips of another, in a seeded order).

A model that answers from the question's wording, or from a bias towards one option,
scores the same under all three; the gap between the prompts' own clips and each control
is what the audio contributes. ``aural eval PROMPTS --policy DIR --controls silence shuffled``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from aural.errors import AuralError
from aural.policy.prompt import Prompt
from aural.rewards.batch import score_batch
from aural.rewards.recipe import Recipe
from aural.rewards.scored_jsonl import sample_from_record, scored_record
from aural.table import plain_table

from .engines import Engine, SamplingSettings
from .prompt_set import PromptRecord
from .stats import is_correct

AUDIO = "audio"
CONTROLS = ("silence", "shuffled")


def silenced(prompts: Sequence[Prompt]) -> list[Prompt]:
    """`prompts` with every clip replaced by silence of its length.

    >>> [p.audios[0].tolist() for p in silenced([Prompt("q", (np.ones(3, dtype=np.float32),))])]
    [[0.0, 0.0, 0.0]]
    """
    return [Prompt(p.text, tuple(np.zeros_like(clip) for clip in p.audios)) for p in prompts]


def shuffled(prompts: Sequence[Prompt], seed: int = 0) -> list[Prompt]:
    """`prompts` with their clips dealt out again: every prompt with audio takes the clips of
    another prompt with audio (a seeded order, each passing its clips to the next), so none
    keeps its own when two or more have audio.

    >>> clips = [(np.full(2, float(i), dtype=np.float32),) for i in range(3)]
    >>> dealt = shuffled([Prompt(f"q{i}", c) for i, c in enumerate(clips)], seed=1)
    >>> sorted(float(p.audios[0][0]) for p in dealt), [float(p.audios[0][0]) == i for i, p in enumerate(dealt)]
    ([0.0, 1.0, 2.0], [False, False, False])
    """
    with_audio = [i for i, p in enumerate(prompts) if p.audios]
    order = with_audio[:]
    random.Random(seed).shuffle(order)
    dealt = list(prompts)
    for position, index in enumerate(order):
        donor = prompts[order[(position + 1) % len(order)]]
        dealt[index] = Prompt(prompts[index].text, donor.audios)
    return dealt


@dataclass(frozen=True)
class Condition:
    """What a policy scored under one condition."""

    name: str
    samples: int
    accuracy: float
    mean_reward: float
    components: dict[str, float] = field(default_factory=dict)  # each reward component's mean score


def audio_dependence(
    engine: Engine,
    records: Sequence[PromptRecord],
    recipe: Recipe,
    settings: SamplingSettings,
    controls: Sequence[str] = CONTROLS,
    seed: int = 0,
) -> list[Condition]:
    """Sample `records` with their own clips and under each control, score every response
    with `recipe`; one `Condition` per condition, the prompts' own clips first."""
    unknown = sorted(set(controls) - set(CONTROLS))
    if unknown:
        raise AuralError(f"unknown control {', '.join(unknown)} (expected {', '.join(CONTROLS)})")
    prompts = [engine.prompt_builder.build(r.messages, r.prefill_think) for r in records]
    variants = {AUDIO: prompts, "silence": silenced(prompts), "shuffled": shuffled(prompts, seed)}
    return [_condition(name, engine, records, variants[name], recipe, settings) for name in (AUDIO, *controls)]


def _condition(
    name: str, engine: Engine, records: Sequence[PromptRecord], prompts: list[Prompt], recipe: Recipe, settings: SamplingSettings
) -> Condition:
    lines = [
        {"prompt": prompt.text, "response": g.text, "label": record.label, "modality": record.modality, "finish_reason": g.finish_reason}
        for record, prompt, generations in zip(records, prompts, engine.sample(prompts, settings))
        for g in generations
    ]
    scored = [scored_record(line, result) for line, result in zip(lines, score_batch(recipe, [sample_from_record(line) for line in lines]))]
    count = max(len(scored), 1)
    names = sorted({name for line in scored for name in line["components"]})
    components = {name: sum(line["components"].get(name, {}).get("score", 0.0) for line in scored) / count for name in names}
    return Condition(name, len(scored), sum(map(is_correct, scored)) / count, sum(line["reward"] for line in scored) / count, components)


def dependence_table(conditions: Sequence[Condition]) -> str:
    """Accuracy and mean reward per condition, then the audio's gap over each control.

    >>> print(dependence_table([Condition("audio", 8, 0.75, 0.7), Condition("silence", 8, 0.5, 0.45)]))
    condition  samples  accuracy  mean reward
    ---------  -------  --------  -----------
    audio      8        0.750     0.700
    silence    8        0.500     0.450
    audio - silence: +0.250 accuracy
    """
    rows = [("condition", "samples", "accuracy", "mean reward")]
    rows += [(c.name, str(c.samples), f"{c.accuracy:.3f}", f"{c.mean_reward:.3f}") for c in conditions]
    own, controls = conditions[0], conditions[1:]
    gaps = [f"{own.name} - {c.name}: {own.accuracy - c.accuracy:+.3f} accuracy" for c in controls]
    return "\n".join([plain_table(rows), *gaps])
