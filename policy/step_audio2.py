"""StepAudio2 (Step-Audio 2 mini, Step-Audio-R1 and R1.1) written for Aural: a
Whisper-style audio encoder at 25 Hz, an adaptor to 12.5 Hz, a Qwen2 decoder.

The parameter names are the released checkpoints' (``model.*`` the Qwen2
decoder, ``encoder.*``, ``adapter.*``, ``lm_head``), so their safetensors load
unchanged, with no remote code. Matched against the release's
``modeling_step_audio_2.py`` and ``configuration_step_audio_2.py`` (the
Hugging Face model repositories' remote code) for the layer shapes, activations
and length arithmetic; what differs from it:

- a KV cache (transformers' `DynamicCache` through `GenerationMixin`), so
  generation is linear in the length; the audio is encoded on the first step only;
- SDPA attention in the encoder, gradient checkpointing of encoder blocks and
  decoder layers;
- batched chunks of different lengths give each chunk's result alone: the
  encoder masks padded frames out of its convolutions, attention and pooling
  (the release's key mask depends on the padded batch length's parity).

Inputs: ``input_features`` (chunks, 128, frames) and ``feature_attention_mask``
(chunks, frames), from `aural.policy.step_audio2_audio.StepAudio2Inputs`. Each
chunk's adaptor outputs replace the embeddings right after the chunk's
``<audio_start>`` token, in order. With `audio_patch_token_id` set, only a start
followed by ``<audio_patch>`` is a chunk's, so a response that writes
``<audio_start>`` itself stays text (the release takes every start).

Configs come nested (Step-Audio 2 mini: ``text_config`` and
``audio_encoder_config``) or flat (the 32B Step-Audio-R1: the decoder's keys at
the top level beside ``audio_encoder_config``); both load.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, GenerationMixin, PretrainedConfig, PreTrainedModel, Qwen2Config, Qwen2Model
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import CausalLMOutputWithPast

RELEASED_AUDIO_START_ID = 151688  # <audio_start>
RELEASED_STOP_IDS = (151643, 151645, 151665)  # <|endoftext|>, <|im_end|>, <|EOT|>: the release always stops at these
ADAPTOR_WIDTH = 2048  # the adaptor's hidden width, fixed in the release
# Decoder keys a flat (32B) config holds at its top level.
FLAT_TEXT_KEYS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_attention_groups",
    "num_key_value_heads",
    "hidden_act",
    "max_position_embeddings",
    "max_seq_len",
    "initializer_range",
    "rms_norm_eps",
    "rope_theta",
    "rope_scaling",
    "eos_token_id",
    "pad_token_id",
)


class StepAudio2EncoderConfig(PretrainedConfig):
    """The audio encoder and adaptor sizes (defaults: Step-Audio 2 mini's)."""

    model_type = "step_audio_2_encoder"

    def __init__(
        self,
        n_mels: int = 128,
        n_audio_ctx: int = 1500,
        n_audio_state: int = 1280,
        n_audio_head: int = 20,
        n_audio_layer: int = 32,
        llm_dim: int = 3584,
        kernel_size: int = 3,
        adapter_stride: int = 2,
        **kwargs: Any,
    ):
        self.n_mels, self.n_audio_ctx, self.n_audio_state = n_mels, n_audio_ctx, n_audio_state
        self.n_audio_head, self.n_audio_layer, self.llm_dim = n_audio_head, n_audio_layer, llm_dim
        self.kernel_size, self.adapter_stride = kernel_size, adapter_stride
        super().__init__(**kwargs)


def _text_config(values: dict[str, Any]) -> Qwen2Config:
    """The decoder's config from the release's text keys; its stop ids gain the release's
    three wherever the vocabulary holds them."""
    values = dict(values)
    eos = values.pop("eos_token_id", None)
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    vocab = values.get("vocab_size", Qwen2Config().vocab_size)
    eos = sorted(set(eos) | {i for i in RELEASED_STOP_IDS if i < vocab})
    return Qwen2Config(**values, eos_token_id=eos)


class StepAudio2Config(PretrainedConfig):
    """``model_type`` ``step_audio_2``: `text_config` (a `Qwen2Config`), `audio_encoder_config`,
    `audio_start_token_id` (the released 151688 unless given) and `audio_patch_token_id`
    (None: every ``<audio_start>`` opens a chunk, as the release reads them)."""

    model_type = "step_audio_2"
    sub_configs = {"text_config": Qwen2Config, "audio_encoder_config": StepAudio2EncoderConfig}

    def __init__(
        self,
        audio_encoder_config: dict | StepAudio2EncoderConfig | None = None,
        text_config: dict | Qwen2Config | None = None,
        audio_start_token_id: int = RELEASED_AUDIO_START_ID,
        audio_patch_token_id: int | None = None,
        **kwargs: Any,
    ):
        if text_config is None:  # flat: the decoder's keys at the top level
            text_config = {key: kwargs.pop(key) for key in FLAT_TEXT_KEYS if key in kwargs}
        if isinstance(text_config, dict):
            text_config = _text_config(text_config)
        if isinstance(audio_encoder_config, dict) or audio_encoder_config is None:
            audio_encoder_config = StepAudio2EncoderConfig(**(audio_encoder_config or {}))
        self.text_config = text_config
        self.audio_encoder_config = audio_encoder_config
        self.audio_start_token_id = audio_start_token_id
        self.audio_patch_token_id = audio_patch_token_id
        kwargs.setdefault("eos_token_id", text_config.eos_token_id)
        kwargs.setdefault("pad_token_id", text_config.pad_token_id)
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(**kwargs)


class EncoderAttention(nn.Module):
    """Multi-head self-attention (no bias on the key projection), by SDPA."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = (proj(x).view(batch, length, self.heads, -1).transpose(1, 2) for proj in (self.query, self.key, self.value))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.out(y.transpose(1, 2).reshape(batch, length, width))


class EncoderBlock(GradientCheckpointingLayer):
    """Pre-norm transformer block: attention, then a GELU MLP four times as wide."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = EncoderAttention(width, heads)
        self.attn_ln = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.mlp_ln = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_ln(x), bias)
        return x + self.mlp(self.mlp_ln(x))


