"""Chat messages with audio parts: the one reader of where their clips are.

A message's content is a string or a list of parts; an audio part is
``{"type": "audio", "audio": PATH | BYTES | ARRAY}``. Light on purpose (no torch):
prompt files are read with it before any model loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def audio_parts(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The audio parts of `messages`, in the order their placeholders appear.

    >>> question = {"role": "user", "content": [{"type": "audio", "audio": "a.flac"}, {"type": "text", "text": "Higher?"}]}
    >>> [part["audio"] for part in audio_parts([{"role": "system", "content": "Be brief."}, question])]
    ['a.flac']
    """
    return [part for message in messages if isinstance(message["content"], list) for part in message["content"] if is_audio(part)]


def is_audio(part: Mapping[str, Any]) -> bool:
    """Whether a content part is an audio part.

    >>> is_audio({"type": "audio", "audio": "a.flac"}), is_audio({"type": "text", "text": "Hi"})
    (True, False)
    """
    return part.get("type") == "audio"


def vllm_audio(clips: Sequence[Any], rate: int) -> dict[str, list[tuple[Any, int]]] | None:
    """vLLM's ``multi_modal_data`` for `clips` (waveforms at `rate`); None without clips.

    >>> vllm_audio([], 16_000) is None
    True
    >>> [(len(clip), rate) for clip, rate in vllm_audio([[0.0] * 4], 16_000)["audio"]]
    [(4, 16000)]
    """
    return {"audio": [(clip, rate) for clip in clips]} if clips else None
