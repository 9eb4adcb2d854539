"""Audio in OpenRLHF's training processes, installed at launch without forking OpenRLHF.

OpenRLHF 0.11.2 knows vision models only: it calls a model multimodal when its
config has a ``vision_config``, loads it as an image-text model, and hands the
multimodal tensors of each sample (``mm_train_inputs``) only to an `Actor` whose
``is_vlm`` is set. `install()` makes the actor and reference model of an audio
policy (Qwen2-Audio, the Qwen2.5-Omni thinker) work the same way:

* `is_vlm_model` answers no for them (the Omni thinker has a vision tower too),
  so OpenRLHF loads them through its causal-LM path, where `install` puts
  Aural's loader: the audio model's own class, with its audio encoder;
* once loaded, the actor says ``is_vlm`` so OpenRLHF passes it each sample's
  ``input_features`` and ``feature_attention_mask``;
* its forward pass takes OpenRLHF's text path with those tensors: positions
  from the attention mask (for audio-only prompts the Omni thinker's M-RoPE
  positions are the plain ones), the audio features passed to the model;
* the critic is `aural.training.audio_critic`'s (the policy's network with a
  value head), and OpenRLHF's critic calls (values while making experience, the
  critic's training step) are handed the same samples' audio features.

`install` runs in the driver and, through Ray's ``worker_process_setup_hook``
(see `aural.training.launch`), in every Ray worker before it builds a model.
Not covered: sequence packing and ring attention (audio features are per sample).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import torch
from transformers import AutoConfig

from aural.policy.model import BUILT_IN, load_audio_model

from .audio_critic import load_audio_critic, valuing_audio
from .flash_attn_placeholder import install_flash_attn_placeholder

AUDIO_MODEL_TYPES = frozenset(BUILT_IN)


def is_audio_model(pretrain: str | Path) -> bool:
    """Whether the model folder `pretrain` holds one of the audio policies this plug-in serves."""
    try:
        return AutoConfig.from_pretrained(str(pretrain), trust_remote_code=True).model_type in AUDIO_MODEL_TYPES
    except (OSError, ValueError):
        return False


class AudioOrCausalLM:
    """Stands where OpenRLHF's actor module names ``AutoModelForCausalLM``."""

    @staticmethod
    def from_pretrained(pretrain: str, **options: Any) -> Any:
        """An audio policy by its own class, any other model as a causal LM."""
        config = AutoConfig.from_pretrained(pretrain, trust_remote_code=options.get("trust_remote_code", False))
        return load_audio_model(pretrain, config, **options)


def install() -> None:
    """Install the plug-in into the imported OpenRLHF (again: nothing more happens)."""
    install_flash_attn_placeholder()
    from openrlhf.models import actor as actor_module
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker
    from openrlhf.trainer.ray import ppo_critic
    from openrlhf.utils import utils as openrlhf_utils

    actor = actor_module.Actor
    if getattr(actor, "aural_audio_installed", False):
        return
    openrlhf_utils.is_vlm_model = _unless_audio(openrlhf_utils.is_vlm_model)
    actor_module.AutoModelForCausalLM = AudioOrCausalLM
    actor.__init__ = _marking_audio(actor.__init__)
    actor.forward = _text_path_for_audio(actor.forward)
    ppo_critic.get_llm_for_sequence_regression = _audio_critic_or(ppo_critic.get_llm_for_sequence_regression)
    critic_actor = ppo_critic.CriticModelActor.__ray_actor_class__
    critic_actor.forward = _with_samples_audio(critic_actor.forward)
    ppo_critic.CriticPPOTrainer.training_step = _with_experience_audio(ppo_critic.CriticPPOTrainer.training_step)
    RemoteExperienceMaker.make_experience = _noting_samples_audio(RemoteExperienceMaker.make_experience)
    RemoteExperienceMaker._dispatch_forward = _audio_to_critic(RemoteExperienceMaker._dispatch_forward)
    actor.aural_audio_installed = True


def _unless_audio(is_vlm_model: Callable[[str], bool]) -> Callable[[str], bool]:
    @functools.wraps(is_vlm_model)
    def is_vlm_unless_audio(pretrain: str) -> bool:
        return not is_audio_model(pretrain) and is_vlm_model(pretrain)

    return is_vlm_unless_audio


def _marking_audio(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def init_marking_audio(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        model_type = getattr(getattr(self.model, "config", None), "model_type", None)
        self.is_audio = model_type in AUDIO_MODEL_TYPES
        if self.is_audio:
            self.is_vlm = True  # OpenRLHF hands multimodal inputs to models that say so

    return init_marking_audio


def _text_path_for_audio(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def forward_with_audio(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "is_audio", False):
            return forward(self, *args, **kwargs)
        self.is_vlm = False  # the text path, audio tensors passed through
        try:
            return forward(self, *args, **kwargs)
        finally:
            self.is_vlm = True

    return forward_with_audio


def _audio_critic_or(build: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(build)
    def build_audio_critic_or_other(pretrain: str, model_type: str, **options: Any) -> Any:
        if model_type != "critic" or not is_audio_model(pretrain):
            return build(pretrain, model_type, **options)
        unsupported = [name for name in ("lora_rank", "load_in_4bit", "packing_samples") if options.get(name)]
        if unsupported:
            raise ValueError(f"the audio critic does not support {', '.join(unsupported)}")
        from openrlhf.utils.utils import convert_to_torch_dtype

        return load_audio_critic(
            pretrain,
            convert_to_torch_dtype(options.get("param_dtype", "bf16")),
            options.get("attn_implementation", "flash_attention_2"),
            options.get("ds_config"),
        )

    return build_audio_critic_or_other


def _merged_audio(mm_train_inputs: Any) -> dict[str, torch.Tensor] | None:
    """OpenRLHF's per-sample multimodal inputs as one batch of tensors (None without audio)."""
    if not mm_train_inputs:
        return None
    from openrlhf.utils.vlm_utils import merge_mm_train_inputs

    device = torch.cuda.current_device() if torch.cuda.is_available() else "cpu"
    return merge_mm_train_inputs(mm_train_inputs, device) or None


def _with_samples_audio(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def forward_with_audio(self: Any, *args: Any, mm_train_inputs_list: Any = None, **kwargs: Any) -> Any:
        with valuing_audio(_merged_audio(mm_train_inputs_list)):
            return forward(self, *args, **kwargs)

    return forward_with_audio


def _with_experience_audio(training_step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(training_step)
    def training_step_with_audio(self: Any, experience: Any, *args: Any, **kwargs: Any) -> Any:
        with valuing_audio(_merged_audio(getattr(experience, "mm_train_inputs", None))):
            return training_step(self, experience, *args, **kwargs)

    return training_step_with_audio


def _noting_samples_audio(make_experience: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(make_experience)
    def make_experience_noting_audio(self: Any, samples_list: Any, *args: Any, **kwargs: Any) -> Any:
        self.aural_samples_audio = [samples.mm_train_inputs for samples in samples_list]
        try:
            return make_experience(self, samples_list, *args, **kwargs)
        finally:
            self.aural_samples_audio = None

    return make_experience_noting_audio


def _audio_to_critic(dispatch: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(dispatch)
    def dispatch_with_critic_audio(self: Any, group: Any, sync_condition: Any, **kwargs: Any) -> Any:
        audio = getattr(self, "aural_samples_audio", None)
        if audio is not None and group is not None and group is self.critic_model_group:
            kwargs["mm_train_inputs_list"] = audio
        return dispatch(self, group, sync_condition, **kwargs)

    return dispatch_with_critic_audio
