"""Aural's rollout step for OpenRLHF, with audio: the file ``--train.agent_func_path`` names.

    python -m aural.training.launch ... --train.agent_func_path "$(aural openrlhf-agent-path)"

For each sample OpenRLHF hands the executor the rendered prompt (one audio
placeholder per clip, as `aural.training.openrlhf_prompts` writes it) and the
label JSON, whose ``audio`` lists the clips. The executor loads them with the
policy's audio loader, gives vLLM the prompt with ``multi_modal_data``, and
returns what OpenRLHF trains on: the observation tokens with each placeholder
expanded to the clip's length (as the training forward pass sees them), the
audio features (``mm_train_inputs``), the action range, the truncation flag,
and the reward of the recipe ``AURAL_REWARD_RECIPE`` names (as the reward file
scores it: ``scores`` is the accuracy component, for dynamic filtering).

This file is loaded by path, outside its package: its imports are absolute.
"""

from __future__ import annotations

import os
import threading
from copy import deepcopy
from pathlib import Path
from typing import Any

from openrlhf.utils.agent import AgentExecutorBase
from transformers import AutoConfig, GenerationConfig
from transformers.utils import GENERATION_CONFIG_NAME

from aural.errors import AuralError
from aural.policy.audio import load_audio
from aural.policy.inputs import FEATURE_KEYS, AudioInputs
from aural.policy.messages import vllm_audio
from aural.policy.model import load_inputs, stop_token_ids
from aural.policy.step_audio2_audio import StepAudio2Inputs
from aural.rewards.openrlhf_samples import score_openrlhf
from aural.rewards.recipe import load_recipe
from aural.rewards.trainer_inputs import parse_label, settings_from_environment
from aural.verifiers import FieldError


class AgentExecutor(AgentExecutorBase):
    """One sampled response per call, audio included, scored by Aural's recipe."""

    def __init__(self) -> None:
        self.settings = settings_from_environment(os.environ)  # read once, at start
        self.recipe = load_recipe(self.settings.recipe)
        self._inputs: dict[str, AudioInputs | StepAudio2Inputs] = {}
        self._stops: dict[str, frozenset[int]] = {}
        self._lock = threading.Lock()

    def audio_inputs(self, hf_tokenizer: Any) -> AudioInputs | StepAudio2Inputs:
        """The policy's input builder, from the folder its tokenizer (or processor) came from."""
        tokenizer = getattr(hf_tokenizer, "tokenizer", hf_tokenizer)
        folder = tokenizer.name_or_path
        with self._lock:
            if folder not in self._inputs:
                self._inputs[folder] = load_inputs(folder, AutoConfig.from_pretrained(folder), tokenizer)
            return self._inputs[folder]

    def stops(self, hf_tokenizer: Any) -> frozenset[int]:
        """The tokens that end the policy's responses (`stop_token_ids` of its folder)."""
        tokenizer = getattr(hf_tokenizer, "tokenizer", hf_tokenizer)
        folder = tokenizer.name_or_path
        with self._lock:
            if folder not in self._stops:
                config = AutoConfig.from_pretrained(folder)
                generation = GenerationConfig.from_pretrained(folder) if (Path(folder) / GENERATION_CONFIG_NAME).is_file() else None
                self._stops[folder] = stop_token_ids(config, generation, tokenizer)
            return self._stops[folder]

    async def execute(self, prompt, label, sampling_params, max_length: int, hf_tokenizer, llm_engine, images=None):
        inputs = self.audio_inputs(hf_tokenizer)
        rate = inputs.sampling_rate
        clips = [load_audio(path, rate) for path in _audio_paths(label)]
        model_inputs = inputs(prompt, clips)
        expanded = model_inputs["input_ids"][0].tolist()
        params = deepcopy(sampling_params)
        params.stop_token_ids = sorted(set(params.stop_token_ids or []) | self.stops(hf_tokenizer))  # every stop of the family
        if params.max_tokens is None:
            params.max_tokens = max(1, max_length - len(expanded))
        if len(expanded) + params.max_tokens > max_length:
            raise AuralError(
                f"prompt of {len(expanded)} tokens (audio expanded) + {params.max_tokens} new tokens exceeds "
                f"--data.max_len {max_length}; audio prompts cannot be cut: raise --data.max_len"
            )
        engine_prompt = inputs.tokenizer(prompt, add_special_tokens=False)["input_ids"]  # vLLM expands the placeholders
        output = (await llm_engine.generate(engine_prompt, params, multi_modal_data=vllm_audio(clips, rate))).outputs[0]
        action = list(output.token_ids)
        query = prompt + inputs.tokenizer.decode(action, skip_special_tokens=False)
        scored = score_openrlhf(
            self.recipe, [query], [prompt], [label], self.settings.eos_tokens, self.settings.default_modality, threads=1
        )
        rollout_log_probs = None
        if sampling_params.logprobs is not None and output.logprobs is not None:
            rollout_log_probs = [0.0] * len(expanded) + [
                step[token].logprob if token in step else 0.0 for token, step in zip(action, output.logprobs)
            ]
        return {
            "prompt": prompt,
            "label": label,
            "images": images,
            "mm_train_inputs": {k: model_inputs[k] for k in FEATURE_KEYS} if clips else None,
            "observation_tokens": expanded + action,
            "action_ranges": [(len(expanded), len(expanded) + len(action))],
            "rollout_log_probs": rollout_log_probs,
            "truncated": output.finish_reason == "length",
            "reward": scored.rewards[0],
            "scores": scored.scores[0],
            "extra_logs": {name: values[0] for name, values in scored.extra_logs.items()},
        }


def _audio_paths(label: Any) -> list[str]:
    """The clips a label names under ``audio`` (a path or a list); none for labels that
    name none or cannot be read (the reward then scores them 0 and says why)."""
    try:
        audio = parse_label(label)[0].extra.get("audio", [])
    except FieldError:
        return []
    return [audio] if isinstance(audio, str) else list(audio)
