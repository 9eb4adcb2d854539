"""``aural ppo CONFIG --smoke``: the config's own PPO run through OpenRLHF, two steps on
this machine's CPU with the tiny policy (or a policy folder named) and tiny sizes.

Everything that decides whether the run can start stays the config's: its prompt set
(every prompt rendered and checked, the first few trained on), its reward recipe, PPO
settings, sharding plan (ZeRO stage, colocation), dynamic filtering and extra flags.
What shrinks is the size: one logical GPU per role, `SMOKE_PROMPTS` prompts per step,
at most `SMOKE_SAMPLES` samples each, `SMOKE_NEW_TOKENS` new tokens. The CPU layer
(`aural.training.cpu_device`) supplies its flags, and the run asks OpenRLHF for the rollout
engines' log-probs of the sampled tokens (importance-sampling correction at token level),
so the run record holds how far they lie from the trainer's before each step.
A config, reward, agent or dataset error then shows in minutes, not after hours on a
cluster; `SmokeReport` says what was checked.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cpu_device import CPU_FLAGS
from .ppo_config import PPOConfig
from .ppo_launch import LAUNCHER, launch_argv, launch_environment, openrlhf_flags, write_prompt_file
from .run_record import RunSummary, read_run_record

SMOKE_STEPS = 2
SMOKE_PROMPTS = 2  # per step
SMOKE_SAMPLES = 4  # at most, per prompt
SMOKE_NEW_TOKENS = 16
SMOKE_ACTOR_LR = 1e-2  # large enough that one step moves the tiny policy well past bf16 rounding
# The mean absolute rollout/trainer log-prob gap of the sampled tokens at the step after the
# first update, above which the engines did not sample from the trained weights. Measured
# on the tiny policy: bf16 rounding alone gives 1.2e-3; engines left on their first weights
# 0.24. (OpenRLHF's signed vllm_kl cancels out: 1.4e-4 against 0.0013 to 0.049 over runs.)
SYNC_GAP_LIMIT = 0.02


def smoke_config(config: PPOConfig, policy: str | Path, output: str | Path) -> PPOConfig:
    """`config` at smoke size, on `policy`, writing under `output`."""
    samples = max(2, min(config.rollout["n_samples_per_prompt"], SMOKE_SAMPLES))
    return dataclasses.replace(
        config,
        policy={"path": str(policy)},
        run={"output": str(output)},
        rollout={**config.rollout, "n_samples_per_prompt": samples, "max_new_tokens": SMOKE_NEW_TOKENS, "batch_size": SMOKE_PROMPTS},
        ppo={**config.ppo, "train_batch_size": SMOKE_PROMPTS * samples, "episodes": 1, "actor_lr": SMOKE_ACTOR_LR},
        cluster={**config.cluster, "nodes": 1, "gpus_per_node": 1, "tensor_parallel": 1},
    )


def smoke_flags(config: PPOConfig) -> dict[str, Any]:
    """The launch flags of a smoke-size config: its own, then the CPU layer's and the step count's."""
    flags = openrlhf_flags(config)
    flags.update(CPU_FLAGS)
    flags["--data.max_samples"] = SMOKE_STEPS * SMOKE_PROMPTS
    flags.setdefault("--algo.advantage.is_correction_level", "token")
    flags["--logger.logging_steps"] = 1
    for role in ("actor", "critic"):  # two steps leave no room for a warm-up or a decay
        flags.update({f"--{role}.lr_warmup_ratio": 0, f"--{role}.lr_scheduler": "constant"})
    return flags


@dataclass(frozen=True)
class SmokeReport:
    """What a smoke run showed, checked."""

    exit_code: int
    summary: RunSummary
    weights_changed: bool | None  # None: no saved model to compare

    def checks(self) -> list[tuple[str, bool, str]]:
        """(check, passed, what was seen), in the order a reader wants them."""
        steps = self.summary.steps
        rows = [
            ("train_ppo_ray exited 0", self.exit_code == 0, f"exit {self.exit_code}"),
            (f"{SMOKE_STEPS} PPO steps", len(steps) == SMOKE_STEPS, f"{len(steps)} steps"),
        ]
        for metric in ("policy_loss", "critic_loss"):
            values = ", ".join(f"{s[metric]:.4g}" for s in steps if metric in s) or "not logged"
            rows.append((f"{metric} finite", self.summary.finite(metric), values))
        rows.append(
            (
                "policy weights changed",
                bool(self.weights_changed),
                "saved model vs start" if self.weights_changed is not None else "no saved model",
            )
        )
        gaps = self.summary.sync_gaps
        gap = gaps[-1]["gap"] if len(gaps) == SMOKE_STEPS else None
        seen = "not recorded" if gap is None else f"{gap:.2e} after the sync (limit {SYNC_GAP_LIMIT})"
        rows.append(("rollouts sample the synced weights", gap is not None and math.isfinite(gap) and gap < SYNC_GAP_LIMIT, seen))
        for model, training in (("actor", False), ("actor", True), ("critic", False), ("critic", True)):
            clips, samples = self.summary.audio_share(model, training)
            what = f"{model} {'training' if training else 'experience'} forward gets each sample's audio"
            rows.append((what, samples > 0 and clips == samples, f"{clips} clips / {samples} samples"))
        return rows

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(passed for _, passed, _ in self.checks())

    def table(self) -> str:
        """The checks as a plain table."""
        rows = self.checks()
        width = max(len(name) for name, _, _ in rows)
        lines = [f"{'check':<{width}}  result  seen", f"{'-' * width}  ------  ----"]
        lines += [f"{name:<{width}}  {'ok' if passed else 'FAIL':<6}  {seen}" for name, passed, seen in rows]
        return "\n".join(lines)


def run_smoke(config: PPOConfig, policy: str | Path, output: str | Path, extra: tuple[str, ...] = ()) -> SmokeReport:
    """Run `config` at smoke size on `policy` under `output` (`extra`: more launch words) and check it."""
    smoke = smoke_config(config, policy, output)
    record, saved = Path(output) / "record", Path(output) / "model"
    for earlier in (record, saved):  # what an earlier smoke run left would be read as this one's
        shutil.rmtree(earlier, ignore_errors=True)
    write_prompt_file(smoke)
    command = [sys.executable, "-m", LAUNCHER, "--aural.record", str(record), *extra, *launch_argv(smoke_flags(smoke))]
    exit_code = subprocess.call(command, env={**os.environ, **launch_environment(smoke)})
    return SmokeReport(exit_code, read_run_record(record), _weights_changed(policy, saved))


def _weights_changed(start: str | Path, saved: Path) -> bool | None:
    from safetensors.torch import load_file

    from aural.policy.checkpoint import released_name

    def weights(folder: Path) -> dict[str, Any]:
        return {released_name(name): tensor for path in sorted(folder.glob("*.safetensors")) for name, tensor in load_file(path).items()}

    if not any(saved.glob("*.safetensors")):
        return None
    before, after = weights(Path(start)), weights(saved)
    return any(name in before and not before[name].to(tensor.dtype).equal(tensor) for name, tensor in after.items())
