"""A value model for an audio policy, shaped as OpenRLHF's critic: the policy's own
network (audio encoder, adaptor, decoder) with its language-model head swapped for
a one-output value head, so the critic hears the clip as the actor does.

OpenRLHF builds its critic from ``AutoModel`` plus a head sized by
``config.hidden_size``, which audio configs do not have, and calls it with tokens
only. Here the critic's forward takes the audio features as keywords, or, inside
`valuing_audio(features)`, from there: that is how the plug-in hands them over
where OpenRLHF's code calls the critic with tokens alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig

from aural.errors import AuralError
from aural.policy.model import BUILT_IN, DTYPES, load_audio_model

VALUE_HEAD = "score"  # OpenRLHF's default --ds.value_head_prefix
_audio: ContextVar[Mapping[str, torch.Tensor] | None] = ContextVar("aural_critic_audio", default=None)


@contextmanager
def valuing_audio(features: Mapping[str, torch.Tensor] | None) -> Iterator[None]:
    """Within the block, critics called without audio keywords use `features`."""
    token = _audio.set(features)
    try:
        yield
    finally:
        _audio.reset(token)


def critic_class(policy_class: type) -> type:
    """The critic class of an audio policy class (`Qwen2AudioForConditionalGeneration`, …)."""

    class AudioCritic(policy_class):  # type: ignore[misc, valid-type]
        _tied_weights_keys: dict = {}  # no LM head left to tie to the embeddings
        _keys_to_ignore_on_load_unexpected = [r"lm_head\."]

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            text = getattr(config, "text_config", config)
            self.lm_head = nn.Identity()  # the network's output is then its last hidden states
            setattr(self, VALUE_HEAD, nn.Linear(text.hidden_size, 1, bias=False))
            self.normalize_reward = False
            self.register_buffer("mean", torch.zeros(1), persistent=False)
            self.register_buffer("std", torch.ones(1), persistent=False)
            self.post_init()

        def forward(
            self,
            input_ids: torch.LongTensor,
            action_mask: torch.Tensor | None = None,
            attention_mask: torch.Tensor | None = None,
            return_output: bool = False,
            ring_attn_group: Any = None,
            packed_seq_lens: Any = None,
            **audio: torch.Tensor,
        ) -> Any:
            """Values of the action tokens (OpenRLHF's critic contract), the clip's features included."""
            if ring_attn_group is not None or packed_seq_lens is not None:
                raise AuralError("the audio critic runs unpacked: leave --ds.packing_samples and ring attention off")
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids.masked_fill_(attention_mask == 0, 1)
            features = audio or dict(_audio.get() or {})
            output = super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **features)
            if action_mask is None:
                return output
            values = getattr(self, VALUE_HEAD)(output.logits).squeeze(-1)[:, :-1]
            action_values = values[:, -action_mask.shape[1] :] * action_mask.float()
            return (action_values, output) if return_output else action_values

    AudioCritic.__name__ = AudioCritic.__qualname__ = f"{policy_class.__name__}Critic"
    return AudioCritic


def load_audio_critic(
    pretrain: str | Path, dtype: torch.dtype = DTYPES["bfloat16"], attn_implementation: str = "sdpa", ds_config: dict | None = None
) -> nn.Module:
    """The critic of the audio policy in `pretrain`, value head freshly initialised
    (normal, std 1/(hidden+1), as OpenRLHF does); ZeRO-3 partitions it as it loads
    when `ds_config` says stage 3."""
    config = AutoConfig.from_pretrained(str(pretrain))
    if config.model_type not in BUILT_IN:
        raise AuralError(f"{config.model_type!r} is not an audio policy ({', '.join(BUILT_IN)})", pretrain)
    zero3 = ds_config is not None and ds_config["zero_optimization"]["stage"] == 3
    if zero3:
        from transformers.integrations.deepspeed import HfDeepSpeedConfig

        zero3_loading = HfDeepSpeedConfig(ds_config)  # noqa: F841  (from_pretrained partitions while it lives)
    model = load_audio_model(
        pretrain, config, critic_class(BUILT_IN[config.model_type]), dtype=dtype, attn_implementation=attn_implementation
    )
    head = getattr(model, VALUE_HEAD).weight
    std = 1 / (head.ds_shape[1] + 1) if zero3 else 1 / (head.shape[1] + 1)  # ZeRO-3 empties a partitioned shape
    if zero3:
        import deepspeed

        with deepspeed.zero.GatheredParameters([head], modifier_rank=0):
            if torch.distributed.get_rank() == 0:
                head.data.normal_(mean=0.0, std=std)
    else:
        head.data.normal_(mean=0.0, std=std)
    model.config.use_cache = False
    return model