class AudioEncoder(nn.Module):
    """Log-mels (chunks, 128, frames) at 100 Hz -> states at 25 Hz: two convolutions (the
    second stride 2), learned positions, transformer blocks, average pooling by 2, LayerNorm."""

    def __init__(self, config: StepAudio2EncoderConfig):
        super().__init__()
        width = config.n_audio_state
        self.conv1 = nn.Conv1d(config.n_mels, width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(width, width, kernel_size=3, stride=2, padding=1)
        self.positional_embedding = nn.Embedding(config.n_audio_ctx, width)
        self.positional_embedding.requires_grad_(False)  # frozen in the release
        self.blocks = nn.ModuleList(EncoderBlock(width, config.n_audio_head) for _ in range(config.n_audio_layer))
        self.avg_pooler = nn.AvgPool1d(2, stride=2)
        self.after_norm = nn.LayerNorm(width)

    def forward(self, features: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """States (chunks, frames // 4, width); rows past a chunk's own length are zero."""
        x = F.gelu(self.conv1(features.to(self.conv1.weight.dtype)))
        x = x * _within(frames, x.shape[-1]).unsqueeze(1)  # a chunk's second conv sees zeros past its end, as alone
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        if x.shape[1] > self.positional_embedding.num_embeddings:
            raise ValueError(
                f"{features.shape[-1]} mel frames are more than the encoder's {self.positional_embedding.num_embeddings} "
                "positions hold; cut the audio into 25-second chunks"
            )
        x = x + self.positional_embedding.weight[: x.shape[1]].to(x.dtype)
        keys = _within((frames - 1) // 2, x.shape[1])  # the release's key mask for a chunk alone
        bias = torch.zeros(keys.shape, dtype=x.dtype, device=x.device).masked_fill(~keys, torch.finfo(x.dtype).min)
        bias = bias[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        x = self.after_norm(self.avg_pooler(x.transpose(1, 2)).transpose(1, 2))
        return x * _within((frames + 1) // 2 // 2, x.shape[1]).unsqueeze(-1).to(x.dtype)


class Adaptor(nn.Module):
    """Encoder states -> decoder embeddings at half the rate: a GELU convolution
    (kernel `kernel_size`, stride `adapter_stride`, padding 1), then Linear-ReLU-Linear."""

    def __init__(self, config: StepAudio2EncoderConfig):
        super().__init__()
        width = config.n_audio_state
        self.conv = nn.Conv1d(width, width, config.kernel_size, config.adapter_stride, padding=1)
        self.linear1 = nn.Linear(width, ADAPTOR_WIDTH)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(ADAPTOR_WIDTH, config.llm_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.linear2(self.relu(self.linear1(x)))


def _within(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(rows, size) mask: True where the position is below the row's length."""
    return torch.arange(size, device=lengths.device) < lengths.unsqueeze(-1)


def chunk_token_counts(frames: torch.Tensor) -> torch.Tensor:
    """`aural.policy.step_audio2_audio.audio_token_count` for a tensor of mel frame counts.

    >>> chunk_token_counts(torch.tensor([2502, 1002, 3])).tolist()
    [313, 125, 0]
    """
    return ((frames - 1) // 2 // 2 - 1) // 2 + 1


class StepAudio2ForCausalLM(PreTrainedModel, GenerationMixin):
    """The StepAudio2 model: `model` (Qwen2), `encoder`, `adapter`, `lm_head`."""

    config_class = StepAudio2Config
    config: StepAudio2Config
    base_model_prefix = "model"
    main_input_name = "input_ids"
    input_modalities = ("audio", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["Qwen2DecoderLayer", "EncoderBlock"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_sdpa = True
    _supports_flash_attn = True  # the decoder's; the encoder always runs SDPA

    def __init__(self, config: StepAudio2Config):
        super().__init__(config)
        self.model = Qwen2Model(config.text_config)
        self.encoder = AudioEncoder(config.audio_encoder_config)
        self.adapter = Adaptor(config.audio_encoder_config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.embed_tokens = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def embed_audio(self, input_features: torch.Tensor, feature_attention_mask: torch.Tensor) -> list[torch.Tensor]:
        """Each chunk's audio embeddings, (its `chunk_token_counts`, hidden) apiece."""
        frames = feature_attention_mask.sum(-1)
        states = self.adapter(self.encoder(input_features, frames))
        return [row[:count] for row, count in zip(states, chunk_token_counts(frames).tolist())]

    def chunk_starts(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Where chunks start: ``<audio_start>`` tokens (followed by ``<audio_patch>``, when its id is known)."""
        starts = input_ids == self.config.audio_start_token_id
        if self.config.audio_patch_token_id is not None:
            starts[:, :-1] &= input_ids[:, 1:] == self.config.audio_patch_token_id
            starts[:, -1] = False
        return starts

    def merge_audio(
        self, input_ids: torch.Tensor, embeddings: torch.Tensor, input_features: torch.Tensor, feature_attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """`embeddings` with each chunk's audio embeddings written right after its ``<audio_start>``
        (chunks in the order their start tokens appear, row by row)."""
        starts = self.chunk_starts(input_ids).nonzero().tolist()
        if len(starts) != len(input_features):
            raise ValueError(f"the input ids hold {len(starts)} <audio_start> tokens for {len(input_features)} audio chunks")
        chunks = self.embed_audio(input_features, feature_attention_mask)
        rows, columns = [], []
        for (row, start), chunk in zip(starts, chunks):
            if start + len(chunk) >= input_ids.shape[1]:
                raise ValueError(f"the audio chunk at position {start} needs {len(chunk)} placeholders; the input ends first")
            rows += [row] * len(chunk)
            columns += range(start + 1, start + 1 + len(chunk))
        index = (
            torch.tensor(rows, dtype=torch.long, device=embeddings.device),
            torch.tensor(columns, dtype=torch.long, device=embeddings.device),
        )
        return embeddings.index_put(index, torch.cat(chunks).to(embeddings.dtype))

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        """Logits (and the loss, given `labels`); the audio is merged when `input_features` are given."""
        if inputs_embeds is None:
            inputs_embeds = self.model.embed_tokens(input_ids)
            if input_features is not None:
                if feature_attention_mask is None:
                    feature_attention_mask = torch.ones(
                        input_features.shape[0], input_features.shape[-1], dtype=torch.long, device=input_features.device
                    )
                inputs_embeds = self.merge_audio(input_ids, inputs_embeds, input_features, feature_attention_mask)
        outputs = self.model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=outputs.past_key_values)

    def prepare_inputs_for_generation(self, *args: Any, is_first_iteration: bool | None = False, **kwargs: Any) -> dict:
        """As for any decoder; with a cache, the audio goes in on the first step only (the cache holds it after)."""
        inputs = super().prepare_inputs_for_generation(*args, is_first_iteration=is_first_iteration, **kwargs)
        if not is_first_iteration and inputs.get("past_key_values") is not None:
            inputs.pop("input_features", None)
            inputs.pop("feature_attention_mask", None)
        return inputs

    def _expand_inputs_for_generation(
        self, expand_size: int = 1, is_encoder_decoder: bool = False, input_ids: torch.LongTensor | None = None, **model_kwargs: Any
    ) -> tuple[torch.LongTensor, dict[str, Any]]:
        """Repeat each row's audio chunks with the row (features are per chunk, not per row)."""
        audio = {key: model_kwargs.pop(key, None) for key in ("input_features", "feature_attention_mask")}
        if expand_size > 1 and audio["input_features"] is not None and input_ids is not None:
            per_row = self.chunk_starts(input_ids).sum(-1).tolist()
            for key, value in audio.items():
                if value is not None:
                    audio[key] = torch.cat([part for part in value.split(per_row) for _ in range(expand_size)])
        input_ids, model_kwargs = super()._expand_inputs_for_generation(expand_size, is_encoder_decoder, input_ids, **model_kwargs)
        return input_ids, {**model_kwargs, **{key: value for key, value in audio.items() if value is not None}}


AutoConfig.register(StepAudio2Config.model_type, StepAudio2Config, exist_ok=True)
AutoModelForCausalLM.register(StepAudio2Config, StepAudio2ForCausalLM, exist_ok=True)
