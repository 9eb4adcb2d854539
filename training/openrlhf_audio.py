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
  critic's training step) are handed the same samples' audio features;
* the rollout engines get Aural's worker extension (`aural.training.vllm_weights`),
  which loads each weight synced after a step under the engine's name for it.

Methods of OpenRLHF's Ray actor classes are patched where Ray keeps them
(`wrap_actor_method`). Every patch was read from OpenRLHF 0.11.2; `install` refuses
another release. On a machine without CUDA it adds the CPU layer
(`aural.training.cpu_device`).

`install` runs in the driver and, through Ray's ``worker_process_setup_hook``
(see `aural.training.launch`), in every Ray worker before it builds a model.
Not covered: sequence packing and ring attention (audio features are per sample).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig

from aural.errors import AuralError
from aural.policy.model import BUILT_IN, load_audio_model

from .audio_critic import load_audio_critic, valuing_audio
from .cpu_device import CPU_WORKER_EXTENSION, on_cpu
from .cpu_device import install as install_cpu_device
from .flash_attn_placeholder import install_flash_attn_placeholder
from .run_record import RunRecord

OPENRLHF_VERSION = "0.11.2"  # the release every patch in `install` was read from
WORKER_EXTENSION = "aural.training.vllm_weights.AudioWorkerExtension"
NO_WEIGHT_SYNC_VARIABLE = "AURAL_NO_WEIGHT_SYNC"  # set by the launch's --aural.no_weight_sync

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


def install(record: RunRecord | None = None, weight_sync: bool | None = None) -> None:
    """Install the plug-in into the imported OpenRLHF (again: nothing more happens).

    `record` writes what the run does (`aural.training.run_record`); `weight_sync=False`
    is the control run whose engines keep their first weights. Without arguments (Ray's
    setup hook in each worker) both come from the launch's settings in the environment.
    On a machine without CUDA the CPU layer (`aural.training.cpu_device`) goes in too.
    """
    check_openrlhf_version()
    install_flash_attn_placeholder()
    from openrlhf.models import actor as actor_module
    from openrlhf.trainer import ppo_trainer
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker
    from openrlhf.trainer.ray import ppo_actor, ppo_critic, vllm_engine
    from openrlhf.utils import utils as openrlhf_utils

    actor = actor_module.Actor
    if getattr(actor, "aural_audio_installed", False):
        return
    record = record or RunRecord.from_environment()
    weight_sync = os.environ.get(NO_WEIGHT_SYNC_VARIABLE) != "1" if weight_sync is None else weight_sync
    cpu = on_cpu()
    if cpu:
        install_cpu_device()
    # Every patch below was read from openrlhf 0.11.2 (`check_openrlhf_version` refuses another);
    # each comment names what it replaces or wraps.
    # Actor and reference model: loaded by the audio model's class, handed each sample's features.
    openrlhf_utils.is_vlm_model = _unless_audio(openrlhf_utils.is_vlm_model)  # wraps: audio models are not VLMs
    actor_module.AutoModelForCausalLM = AudioOrCausalLM  # replaces the class models.actor loads text models with
    actor.__init__ = _marking_audio(actor.__init__)  # wraps models.actor.Actor.__init__: sets is_vlm
    actor.forward = _text_path_for_audio(actor.forward, record)  # wraps Actor.forward: the text path, with features
    # Critic: Aural's audio critic, handed the features where OpenRLHF passes tokens only.
    ppo_critic.get_llm_for_sequence_regression = _audio_critic_or(ppo_critic.get_llm_for_sequence_regression)  # wraps the builder
    wrap_actor_method(ppo_critic.CriticModelActor, "forward", lambda forward: _with_samples_audio(forward, record))  # wraps
    ppo_critic.CriticPPOTrainer.training_step = _with_experience_audio(ppo_critic.CriticPPOTrainer.training_step, record)  # wraps
    RemoteExperienceMaker.make_experience = _noting_samples_audio(RemoteExperienceMaker.make_experience)  # wraps: notes the features
    RemoteExperienceMaker._dispatch_forward = _audio_to_critic(RemoteExperienceMaker._dispatch_forward)  # wraps: features to the critic
    # Rollout engines: synced weights loaded under the engine's names.
    extension = CPU_WORKER_EXTENSION if cpu else WORKER_EXTENSION
    wrap_actor_method(vllm_engine.RolloutRayActor, "__init__", lambda init: _with_worker_extension(init, extension))  # wraps
    # The run record (what a run did) and the no-weight-sync control run.
    wrap_actor_method(ppo_trainer.PPOTrainer, "train_step", lambda train_step: _recording_steps(train_step, record))  # wraps
    if record.folder is not None:
        ppo_actor.ActorPPOTrainer.ppo_train = _recording_sync_gap(ppo_actor.ActorPPOTrainer.ppo_train, record)  # wraps
    if not weight_sync:
        wrap_actor_method(ppo_actor.PolicyModelActor, "broadcast_to_vllm", _skipped)  # replaces: the sync is skipped
    actor.aural_audio_installed = True


def check_openrlhf_version() -> None:
    """Refuse an OpenRLHF other than the release the plug-in's patches were read from."""
    installed = importlib.metadata.version("openrlhf")
    if installed != OPENRLHF_VERSION:
        raise RuntimeError(
            f"Aural's OpenRLHF plug-in is written for openrlhf=={OPENRLHF_VERSION}, found {installed}: "
            f"install openrlhf=={OPENRLHF_VERSION} (its training internals change between releases)"
        )


