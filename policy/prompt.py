"""Prompts: chat messages with audio parts -> the model's chat template, and the audio.

This is the one place that knows templates. A `Prompt` holds the rendered text,
with one audio placeholder per clip as the template writes it (vLLM and the HF
processor each expand it to the clip's length), and the clips themselves as
16 kHz mono waveforms. Step-Audio-R1 style models think first: with
`prefill_think` the assistant turn opens with ``<think>`` already written (a
template whose generation prompt already opens it, as StepAudio2's does, is
left as it is).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from aural.errors import MissingFile
from aural.verifiers.think import OPEN_TAG

from .audio import MODEL_RATE, WINDOW_SECONDS, load_audio
from .messages import audio_parts, is_audio
from .step_audio2_template import CHAT_TEMPLATE as STEP_AUDIO2_TEMPLATE


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and its audio clips, in placeholder order."""

    text: str
    audios: tuple[np.ndarray, ...] = field(default=(), compare=False)


class PromptBuilder:
    """Renders chat messages with a tokenizer's chat template.

    Message content is a string or a list of parts: ``{"type": "text", "text": …}``
    and ``{"type": "audio", "audio": PATH | BYTES | ARRAY}`` (an array is taken to be
    at the model's rate unless the part gives ``"sampling_rate"``). Clips longer than
    `max_seconds` are an error (None: any length, for models that cut clips into chunks);
    `question` puts the clip before the text, or after it with ``audio_first=False``.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        sampling_rate: int = MODEL_RATE,
        think_open: str = OPEN_TAG,
        max_seconds: float | None = WINDOW_SECONDS,
        audio_first: bool = True,
    ):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("the tokenizer has no chat template")
        self.tokenizer = tokenizer
        self.sampling_rate = sampling_rate
        self.think_open = think_open
        self.max_seconds = max_seconds
        self.audio_first = audio_first

    @classmethod
    def from_pretrained(cls, folder: str | Path, **options: Any) -> PromptBuilder:
        """The builder of a local model folder (its tokenizer and chat template only). A StepAudio2
        folder gets the release's chat template when its tokenizer has none, clips of any
        length (cut into chunks later) and the question before the clip."""
        tokenizer = AutoTokenizer.from_pretrained(_local_folder(folder), local_files_only=True)
        if _model_type(folder) == "step_audio_2":
            tokenizer.chat_template = tokenizer.chat_template or STEP_AUDIO2_TEMPLATE
            options = {"max_seconds": None, "audio_first": False, **options}
        return cls(tokenizer, **options)

    def render(self, messages: Sequence[Mapping[str, Any]], prefill_think: bool = False) -> tuple[str, list[Mapping[str, Any]]]:
        """The rendered text of `messages` and their audio parts in placeholder order, unloaded."""
        rendered = [
            {**message, "content": [{"type": "audio"} if is_audio(part) else dict(part) for part in message["content"]]}
            if isinstance(message["content"], list)
            else dict(message)
            for message in messages
        ]
        text = self.tokenizer.apply_chat_template(rendered, tokenize=False, add_generation_prompt=True)
        if prefill_think and not text.endswith(self.think_open + "\n"):
            text += self.think_open + "\n"
        return text, audio_parts(messages)

    def build(self, messages: Sequence[Mapping[str, Any]], prefill_think: bool = False) -> Prompt:
        """Render `messages`, ending with the assistant turn opened (and thinking, with `prefill_think`)."""
        text, audio_parts = self.render(messages, prefill_think)
        rate = self.sampling_rate
        return Prompt(
            text, tuple(load_audio(part["audio"], rate, part.get("sampling_rate", rate), self.max_seconds) for part in audio_parts)
        )

    def question(self, question: str, audio: Any = None, system: str | None = None, prefill_think: bool = False) -> Prompt:
        """A one-turn prompt: the clip (if any) and the question, in the builder's order."""
        content: list[dict[str, Any]] = [{"type": "text", "text": question}]
        if audio is not None:
            content.insert(0 if self.audio_first else 1, {"type": "audio", "audio": audio})
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": content}]
        return self.build(messages, prefill_think)


def _model_type(folder: str | Path) -> str | None:
    config = Path(folder) / "config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("model_type") if config.is_file() else None


def _local_folder(folder: str | Path) -> str:
    if not Path(folder).is_dir():
        raise MissingFile("no such model folder (models load from local folders only)", str(folder))
    return str(folder)
