"""A PPO config turned into the OpenRLHF launch, and run (or printed).

The launch is ``python -m aural.training.launch FLAGS…``: OpenRLHF's
`train_ppo_ray` with Aural's audio plug-in installed, the prompt set converted to
OpenRLHF's prompt file, rollouts and rewards by Aural's agent executor, and the
policy sharded as `plan_sharding` plans it (vLLM tensor parallel, ZeRO-3).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from aural.errors import MissingFile
from aural.policy.prompt import PromptBuilder
from aural.policy.sharding import Cluster, ShardingPlan, plan_sharding
from aural.rollouts.prompt_set import read_prompt_set

from .openrlhf_prompts import INPUT_KEY, LABEL_KEY, write_openrlhf_prompts
from .ppo_config import PPOConfig

LAUNCHER = "aural.training.launch"
AGENT_FILE = importlib.util.find_spec("aural.training.openrlhf_agent").origin  # loaded by path in OpenRLHF's workers


def prompt_file(config: PPOConfig) -> Path:
    """Where the run's OpenRLHF prompt file goes."""
    return Path(config.run["output"]) / "openrlhf_prompts.jsonl"


def openrlhf_flags(config: PPOConfig) -> dict[str, Any]:
    """The `train_ppo_ray` flags of `config` (a flag with value True is passed bare).

    Sharding is planned from the policy's config when its folder is here; without
    it, ``cluster.tensor_parallel`` must be given (and is not checked against the model).
    """
    cluster = Cluster(config.cluster["nodes"], config.cluster["gpus_per_node"], config.cluster["gpu_memory_gb"])
    policy, tensor_parallel = config.policy["path"], config.cluster["tensor_parallel"]
    if Path(policy).is_dir():
        sharding = plan_sharding(policy, cluster, tensor_parallel).openrlhf_args()
    elif tensor_parallel is None:
        raise MissingFile(f"no model folder {policy}; set cluster.tensor_parallel to plan without it", str(config.source), "policy.path")
    else:
        sharding = ShardingPlan(cluster, tensor_parallel, parameters=0).openrlhf_args()
    rollout, ppo, output = config.rollout, config.ppo, Path(config.run["output"])
    flags: dict[str, Any] = {
        "--actor.model_name_or_path": policy,
        "--data.prompt_dataset": str(prompt_file(config)),
        "--data.input_key": INPUT_KEY,
        "--data.label_key": LABEL_KEY,
        "--data.max_len": config.data["prompt_max_len"] + rollout["max_new_tokens"],
        "--rollout.n_samples_per_prompt": rollout["n_samples_per_prompt"],
        "--rollout.max_new_tokens": rollout["max_new_tokens"],
        "--rollout.batch_size": rollout["batch_size"],
        "--rollout.temperature": rollout["temperature"],
        "--rollout.top_p": rollout["top_p"],
        "--algo.advantage.estimator": ppo["advantage"],
        "--algo.advantage.gamma": ppo["gamma"],
        "--algo.advantage.lambd": ppo["lambd"],
        "--actor.eps_clip": ppo["eps_clip"],
        "--algo.kl.init_coef": ppo["kl_coef"],
        "--critic.value_clip": ppo["value_clip"],
        "--actor.adam.lr": ppo["actor_lr"],
        "--critic.adam.lr": ppo["critic_lr"],
        "--train.batch_size": ppo["train_batch_size"],
        "--train.num_episodes": ppo["episodes"],
        "--train.seed": ppo["seed"],
        "--train.agent_func_path": AGENT_FILE,
        "--ckpt.output_dir": str(output / "model"),
        "--ckpt.path": str(output / "checkpoints"),
        **sharding,
    }
    window = config.dynamic_filtering["range"]
    if window is not None:
        flags.update({"--algo.dynamic_filtering_enable": True, "--algo.dynamic_filtering_range": window})
    flags.update(config.openrlhf)
    return flags


def launch_argv(flags: dict[str, Any]) -> list[str]:
    """Flags as command-line words: True bare, False and None left out, lists spread.

    >>> launch_argv({"--a": 1, "--b": True, "--c": False, "--d": [0.1, 0.9]})
    ['--a', '1', '--b', '--d', '0.1', '0.9']
    """
    words: list[str] = []
    for flag, value in flags.items():
        if value is False or value is None:
            continue
        words.append(flag)
        if value is not True:
            words.extend(str(v) for v in value) if isinstance(value, (list, tuple)) else words.append(str(value))
    return words


def launch_environment(config: PPOConfig) -> dict[str, str]:
    """The environment the launch adds: the reward recipe for the agent executor."""
    return {"AURAL_REWARD_RECIPE": config.reward["recipe"]}


def shell_command(config: PPOConfig) -> str:
    """The launch as one shell command, a flag per line."""
    environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in launch_environment(config).items())
    flags = [launch_argv({flag: value}) for flag, value in openrlhf_flags(config).items()]
    lines = [f"{environment} python -m {LAUNCHER}", *("  " + shlex.join(words) for words in flags if words)]
    return " \\\n".join(lines)


def write_prompt_file(config: PPOConfig) -> Path:
    """Convert the config's prompt set to the run's OpenRLHF prompt file, rendered by its policy."""
    records = read_prompt_set(config.data["prompts"])
    return write_openrlhf_prompts(records, PromptBuilder.from_pretrained(config.policy["path"]), prompt_file(config))


def run_ppo(config: PPOConfig, dry_run: bool = False) -> int:
    """Print the launch (`dry_run`), or write the prompt file and run it; returns its exit status."""
    if dry_run:
        print(shell_command(config))
        return 0
    write_prompt_file(config)
    command = [sys.executable, "-m", LAUNCHER, *launch_argv(openrlhf_flags(config))]
    return subprocess.call(command, env={**os.environ, **launch_environment(config)})
