"""Audio in: files, bytes or arrays to mono float32 waveforms at the model's rate.

Files are decoded with soundfile (WAV, FLAC, OGG…), channels are averaged to
mono, and the waveform is resampled with `torchaudio.functional.resample`.
Every failure is an `AudioError` that names the source: a missing, unreadable
or corrupt file, no samples, NaN or infinite samples, or a clip longer than the
model's window unless the caller truncates it or splits it with `split_audio`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
import torchaudio.functional

from aural.errors import AuralError

MODEL_RATE = 16_000
WINDOW_SECONDS = 30.0

AudioSource = str | Path | bytes | np.ndarray | torch.Tensor


class AudioError(AuralError):
    """Audio that cannot be used; `where` is its source."""

    def __init__(self, source: str, message: str):
        super().__init__(message, where=source)


def load_audio(
    source: AudioSource,
    rate: int = MODEL_RATE,
    source_rate: int | None = None,
    max_seconds: float | None = WINDOW_SECONDS,
    truncate: bool = False,
) -> np.ndarray:
    """A mono float32 waveform at `rate` Hz from a file path, encoded bytes, or an array.

    Arrays need `source_rate`; 2-D arrays are ``(samples, channels)``, or
    ``(channels, samples)`` when the first dimension is the smaller. A clip
    longer than `max_seconds` is an error unless `truncate` (None: no limit).

    >>> tone = np.sin(2 * np.pi * 440 * np.arange(8_000) / 8_000).astype(np.float32)
    >>> load_audio(tone, source_rate=8_000).shape
    (16000,)
    >>> load_audio(np.zeros(0), source_rate=16_000)
    Traceback (most recent call last):
    aural.policy.audio.AudioError: <array>: no samples
    """
    name, samples, found_rate = _decode(source, source_rate)
    if samples.ndim == 2:
        samples = samples.mean(axis=1 if samples.shape[0] >= samples.shape[1] else 0)
    if samples.ndim != 1:
        raise AudioError(name, f"expected 1 or 2 dimensions (samples, channels), got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError(name, "no samples")
    if not np.isfinite(samples).all():
        raise AudioError(name, "contains NaN or infinite samples")
    seconds = samples.size / found_rate
    if max_seconds is not None and seconds > max_seconds:
        if not truncate:
            raise AudioError(
                name,
                f"is {seconds:.1f} s long; the model's window is {max_seconds:g} s "
                "(pass truncate=True, or load with max_seconds=None and use split_audio)",
            )
        samples = samples[: int(max_seconds * found_rate)]
    if found_rate != rate:
        samples = torchaudio.functional.resample(torch.from_numpy(samples), found_rate, rate).numpy()
    return np.ascontiguousarray(samples, dtype=np.float32)


def split_audio(waveform: np.ndarray, rate: int = MODEL_RATE, seconds: float = WINDOW_SECONDS) -> list[np.ndarray]:
    """`waveform` in consecutive pieces of at most `seconds`.

    >>> [len(part) for part in split_audio(np.zeros(70 * 16_000, np.float32))]
    [480000, 480000, 160000]
    """
    step = int(seconds * rate)
    return [waveform[start : start + step] for start in range(0, len(waveform), step)]


def _decode(source: AudioSource, source_rate: int | None) -> tuple[str, np.ndarray, int]:
    if isinstance(source, (str, Path)):
        name = str(source)
        if not Path(source).is_file():
            raise AudioError(name, "no such file")
        return name, *_read(name, source)
    if isinstance(source, (bytes, bytearray)):
        return "<bytes>", *_read("<bytes>", io.BytesIO(source))
    if isinstance(source, (np.ndarray, torch.Tensor, list)):
        if source_rate is None:
            raise AudioError("<array>", "an array needs its source_rate")
        return "<array>", _as_float(np.asarray(source.detach().cpu() if isinstance(source, torch.Tensor) else source)), source_rate
    raise AudioError(repr(source)[:80], f"expected a path, bytes or an array, got {type(source).__name__}")


def _read(name: str, handle: Any) -> tuple[np.ndarray, int]:
    try:
        samples, rate = soundfile.read(handle, dtype="float32", always_2d=False)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise AudioError(name, f"cannot decode audio: {error}") from None
    return samples, rate


def _as_float(samples: np.ndarray) -> np.ndarray:
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError("<array>", f"expected numbers, got dtype {samples.dtype}")
    return samples.astype(np.float32)
