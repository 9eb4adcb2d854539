"""A small model in Step-Audio-R1's shape, shipped as remote code: an audio encoder
at 25 Hz (100 Hz mel frames, stride 4), an adaptor downsampling x2 to 12.5 Hz,
and a Qwen2 decoder that reads the adapted audio in place of the audio tokens."""

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel, Qwen2ForCausalLM
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_step_audio_style import StepAudioStyleConfig


class StepAudioStyleForCausalLM(PreTrainedModel, GenerationMixin):
    config_class = StepAudioStyleConfig
    base_model_prefix = "decoder"
    _supports_cache_class = True

    def __init__(self, config):
        super().__init__(config)
        self.encoder = nn.Sequential(
            nn.Conv1d(config.num_mel_bins, config.encoder_dim, kernel_size=4, stride=4),  # 100 Hz -> 25 Hz
            nn.GELU(),
        )
        self.adaptor = nn.Conv1d(config.encoder_dim, config.text_config.hidden_size, kernel_size=2, stride=2)  # -> 12.5 Hz
        self.decoder = Qwen2ForCausalLM(config.text_config)
        self.post_init()

    def get_input_embeddings(self):
        return self.decoder.get_input_embeddings()

    def forward(self, input_ids=None, attention_mask=None, input_features=None, feature_attention_mask=None,
                past_key_values=None, use_cache=None, **kwargs):
        embeds = self.decoder.get_input_embeddings()(input_ids)
        audio_positions = input_ids == self.config.audio_token_id
        if input_features is not None and audio_positions.any():  # the prompt pass, not later decoding steps
            audio = self.adaptor(self.encoder(input_features)).transpose(1, 2)  # (clips, frames / 8, hidden)
            frames = feature_attention_mask.sum(-1) // 8
            audio = torch.cat([clip[:n] for clip, n in zip(audio, frames)])
            embeds = embeds.masked_scatter(audio_positions.unsqueeze(-1), audio.to(embeds.dtype))
        out = self.decoder(inputs_embeds=embeds, attention_mask=attention_mask, past_key_values=past_key_values, use_cache=use_cache, **kwargs)
        return CausalLMOutputWithPast(logits=out.logits, past_key_values=out.past_key_values)