def wrap_actor_method(actor_class: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Wrap method `name` of a ``@ray.remote`` class: of the class as written, and of the class
    Ray built from it when decorating, whose methods Ray had already wrapped (so patching
    only the first never reaches a live actor)."""
    built = actor_class.__ray_metadata__.modified_class
    wrapped = wrap(getattr(built.__ray_actor_class__, name))
    setattr(built.__ray_actor_class__, name, wrapped)
    setattr(built, name, wrapped)


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


@contextlib.contextmanager
def _set_during(target: Any, name: str, value: Any, after: Any) -> Iterator[None]:
    """`target.name` is `value` within the block and `after` once it ends, however it ends."""
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, after)


def _text_path_for_audio(forward: Callable[..., Any], record: RunRecord) -> Callable[..., Any]:
    @functools.wraps(forward)
    def forward_with_audio(self: Any, sequences: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "is_audio", False):
            return forward(self, sequences, *args, **kwargs)
        features = kwargs.get("input_features")
        record.forward("actor", len(sequences), 0 if features is None else len(features), torch.is_grad_enabled())
        with _set_during(self, "is_vlm", False, after=True):  # the text path, audio tensors passed through
            return forward(self, sequences, *args, **kwargs)

    return forward_with_audio


def _audio_critic_or(build: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(build)
    def build_audio_critic_or_other(pretrain: str, model_type: str, **options: Any) -> Any:
        if model_type != "critic" or not is_audio_model(pretrain):
            return build(pretrain, model_type, **options)
        unsupported = [name for name in ("lora_rank", "load_in_4bit", "packing_samples") if options.get(name)]
        if unsupported:
            raise AuralError(f"the audio critic does not support {', '.join(unsupported)}")
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

    return merge_mm_train_inputs(mm_train_inputs, torch.cuda.current_device()) or None


def _clips(audio: dict[str, torch.Tensor] | None) -> int:
    return 0 if audio is None else len(audio["input_features"])


def _with_samples_audio(forward: Callable[..., Any], record: RunRecord) -> Callable[..., Any]:
    @functools.wraps(forward)
    def forward_with_audio(self: Any, sequences: torch.Tensor, *args: Any, mm_train_inputs_list: Any = None, **kwargs: Any) -> Any:
        audio = _merged_audio(mm_train_inputs_list)
        record.forward("critic", len(sequences), _clips(audio), training=False)
        with valuing_audio(audio):
            return forward(self, sequences, *args, **kwargs)

    return forward_with_audio


def _with_experience_audio(training_step: Callable[..., Any], record: RunRecord) -> Callable[..., Any]:
    @functools.wraps(training_step)
    def training_step_with_audio(self: Any, experience: Any, *args: Any, **kwargs: Any) -> Any:
        audio = _merged_audio(getattr(experience, "mm_train_inputs", None))
        record.forward("critic", len(experience.sequences), _clips(audio), training=True)
        with valuing_audio(audio):
            return training_step(self, experience, *args, **kwargs)

    return training_step_with_audio


def _noting_samples_audio(make_experience: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(make_experience)
    def make_experience_noting_audio(self: Any, samples_list: Any, *args: Any, **kwargs: Any) -> Any:
        with _set_during(self, "aural_samples_audio", [samples.mm_train_inputs for samples in samples_list], after=None):
            return make_experience(self, samples_list, *args, **kwargs)

    return make_experience_noting_audio


def _audio_to_critic(dispatch: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(dispatch)
    def dispatch_with_critic_audio(self: Any, group: Any, sync_condition: Any, **kwargs: Any) -> Any:
        audio = getattr(self, "aural_samples_audio", None)
        if audio is not None and group is not None and group is self.critic_model_group:
            kwargs["mm_train_inputs_list"] = audio
        return dispatch(self, group, sync_condition, **kwargs)

    return dispatch_with_critic_audio


def _with_worker_extension(init: Callable[..., Any], extension: str) -> Callable[..., Any]:
    @functools.wraps(init)
    async def init_with_audio_weights(self: Any, *args: Any, **kwargs: Any) -> None:
        await init(self, *args, **{**kwargs, "worker_extension_cls": extension})

    return init_with_audio_weights


def _recording_steps(train_step: Callable[..., Any], record: RunRecord) -> Callable[..., Any]:
    @functools.wraps(train_step)
    def train_step_recorded(self: Any, rollout_samples: Any, global_step: int) -> Any:
        status, next_step = train_step(self, rollout_samples, global_step)
        record.step(next_step, status)
        return status, next_step

    return train_step_recorded


def _recording_sync_gap(ppo_train: Callable[..., Any], record: RunRecord) -> Callable[..., Any]:
    @functools.wraps(ppo_train)
    def ppo_train_recording_gap(self: Any, *args: Any, **kwargs: Any) -> Any:
        gaps = [
            (e.rollout_log_probs.float() - e.action_log_probs.float()).abs()[e.action_mask.bool()]
            for e in self.replay_buffer.items
            if e.rollout_log_probs is not None
        ]
        if gaps:
            values = torch.cat(gaps)
            record.sync_gap(float(values.mean()), len(values))
        return ppo_train(self, *args, **kwargs)

    return ppo_train_recording_gap


def _skipped(broadcast_to_vllm: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(broadcast_to_vllm)
    def weights_kept(self: Any) -> None:
        """The control run: the engines keep the weights they started with."""

    return weights_kept
