"""What trainers hand a reward function, read the same way for each of them.

A label arrives as a JSON object (``answer``, ``choices``, ``kind``, ``modality``,
an audio reference…) or a bare answer (`parse_label`); a trainer that decodes prompt
and response together (OpenRLHF's query) has the response cut out and its finish
reason read from the end-of-sequence token (`split_response`); settings a trainer
can only pass through the environment are read once (`settings_from_environment`).
OpenRLHF, verl, TRL and the reward server all read their samples through this module.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aural.verifiers import Label

from .recipe import DEFAULT_RECIPE

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
_PROMPT_TAIL = 64  # characters of the prompt looked for when the query does not start with it


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


@dataclass(frozen=True)
class RewardSettings:
    """How a trainer's reward call is read: the recipe (a name or TOML path), the tokens that
    end a response, and the modality of labels that name none."""

    recipe: str = DEFAULT_RECIPE
    eos_tokens: tuple[str, ...] = EOS_TOKENS
    default_modality: str = DEFAULT_MODALITY


def settings_from_environment(environ: Mapping[str, str]) -> RewardSettings:
    """The settings `environ` asks for: ``AURAL_REWARD_RECIPE`` (name or TOML path, default
    ``step-audio-r1``), ``AURAL_EOS_TOKENS`` (comma-separated) and ``AURAL_DEFAULT_MODALITY``
    (default ``audio``).

    >>> settings_from_environment({"AURAL_EOS_TOKENS": "<END>,</s>"})
    RewardSettings(recipe='step-audio-r1', eos_tokens=('<END>', '</s>'), default_modality='audio')
    """
    eos = environ.get("AURAL_EOS_TOKENS")
    return RewardSettings(
        environ.get("AURAL_REWARD_RECIPE", DEFAULT_RECIPE),
        tuple(t for t in eos.split(",") if t) if eos else EOS_TOKENS,
        environ.get("AURAL_DEFAULT_MODALITY", DEFAULT_MODALITY),
    )
