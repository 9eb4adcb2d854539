"""OpenRLHF's view of a sample, turned into Aural's, and rewards turned back.

OpenRLHF hands a reward function (or a remote reward server) three lists:
`queries` (prompt + response, decoded with special tokens), `prompts`, and
`labels` (strings from the dataset's label column). This module recovers the
response and its finish reason from the query, reads the label (a JSON object
or a bare answer), scores with a recipe, and returns OpenRLHF's reward lists.
No torch here: the reward file converts to tensors, the server sends JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from aural.verifiers import Label, Sample

from .batch import Rejection, read_sample, score_each
from .recipe import ACCURACY, DEFAULT_RECIPE, Recipe

log = logging.getLogger(__name__)

# End-of-sequence and padding tokens of the common chat templates (Qwen, Llama, Mistral, DeepSeek, Gemma, Phi).
EOS_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "</s>",
    "<eos>",
    "<end_of_turn>",
    "<|end|>",
    "<|EOT|>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
)
DEFAULT_MODALITY = "audio"
_PROMPT_TAIL = 64


@dataclass
class RewardLists:
    """OpenRLHF's reward fields, one entry per sample: `rewards` (the recipe
    total), `scores` (the answer's correctness, for dynamic filtering), and
    `extra_logs` (every component's score; 0 where a sample's route lacks it)."""

    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


def split_response(query: str, prompt: str, eos_tokens: Sequence[str] = EOS_TOKENS) -> tuple[str, str]:
    """The response inside `query` and its finish reason (``stop`` if it ended with an end-of-sequence token).

    >>> split_response("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n(B)<|im_end|>",
    ...                "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n")
    ('(B)', 'stop')
    >>> split_response("Q: 2+2? A: 4 and then", "Q: 2+2? A:")
    (' 4 and then', 'length')
    """
    if query.startswith(prompt):
        response = query[len(prompt) :]
    else:  # the prompt did not decode back to the same text: cut after its tail
        tail = prompt[-_PROMPT_TAIL:]
        at = query.find(tail) if tail else -1
        response = query[at + len(tail) :] if at >= 0 else query
        if at < 0:
            log.warning("prompt not found in query; scoring the whole query as the response")
    finish_reason = "length"
    while (token := next((t for t in eos_tokens if t and response.endswith(t)), None)) is not None:
        response = response[: -len(token)]  # the end-of-sequence token, then any padding after it
        finish_reason = "stop"
    return response, finish_reason


def parse_label(label: Any, default_modality: str = DEFAULT_MODALITY) -> tuple[Label, str]:
    """A label and the sample's modality from OpenRLHF's label: a JSON object
    (``answer``, ``choices``, ``kind``, ``modality``, an audio reference…) or a bare answer.

    >>> parse_label('{"answer": "B", "choices": ["a dog", "a cat"], "modality": "audio", "audio": "q1.wav"}')
    (Label(answer='B', choices=('a dog', 'a cat'), kind='choice', extra={'audio': 'q1.wav'}), 'audio')
    >>> parse_label("42", "text")
    (Label(answer='42', choices=None, kind='number', extra={}), 'text')
    """
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            label = json.loads(label)
        except json.JSONDecodeError:
            pass  # a bare answer that happens to start with a brace
    if isinstance(label, dict):
        fields = dict(label)
        modality = fields.pop("modality", default_modality)
        return Label.parse(fields), modality
    return Label.parse(label), default_modality


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


def settings_from_environment(environ: Mapping[str, str]) -> tuple[str, tuple[str, ...], str]:
    """The recipe, end-of-sequence tokens and default modality `environ` asks for:
    ``AURAL_REWARD_RECIPE`` (name or TOML path, default ``step-audio-r1``),
    ``AURAL_EOS_TOKENS`` (comma-separated) and ``AURAL_DEFAULT_MODALITY`` (default ``audio``).

    >>> settings_from_environment({"AURAL_EOS_TOKENS": "<END>,</s>"})
    ('step-audio-r1', ('<END>', '</s>'), 'audio')
    """
    eos = environ.get("AURAL_EOS_TOKENS")
    return (
        environ.get("AURAL_REWARD_RECIPE", DEFAULT_RECIPE),
        tuple(t for t in eos.split(",") if t) if eos else EOS_TOKENS,
        environ.get("AURAL_DEFAULT_MODALITY", DEFAULT_MODALITY),
    )
