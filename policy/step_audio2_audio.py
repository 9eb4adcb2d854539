"""Audio in for the StepAudio2 family (Step-Audio 2 mini, Step-Audio-R1): 128-bin
log-mels, 25-second chunks, and the placeholders each chunk takes in the prompt.

StepAudio2 ships no Hugging Face processor; its releases compute the features
with a function of their own, which this module reproduces (matched against
``utils.py`` of github.com/stepfun-ai/Step-Audio-R1 and ``stepaudio2.py`` of
github.com/stepfun-ai/Step-Audio2):

- a clip is cut into 25-second chunks (the last one shorter);
- each chunk gets 479 zero samples on the right, then a centred, reflect-padded
  STFT (n_fft 400, hop 160, periodic Hann window) whose last frame is dropped;
- power spectrum -> 128 Slaney mel bins (librosa's default filter bank) ->
  log10 (floored at 1e-10), clamped to the chunk's maximum minus 8, then (x + 4) / 4;
- a chunk of T mel frames becomes `audio_token_count(T)` audio tokens: the
  encoder's stride-2 convolution and stride-2 pooling, then the adaptor's
  convolution (kernel 3, stride 2, padding 1). In the prompt each chunk is
  ``<audio_start>`` + ``<audio_patch>`` x count + ``<audio_end>``. A tail under
  20 ms (320 samples) takes no placeholders; the release still writes ``<audio_start><audio_end>``
  for it, here it is left out (it carries no audio into the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase
from transformers.audio_utils import mel_filter_bank

SAMPLE_RATE = 16_000
CHUNK_SAMPLES = 25 * SAMPLE_RATE
N_FFT, HOP, N_MELS = 400, 160, 128
RIGHT_PADDING = 479  # samples appended to every chunk before the STFT
CHUNK_FRAMES = (CHUNK_SAMPLES + RIGHT_PADDING) // HOP  # mel frames of a full chunk: 2502
AUDIO_START, AUDIO_PATCH, AUDIO_END = "<audio_start>", "<audio_patch>", "<audio_end>"


@lru_cache(maxsize=1)
def mel_filters() -> torch.Tensor:
    """The (128, 201) Slaney-scale, Slaney-normalised mel filter bank for 16 kHz and n_fft 400."""
    bank = mel_filter_bank(
        num_frequency_bins=N_FFT // 2 + 1,
        num_mel_filters=N_MELS,
        min_frequency=0.0,
        max_frequency=SAMPLE_RATE / 2,
        sampling_rate=SAMPLE_RATE,
        norm="slaney",
        mel_scale="slaney",
    )
    return torch.from_numpy(bank.T.astype(np.float32))


def log_mel(chunk: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The (128, frames) log-mel features of one chunk of 16 kHz mono audio.

    >>> log_mel(np.zeros(16_000, np.float32)).shape
    torch.Size([128, 102])
    """
    audio = torch.as_tensor(chunk, dtype=torch.float32)
    audio = torch.nn.functional.pad(audio, (0, RIGHT_PADDING))
    spectrum = torch.stft(audio, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    power = spectrum[..., :-1].abs() ** 2
    log_spec = torch.clamp(mel_filters() @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def audio_token_count(mel_frames: int) -> int:
    """How many ``<audio_patch>`` tokens a chunk of `mel_frames` frames takes (a full 25 s chunk: 313).

    >>> audio_token_count(2502), audio_token_count(1002), audio_token_count(3)
    (313, 125, 0)
    """
    encoded = (mel_frames - 1) // 2 // 2  # conv stride 2, then average pooling 2
    return (encoded - 1) // 2 + 1  # adaptor conv: kernel 3, stride 2, padding 1


def split_chunks(waveform: np.ndarray) -> list[np.ndarray]:
    """`waveform` (16 kHz) in consecutive 25-second chunks, the last one shorter.

    >>> [len(c) for c in split_chunks(np.zeros(60 * 16_000, np.float32))]
    [400000, 400000, 160000]
    """
    return [waveform[start : start + CHUNK_SAMPLES] for start in range(0, len(waveform), CHUNK_SAMPLES)]


def chunk_markup(mel_frames: int) -> str:
    """The prompt text of one chunk: its placeholders between ``<audio_start>`` and ``<audio_end>``.

    >>> chunk_markup(20)
    '<audio_start><audio_patch><audio_patch><audio_end>'
    """
    return AUDIO_START + AUDIO_PATCH * audio_token_count(mel_frames) + AUDIO_END


def clip_features(clip: np.ndarray) -> list[torch.Tensor]:
    """The log-mels of each 25-second chunk of `clip` that takes placeholders.

    >>> [mel.shape[1] for mel in clip_features(np.zeros(26 * 16_000, np.float32))]
    [2502, 102]
    """
    mels = (log_mel(chunk) for chunk in split_chunks(np.asarray(clip, dtype=np.float32)))
    return [mel for mel in mels if audio_token_count(mel.shape[1])]


def pad_features(mels: Sequence[torch.Tensor], frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunks' features zero-padded on the right into ``(chunks, 128, frames)`` (`frames`:
    the longest chunk's unless given) and the ``(chunks, frames)`` mask of real frames.

    >>> features, mask = pad_features([torch.ones(128, 5), torch.ones(128, 3)])
    >>> features.shape, mask.sum(-1).tolist()
    (torch.Size([2, 128, 5]), [5, 3])
    """
    longest = frames or max(mel.shape[1] for mel in mels)
    features = torch.zeros(len(mels), mels[0].shape[0], longest)
    mask = torch.zeros(len(mels), longest, dtype=torch.long)
    for i, mel in enumerate(mels):
        features[i, :, : mel.shape[1]] = mel
        mask[i, : mel.shape[1]] = 1
    return features, mask


class StepAudio2Inputs:
    """Turns a rendered prompt (one ``<audio_patch>`` per clip, as the chat template writes
    it) and its 16 kHz clips into ``input_ids``, ``attention_mask``, ``input_features``
    (chunks, 128, 2502) and ``feature_attention_mask`` (chunks, 2502). Every chunk is padded
    to a full chunk's frames (the encoder masks the padding), so the features of different
    prompts concatenate, as trainers batch them and as vLLM gets them."""

    sampling_rate = SAMPLE_RATE  # the rate (Hz) the clips must be at

    def __init__(self, tokenizer: PreTrainedTokenizerBase):
        self.tokenizer = tokenizer

    def __call__(self, text: str, audios: Sequence[np.ndarray] = ()) -> dict[str, torch.Tensor]:
        pieces = text.split(AUDIO_PATCH)
        if len(pieces) - 1 != len(audios):
            raise ValueError(f"the prompt has {len(pieces) - 1} {AUDIO_PATCH} placeholders for {len(audios)} clips")
        mels: list[torch.Tensor] = []
        expanded = [pieces[0]]
        for clip, piece in zip(audios, pieces[1:]):
            clip_mels = clip_features(clip)
            mels += clip_mels
            expanded += [chunk_markup(mel.shape[1]) for mel in clip_mels] + [piece]
        tokens = self.tokenizer("".join(expanded), add_special_tokens=False, return_tensors="pt")
        batch = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
        if mels:
            batch["input_features"], batch["feature_attention_mask"] = pad_features(mels, CHUNK_FRAMES)
        return batch
