"""A small model in Step-Audio-R1's shape, shipped as remote code: the configuration."""

from transformers import PretrainedConfig, Qwen2Config


class StepAudioStyleConfig(PretrainedConfig):
    model_type = "step_audio_style"

    def __init__(self, text_config=None, num_mel_bins=128, encoder_dim=128, audio_token_id=0, **kwargs):
        self.text_config = Qwen2Config(**text_config) if isinstance(text_config, dict) else (text_config or Qwen2Config())
        self.num_mel_bins = num_mel_bins
        self.encoder_dim = encoder_dim
        self.audio_token_id = audio_token_id
        super().__init__(**kwargs)

    def to_dict(self):
        out = super().to_dict()
        out["text_config"] = self.text_config.to_dict()
        return out
