"""The PPO recipe's config: a readable TOML file, turned into OpenRLHF `train_ppo_ray` flags.

Tables and their keys (defaults are Step-Audio-R1's RLVR stage)::

    [policy]   path (a local model folder)
    [run]      output = "runs/ppo" (the OpenRLHF prompt file, checkpoints and final model)
    [data]     prompts (an Aural prompt set), prompt_max_len = 2048
    [rollout]  n_samples_per_prompt = 16, max_new_tokens = 10240, batch_size = 64,
               temperature = 1.0, top_p = 1.0
    [ppo]      advantage = "gae", gamma = 1.0, lambd = 1.0, eps_clip = 0.2, kl_coef = 0.0,
               value_clip = 0.5, actor_lr = 1e-6, critic_lr = 9e-6, train_batch_size = 256,
               episodes = 1, seed = 42
    [reward]   recipe = "step-audio-r1"
    [cluster]  nodes = 1, gpus_per_node = 8, gpu_memory_gb = 80, tensor_parallel (default: planned)
    [dynamic_filtering]  range = [lo, hi] (keep prompts whose mean accuracy lies inside; off if absent)
    [openrlhf] any other train_ppo_ray flag, verbatim: "--ckpt.save_steps" = 20

Relative paths are read from the config's folder. Unknown tables or keys are
errors naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aural.errors import AuralError, MissingFile
from aural.rewards.recipe import DEFAULT_RECIPE

DEFAULTS: dict[str, dict[str, Any]] = {
    "policy": {"path": None},
    "run": {"output": "runs/ppo"},
    "data": {"prompts": None, "prompt_max_len": 2048},
    "rollout": {"n_samples_per_prompt": 16, "max_new_tokens": 10_240, "batch_size": 64, "temperature": 1.0, "top_p": 1.0},
    "ppo": {
        "advantage": "gae",
        "gamma": 1.0,
        "lambd": 1.0,
        "eps_clip": 0.2,
        "kl_coef": 0.0,
        "value_clip": 0.5,
        "actor_lr": 1e-6,
        "critic_lr": 9e-6,
        "train_batch_size": 256,
        "episodes": 1,
        "seed": 42,
    },
    "reward": {"recipe": DEFAULT_RECIPE},
    "cluster": {"nodes": 1, "gpus_per_node": 8, "gpu_memory_gb": 80.0, "tensor_parallel": None},
    "dynamic_filtering": {"range": None},
}
REQUIRED = {("policy", "path"), ("data", "prompts")}
PATHS = {("policy", "path"), ("data", "prompts"), ("run", "output")}


class ConfigError(AuralError):
    """A config that cannot be used: ``FILE: TABLE.KEY: message``."""


@dataclass(frozen=True)
class PPOConfig:
    """A parsed PPO config: one dict per table (defaults filled in) and the verbatim flags."""

    source: Path
    policy: dict[str, Any]
    run: dict[str, Any]
    data: dict[str, Any]
    rollout: dict[str, Any]
    ppo: dict[str, Any]
    reward: dict[str, Any]
    cluster: dict[str, Any]
    dynamic_filtering: dict[str, Any]
    openrlhf: dict[str, Any] = field(default_factory=dict)


def load_ppo_config(path: str | Path) -> PPOConfig:
    """Read and check a PPO config.

    >>> load_ppo_config("/no/such.toml")
    Traceback (most recent call last):
    aural.errors.MissingFile: /no/such.toml: no such config
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFile("no such config", str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(error), str(path)) from None
    tables: dict[str, Any] = {}
    for name in raw:
        if name not in DEFAULTS and name != "openrlhf":
            raise ConfigError(f"unknown table (expected {', '.join([*DEFAULTS, 'openrlhf'])})", str(path), name)
    for name, defaults in DEFAULTS.items():
        given = raw.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError("must be a table", str(path), name)
        for key in given:
            if key not in defaults:
                raise ConfigError(f"unknown key (expected {', '.join(defaults)})", str(path), f"{name}.{key}")
        table = {**defaults, **given}
        for key in defaults:
            if (name, key) in REQUIRED and table[key] is None:
                raise ConfigError("required", str(path), f"{name}.{key}")
            if (name, key) in PATHS:
                table[key] = str((path.parent / table[key]).resolve())
        tables[name] = table
    extra = raw.get("openrlhf", {})
    for flag in extra:
        if not flag.startswith("--"):
            raise ConfigError('flags are written as they are passed, e.g. "--ckpt.save_steps"', str(path), f"openrlhf.{flag}")
    window = tables["dynamic_filtering"]["range"]
    if window is not None and not (isinstance(window, list) and len(window) == 2 and window[0] < window[1]):
        raise ConfigError(f"must be [low, high] with low < high, got {window!r}", str(path), "dynamic_filtering.range")
    return PPOConfig(source=path, openrlhf=dict(extra), **tables)
