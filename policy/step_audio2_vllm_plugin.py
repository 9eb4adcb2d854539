"""vLLM plug-in (entry point ``aural_step_audio2`` in the ``vllm.general_plugins`` group):
makes upstream vLLM serve StepAudio2 checkpoints (Step-Audio-R1, Step-Audio 2 mini)
with Aural's model, `aural.policy.step_audio2_vllm.StepAudio2ForVLLM`.

vLLM calls `register` in every process it starts (engine core, workers), before
it reads a model's config: the config class is registered with transformers'
``AutoConfig`` (so a ``step_audio_2`` folder needs no remote code) and the
architecture ``StepAudio2ForCausalLM`` with vLLM's model registry. The model
module itself is imported only when vLLM builds the model.
"""

from __future__ import annotations

ARCHITECTURE = "StepAudio2ForCausalLM"
MODEL = "aural.policy.step_audio2_vllm:StepAudio2ForVLLM"


def register() -> None:
    """Register StepAudio2 with transformers and vLLM (safe to call more than once)."""
    from vllm import ModelRegistry

    import aural.policy.step_audio2  # noqa: F401  (registers the config with AutoConfig)

    if ARCHITECTURE not in ModelRegistry.get_supported_archs():
        ModelRegistry.register_model(ARCHITECTURE, MODEL)
