"""Model inputs for the Qwen audio family (Qwen2-Audio, the Qwen2.5-Omni thinker):
audio placeholders expanded to the clip's length, and Whisper features.

Their processors do this too, but Qwen2.5-Omni's also builds image and video
processors that need torchvision; audio alone needs none of that. The rule is
the encoder's: two stride-2 stages over the mel frames, so a 30 s clip (3,000
frames) becomes 750 audio tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, SequenceFeatureExtractor

AUDIO_TOKEN = "<|AUDIO|>"
FEATURE_KEYS = ("input_features", "feature_attention_mask")  # what the model takes of the audio


def audio_token_count(mel_frames: int) -> int:
    """How many audio tokens the encoder makes of `mel_frames` frames.

    >>> audio_token_count(3000), audio_token_count(100)
    (750, 25)
    """
    return ((mel_frames - 1) // 2 + 1 - 2) // 2 + 1


class AudioInputs:
    """Turns a rendered prompt and its clips into ``input_ids``, ``attention_mask``,
    ``input_features`` and ``feature_attention_mask``."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, feature_extractor: SequenceFeatureExtractor, audio_token: str = AUDIO_TOKEN):
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.audio_token = audio_token

    @property
    def sampling_rate(self) -> int:
        """The rate (Hz) the clips must be at."""
        return self.feature_extractor.sampling_rate

    def __call__(self, text: str, audios: Sequence[np.ndarray] = ()) -> dict[str, torch.Tensor]:
        placeholders = text.count(self.audio_token)
        if placeholders != len(audios):
            raise ValueError(f"the prompt has {placeholders} {self.audio_token} placeholders for {len(audios)} clips")
        batch: dict[str, torch.Tensor] = {}
        if audios:
            features = self.feature_extractor(
                list(audios),
                sampling_rate=self.feature_extractor.sampling_rate,
                padding="max_length",
                return_attention_mask=True,
                return_tensors="pt",
            )
            batch["input_features"] = features["input_features"]
            batch["feature_attention_mask"] = features["attention_mask"]
            pieces = text.split(self.audio_token)
            counts = [audio_token_count(int(n)) for n in features["attention_mask"].sum(-1)]
            text = pieces[0] + "".join(self.audio_token * count + piece for count, piece in zip(counts, pieces[1:]))
        tokens = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")
        batch["input_ids"] = tokens["input_ids"]
        batch["attention_mask"] = tokens["attention_mask"]
        return batch
