"""Aural's reward as an OpenRLHF reward file.

    python -m openrlhf.cli.train_ppo_ray ... --reward.remote_url "$(aural openrlhf-reward-path)"

OpenRLHF 0.11.2 loads `reward_func(queries, prompts, labels)` from this file and
calls it once per sample, in a worker thread. Settings come from the
environment, read once when OpenRLHF loads the file (the recipe is loaded then too,
so a bad recipe stops the launch, not the first PPO step): ``AURAL_REWARD_RECIPE`` (a recipe name or TOML path, default
``step-audio-r1``), ``AURAL_EOS_TOKENS`` (comma-separated end-of-sequence
tokens; a response that does not end with one counts as truncated) and
``AURAL_DEFAULT_MODALITY`` (for labels that do not say, default ``audio``).
Labels are JSON objects (``{"answer": "B", "choices": […], "modality": "audio"}``)
or bare answers.

This file is loaded by path, outside its package: its imports are absolute.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from aural.rewards.openrlhf_samples import score_openrlhf
from aural.rewards.recipe import load_recipe
from aural.rewards.trainer_inputs import settings_from_environment

SETTINGS = settings_from_environment(os.environ)
RECIPE = load_recipe(SETTINGS.recipe)


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
    """OpenRLHF's reward hook: ``{"rewards", "scores", "extra_logs"}`` as float tensors.

    ``rewards`` is the recipe total; ``scores`` the answer's correctness (the
    ``accuracy`` component), so OpenRLHF's dynamic filtering works on accuracy;
    ``extra_logs`` every component's score.

    >>> out = reward_func(["<|im_start|>assistant\\n<think>Meow.</think>(B)<|im_end|>"],
    ...                   ["<|im_start|>assistant\\n"], ['{"answer": "B", "choices": ["a dog", "a cat"]}'])
    >>> out["rewards"], out["scores"], sorted(out["extra_logs"])
    (tensor([1.]), tensor([1.]), ['accuracy', 'format'])
    """
    lists = score_openrlhf(RECIPE, queries, prompts, labels, SETTINGS.eos_tokens, SETTINGS.default_modality)
    return {
        "rewards": torch.tensor(lists.rewards, dtype=torch.float32),
        "scores": torch.tensor(lists.scores, dtype=torch.float32),
        "extra_logs": {name: torch.tensor(values, dtype=torch.float32) for name, values in lists.extra_logs.items()},
    }
