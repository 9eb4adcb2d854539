"""The tiny offline policies: random-weight Qwen2-Audio (and Qwen2.5-Omni thinker)
models small enough for CPU tests.

`write_tiny_policy(folder)` writes a complete checkpoint with nothing from a
hub: a byte-level BPE tokenizer trained here on a few hundred sentences (with
Qwen2-Audio's special tokens and ``<think>``/``</think>``), a Whisper feature
extractor (128 mel bins, 16 kHz, 30 s), the Qwen2-Audio processor and chat
template, and a two-layer model with 64-wide attention heads, as vLLM's CPU
backend needs. Weights are saved under the names of the released Qwen2-Audio
checkpoints (``language_model.model.*``), which both transformers and vLLM load.
The same seed always gives the same files. `tiny_policy()` builds it once per
seed and caches it. `write_tiny_omni_thinker` writes a Qwen2.5-Omni thinker of
the same sizes, with the same tokenizer; `write_tiny_step_audio2` a StepAudio2
(Step-Audio-R1's architecture) in the released layout, with its special tokens
and chat template.

    aural tiny-policy DIR [--arch qwen2-audio | step-audio-2]
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2_5OmniThinkerConfig,
    Qwen2_5OmniThinkerForConditionalGeneration,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)

from aural.errors import AuralError

from .checkpoint import save_policy
from .step_audio2 import StepAudio2Config, StepAudio2ForCausalLM
from .step_audio2_template import CHAT_TEMPLATE as STEP_AUDIO2_TEMPLATE
from .step_audio2_template import SPECIAL_TOKENS as STEP_AUDIO2_TOKENS

VERSION = 3  # part of the cache key: bump it when the files change
# The Qwen2.5-Omni names its processor looks the tokens up by.
NAMED_TOKENS = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
}
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *NAMED_TOKENS.values()]
THINK_TOKENS = ["<think>", "</think>"]
CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_WORDS = (
    "the a an is it of in on and then so which what how many first second tone pitch higher lower rises falls "
    "beep beeps sound clip speaker voice music drum rhythm tempo loud soft background noise rain dog cat car "
    "bell answer option choice reasoning hear heard listen count one two three four five six seven eight nine ten"
).split()


def _corpus() -> list[str]:
    lines = [" ".join(_WORDS[i:] + _WORDS[:i]) for i in range(len(_WORDS))]
    lines += [f"The answer is ({letter})." for letter in "ABCD"] + ["0 1 2 3 4 5 6 7 8 9 . , ? ! ( ) : ; \\boxed{ }"]
    return lines


def _tokenizer() -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        _corpus() * 8,
        trainers.BpeTrainer(vocab_size=1024, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        extra_special_tokens=NAMED_TOKENS,
    )
    tokenizer.add_tokens(THINK_TOKENS)  # ordinary tokens: decoding keeps them
    return tokenizer


def _features(window_s: int = 30) -> WhisperFeatureExtractor:
    return WhisperFeatureExtractor(
        feature_size=128, sampling_rate=16_000, hop_length=160, chunk_length=window_s, n_fft=400, return_attention_mask=True
    )


def _encoder_sizes() -> dict:
    return {"d_model": 128, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 256, "num_mel_bins": 128}


def _decoder_sizes(tokenizer: PreTrainedTokenizerFast) -> dict:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "max_position_embeddings": 16_384,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
    }


def _save(model: torch.nn.Module, tokenizer: PreTrainedTokenizerFast, folder: Path) -> None:
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    save_policy(model, folder)


def write_tiny_policy(folder: str | Path, seed: int = 0, audio_window_s: int = 30) -> Path:
    """Write the tiny Qwen2-Audio checkpoint to `folder` (created); returns it.

    `audio_window_s` is the encoder's window: Whisper's 30 s, or a short one (2 s) for
    training on short clips, where the encoder then reads 200 mel frames instead of 3,000.
    """
    if audio_window_s < 1:
        raise AuralError(f"the audio window must be at least 1 s, got {audio_window_s}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    features = _features(audio_window_s)
    Qwen2AudioProcessor(feature_extractor=features, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    config = Qwen2AudioConfig(
        audio_config={**_encoder_sizes(), "max_source_positions": features.nb_max_frames // 2},  # the encoder's stride 2
        text_config=_decoder_sizes(tokenizer),
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
    )
    config.eos_token_id = tokenizer.eos_token_id
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    with torch.no_grad():  # a Whisper encoder's positions are sinusoids, not random: where a sound is, is heard
        model.model.audio_tower.embed_positions.weight.copy_(sinusoids(*model.model.audio_tower.embed_positions.weight.shape))
    _save(model, tokenizer, folder)
    return folder


def sinusoids(length: int, channels: int, max_timescale: float = 10_000.0) -> torch.Tensor:
    """Sine and cosine position codes, `length` x `channels`: the first half sines, the second cosines,
    timescales spaced geometrically from 1 to `max_timescale`.

    >>> codes = sinusoids(4, 6)
    >>> tuple(codes.shape), codes[0].tolist()
    ((4, 6), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    """
    rates = torch.exp(-math.log(max_timescale) * torch.arange(channels // 2) / (channels // 2 - 1))
    angles = torch.arange(length)[:, None] * rates[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def write_tiny_omni_thinker(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny Qwen2.5-Omni thinker (audio encoder, a one-block vision encoder, decoder) to `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    tokenizer.save_pretrained(folder)
    _features().save_pretrained(folder)
    ids = tokenizer.convert_tokens_to_ids
    head = 64  # M-RoPE splits it into temporal, height and width sections
    config = Qwen2_5OmniThinkerConfig(
        audio_config={**_encoder_sizes(), "output_dim": 128},
        vision_config={
            "depth": 1,
            "hidden_size": 64,
            "intermediate_size": 64,
            "num_heads": 1,
            "out_hidden_size": 128,
            "fullatt_block_indexes": [0],
        },
        text_config={
            **_decoder_sizes(tokenizer),
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [head // 4, head // 8, head // 8]},
        },
        audio_token_index=ids("<|AUDIO|>"),
        image_token_index=ids("<|IMAGE|>"),
        video_token_index=ids("<|VIDEO|>"),
        audio_start_token_id=ids("<|audio_bos|>"),
        audio_end_token_id=ids("<|audio_eos|>"),
        vision_start_token_id=ids("<|vision_bos|>"),
        vision_end_token_id=ids("<|vision_eos|>"),
        user_token_id=tokenizer("user", add_special_tokens=False)["input_ids"][0],
    )
    torch.manual_seed(seed)
    _save(Qwen2_5OmniThinkerForConditionalGeneration(config), tokenizer, folder)
    return folder


def write_tiny_step_audio2(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny StepAudio2 to `folder`: the release's config layout and weight names,
    the tokenizer with ``<|BOT|>``, ``<|EOT|>`` and the audio tokens added after the Qwen
    ones in the released order (the ids themselves are small), and the release's chat template."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": list(STEP_AUDIO2_TOKENS)})
    tokenizer.eos_token = "<|EOT|>"
    tokenizer.chat_template = STEP_AUDIO2_TEMPLATE
    tokenizer.save_pretrained(folder)
    stops = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "<|EOT|>"])  # the release's three
    config = StepAudio2Config(
        audio_encoder_config={"n_audio_state": 64, "n_audio_head": 1, "n_audio_layer": 2, "llm_dim": 128},
        text_config={**_decoder_sizes(tokenizer), "eos_token_id": stops},
        audio_start_token_id=tokenizer.convert_tokens_to_ids("<audio_start>"),
        audio_patch_token_id=tokenizer.convert_tokens_to_ids("<audio_patch>"),
        architectures=["StepAudio2ForCausalLM"],
    )
    torch.manual_seed(seed)
    model = StepAudio2ForCausalLM(config)
    model.generation_config.eos_token_id = stops
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    save_policy(model, folder)
    return folder


def tiny_policy(seed: int = 0) -> Path:
    """The tiny policy for `seed`, built on first use under ``AURAL_CACHE``
    (default ``~/.cache/aural``) and reused after."""
    cache = Path(os.environ.get("AURAL_CACHE", Path.home() / ".cache" / "aural"))
    folder = cache / f"tiny-policy-v{VERSION}-seed{seed}"
    if (folder / "model.safetensors").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=cache))
    try:
        write_tiny_policy(building, seed)
        building.rename(folder)  # whole or not at all
    except OSError:
        if not (folder / "model.safetensors").is_file():  # else a concurrent builder won
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)  # a failed build, or the one that lost
    return folder
