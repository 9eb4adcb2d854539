"""Audio in: real speech (espeak-ng) and tones, every container, resampling, features, and every error."""

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional
from transformers import WhisperFeatureExtractor

from aural.policy.audio import AudioError, load_audio, split_audio

FEATURES = WhisperFeatureExtractor(feature_size=128, sampling_rate=16_000, hop_length=160, chunk_length=30, n_fft=400)


def tone(frequency, seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.5 * np.sin(2 * np.pi * frequency * t).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def peak_frequency(waveform, rate):
    spectrum = np.abs(np.fft.rfft(waveform))
    return np.fft.rfftfreq(len(waveform), 1 / rate)[spectrum.argmax()]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: `make setup` installs it")
    path = tmp_path_factory.mktemp("speech") / "three_beeps.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "I heard three beeps, then a low hum."], check=True)
    return path


def test_speech_reads_back_at_16khz_and_featurizes_like_the_extractor(speech):
    raw, rate = soundfile.read(speech, dtype="float32")
    assert rate == 22_050  # espeak-ng's rate: the loader must resample
    waveform = load_audio(speech)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert len(waveform) == pytest.approx(len(raw) * 16_000 / rate, abs=1)
    expected = torchaudio.functional.resample(torch.from_numpy(raw), rate, 16_000).numpy()
    ours = FEATURES(waveform, sampling_rate=16_000, return_tensors="np")["input_features"]
    theirs = FEATURES(expected, sampling_rate=16_000, return_tensors="np")["input_features"]
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert np.abs(waveform).max() > 0.05  # real speech, not silence


@pytest.mark.parametrize("container, subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_containers_stereo_and_other_rates_come_out_mono_16khz(tmp_path, container, subtype):
    path = tmp_path / f"tone.{container.lower()}"
    soundfile.write(path, tone(440, 1.0, 44_100, channels=2), 44_100, format=container, subtype=subtype)
    waveform = load_audio(path)
    assert len(waveform) == 16_000
    assert peak_frequency(waveform, 16_000) == pytest.approx(440, abs=2)
    from_bytes = load_audio(path.read_bytes())
    np.testing.assert_array_equal(from_bytes, waveform)


def test_arrays_of_any_layout():
    stereo = tone(1000, 0.5, 8_000, channels=2)
    assert load_audio(stereo, source_rate=8_000).shape == (8_000,)
    assert load_audio(stereo.T, source_rate=8_000).shape == (8_000,)  # channels first
    pcm = (tone(1000, 0.5, 16_000) * 32767).astype(np.int16)
    np.testing.assert_allclose(load_audio(pcm, source_rate=16_000), tone(1000, 0.5, 16_000), atol=1e-4)
    assert load_audio(torch.from_numpy(tone(200, 0.25, 16_000)), source_rate=16_000).shape == (4_000,)


def test_long_clips_are_refused_truncated_or_split(tmp_path):
    path = tmp_path / "long.wav"
    soundfile.write(path, tone(300, 31.0, 16_000), 16_000)
    with pytest.raises(AudioError, match=r"long\.wav: is 31\.0 s long; the model's window is 30 s"):
        load_audio(path)
    assert len(load_audio(path, truncate=True)) == 30 * 16_000
    whole = load_audio(path, max_seconds=None)
    assert [len(part) for part in split_audio(whole)] == [30 * 16_000, 16_000]


def test_errors_name_the_source(tmp_path):
    with pytest.raises(AudioError, match=r"missing\.wav: no such file"):
        load_audio(tmp_path / "missing.wav")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioError, match=r"notes\.wav: cannot decode audio"):
        load_audio(text)
    corrupt = tmp_path / "corrupt.wav"
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(440, 1.0, 16_000), 16_000, format="WAV")
    corrupt.write_bytes(buffer.getvalue()[:30])  # the header cut short
    with pytest.raises(AudioError, match=r"corrupt\.wav: cannot decode audio"):
        load_audio(corrupt)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), 16_000)
    with pytest.raises(AudioError, match=r"empty\.wav: no samples"):
        load_audio(empty)
    with pytest.raises(AudioError, match=r"<array>: contains NaN or infinite samples"):
        load_audio(np.array([0.0, np.nan, 0.1], np.float32), source_rate=16_000)
    with pytest.raises(AudioError, match=r"<array>: an array needs its source_rate"):
        load_audio(np.zeros(10, np.float32))
    with pytest.raises(AudioError, match=r"<bytes>: cannot decode audio"):
        load_audio(b"RIFF\x00\x00")
    with pytest.raises(AudioError, match=r"expected 1 or 2 dimensions"):
        load_audio(np.zeros((2, 2, 2), np.float32), source_rate=16_000)
    with pytest.raises(AudioError, match="expected a path, bytes or an array"):
        load_audio(3.5)
