"""PPO on one CPU machine, with OpenRLHF's parts and Aural's: the loop `train_ppo_ray`
runs on a cluster, made small enough to watch learn on the tiny audio policy.

Each step samples `n` responses to each of a few audio prompts with the current
policy (Aural's transformers engine, short responses), scores them with an Aural
recipe, and makes PPO experience the way OpenRLHF does: log-probabilities from
OpenRLHF's `Actor` (audio through Aural's plug-in), values from Aural's audio
critic, the reward on the last response token (OpenRLHF's `compute_reward`, no KL
term), advantages and returns from OpenRLHF's GAE, whitened over the batch. The
policy and the critic then take optimizer steps on OpenRLHF's `PolicyLoss` (clip)
and `ValueLoss` over minibatches. Every step returns its statistics.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aural.policy.inputs import FEATURE_KEYS
from aural.policy.model import AudioPolicy
from aural.rewards.batch import Summary, score_batch
from aural.rewards.recipe import DEFAULT_RECIPE, load_recipe
from aural.rollouts.prompt_set import PromptRecord
from aural.verifiers import Sample

from .audio_critic import load_audio_critic
from .openrlhf_audio import install


@dataclass(frozen=True)
class CPUPPOSettings:
    """What one PPO step does. The PPO values default to Step-Audio-R1's (clip 0.2,
    γ = λ = 1, no KL); the sizes are small enough for a CPU. The optimizers are OpenRLHF's
    defaults: Adam with betas (0.9, 0.95) and, over `steps` PPO steps, a cosine schedule to a
    tenth of the rate after a 3% warmup (stepped once per PPO step)."""

    n: int = 8
    max_new_tokens: int = 24
    temperature: float = 1.0
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    steps: int = 0  # the PPO steps planned: the learning rates follow OpenRLHF's schedule over them; 0: constant
    minibatch: int = 16
    eps_clip: float = 0.2
    value_clip: float = 0.5
    gamma: float = 1.0
    lambd: float = 1.0
    recipe: str = DEFAULT_RECIPE


@dataclass
class Experience:
    """One sampled response, ready for PPO updates (each tensor a batch of one row)."""

    sequence: torch.Tensor
    attention_mask: torch.Tensor
    features: dict[str, torch.Tensor]
    action_mask: torch.Tensor
    old_log_probs: torch.Tensor | None = None
    old_values: torch.Tensor | None = None
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None


class CPUPPO:
    """The policy in `policy` (a local folder) trained with PPO on CPU.

    Forward passes are batched: the responses of a step are padded to the longest, and
    the samples whose prompts have the same shapes go through the actor and the critic
    together (OpenRLHF's layout: prompt, then response, its padding masked out).
    """

    def __init__(self, policy: str | Path, settings: CPUPPOSettings = CPUPPOSettings(), seed: int = 0):
        install()
        from openrlhf.models import Actor, PolicyLoss, ValueLoss

        torch.manual_seed(seed)
        self.settings, self.seed, self.steps = settings, seed, 0
        loaded = AudioPolicy.from_pretrained(policy)  # float32: the weights, the inputs, the template
        self.actor = Actor(str(policy), attn_implementation="eager", param_dtype="bf16")  # OpenRLHF loads bf16 or fp16
        self.actor.model.float().load_state_dict(loaded.model.state_dict())  # the float32 weights, not their bf16 rounding
        self.critic = load_audio_critic(policy, torch.float32, "eager")
        self.policy = AudioPolicy(self.actor.model, loaded.make_inputs, loaded.tokenizer, loaded.prompt_builder)
        self.recipe = load_recipe(settings.recipe)
        self.policy_loss = PolicyLoss(settings.eps_clip, settings.eps_clip)
        self.value_loss = ValueLoss(settings.value_clip)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=settings.actor_lr, betas=ADAM_BETAS)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=settings.critic_lr, betas=ADAM_BETAS)
        self.schedules = [_schedule(optimizer, settings.steps) for optimizer in (self.actor_optimizer, self.critic_optimizer)]

    def step(self, records: Sequence[PromptRecord]) -> dict[str, Any]:
        """One PPO iteration on `records`; returns the step's statistics."""
        started = time.monotonic()
        experiences, results, lengths, reasoning = self.make_experience(records)
        losses = self.update(experiences)
        self.steps += 1
        actor_lr = self.actor_optimizer.param_groups[0]["lr"]
        for schedule in self.schedules:
            schedule.step()
        summary = Summary().add(results)
        return {
            "step": self.steps,
            "samples": len(results),
            "mean_reward": round(summary.mean_reward, 4),
            **{
                f"mean_{name}": round(summary.component_mean(name), 4) if name in summary.component_sums else 0.0
                for name in self.recipe.component_names()
            },
            "mean_response_tokens": _mean(lengths),
            "mean_reasoning_tokens": _mean(reasoning),
            **losses,
            "actor_lr": actor_lr,
            "seconds": round(time.monotonic() - started, 2),
        }

    @torch.no_grad()
    def make_experience(self, records: Sequence[PromptRecord]) -> tuple[list[Experience], list[Any], list[int], list[int]]:
        """Sample, score, and compute log-probs, values, advantages and returns."""
        from openrlhf.models.utils import compute_reward
        from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

        self.actor.eval()
        self.critic.eval()
        prompts = [self.policy.prompt_builder.build(r.messages, r.prefill_think) for r in records]
        groups = self.policy.generate(
            prompts,
            n=self.settings.n,
            max_new_tokens=self.settings.max_new_tokens,
            temperature=self.settings.temperature,
            seed=self.seed * 1_000_003 + self.steps,
        )
        samples, rows = [], []
        for record, prompt, group in zip(records, prompts, groups):
            inputs = self.policy.inputs(prompt)
            for generation in group:
                samples.append(Sample(generation.text, record.label, record.modality, prompt.text, generation.finish_reason))
                rows.append((inputs, generation))
        results = score_batch(self.recipe, samples, progress=False)
        width = max(len(g.token_ids) for _, g in rows)
        experiences = [self._padded(inputs, generation.token_ids, width) for inputs, generation in rows]
        totals = [result.total for result in results]
        for group in _same_shapes(range(len(experiences)), experiences):
            batch = _stack([experiences[i] for i in group])
            log_probs, values = self._log_probs(batch), self._values(batch)
            reward = compute_reward(
                torch.tensor([totals[i] for i in group]), 0.0, torch.zeros_like(log_probs), action_mask=batch["action_mask"]
            )
            advantages, returns = RemoteExperienceMaker.get_advantages_and_returns(  # OpenRLHF's GAE (it uses no state)
                None, values, reward, batch["action_mask"], self.settings.gamma, self.settings.lambd
            )
            for row, index in enumerate(group):
                e = experiences[index]
                e.old_log_probs, e.old_values = log_probs[row : row + 1], values[row : row + 1]
                e.advantages, e.returns = advantages[row : row + 1], returns[row : row + 1]
        _whiten_advantages(experiences)
        tokenizer = self.policy.tokenizer
        lengths = [len(g.token_ids) for _, g in rows]
        reasoning = [g.reasoning_tokens(tokenizer, prefilled=True) for _, g in rows]
        return experiences, results, lengths, reasoning

    def update(self, experiences: Sequence[Experience]) -> dict[str, float]:
        """One epoch of minibatch updates of the policy and the critic; mean losses."""
        self.actor.train()
        self.critic.train()
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "clip_ratio": 0.0, "ppo_kl": 0.0}
        for start in range(0, len(experiences), self.settings.minibatch):
            minibatch = experiences[start : start + self.settings.minibatch]
            self.actor_optimizer.zero_grad()
            self.critic_optimizer.zero_grad()
            for group in _same_shapes(range(len(minibatch)), minibatch):
                batch = _stack([minibatch[i] for i in group])
                mask = batch["action_mask"]
                policy_loss, clip_ratio, ppo_kl, _, _ = self.policy_loss(
                    self._log_probs(batch), batch["old_log_probs"], batch["advantages"], action_mask=mask
                )
                value_loss = self.value_loss(self._values(batch), batch["old_values"], batch["returns"], action_mask=mask)
                ((policy_loss + value_loss) * len(group) / len(minibatch)).backward()  # actor and critic share no weights
                for name, value in zip(totals, (policy_loss, value_loss, clip_ratio, ppo_kl)):
                    totals[name] += float(value.detach()) * len(group) / len(experiences)
            torch.nn.utils.clip_grad_norm_(self.actor.parameters(), 1.0)
            torch.nn.utils.clip_grad_norm_(self.critic.parameters(), 1.0)
            self.actor_optimizer.step()
            self.critic_optimizer.step()
        return totals

    def _padded(self, inputs: dict[str, torch.Tensor], response: Sequence[int], width: int) -> Experience:
        """The prompt and `response`, padded to `width` response tokens (padding masked out)."""
        filler = width - len(response)
        tokens = torch.tensor([[*response, *[self.policy.tokenizer.pad_token_id] * filler]])
        valid = torch.tensor([[True] * len(response) + [False] * filler])
        sequence = torch.cat([inputs["input_ids"], tokens], dim=1)
        attention_mask = torch.cat([torch.ones_like(inputs["input_ids"]), valid.long()], dim=1)
        features = {k: inputs[k] for k in FEATURE_KEYS if k in inputs}
        return Experience(sequence, attention_mask, features, valid)

    def _log_probs(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.actor(batch["sequence"], action_mask=batch["action_mask"], attention_mask=batch["attention_mask"], **batch["features"])

    def _values(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.critic(batch["sequence"], action_mask=batch["action_mask"], attention_mask=batch["attention_mask"], **batch["features"])


def train(
    ppo: CPUPPO,
    records: Sequence[PromptRecord],
    steps: int,
    prompts_per_step: int,
    log: Path,
    report: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """`steps` PPO steps over `records` taken in turn, `prompts_per_step` a step; each step's
    statistics are appended to the JSONL `log` as it finishes and handed to `report`."""
    rows = []
    with open(log, "a", encoding="utf-8") as out:
        for step in range(steps):
            start = step * prompts_per_step
            rows.append(ppo.step([records[(start + i) % len(records)] for i in range(prompts_per_step)]))
            out.write(json.dumps(rows[-1]) + "\n")
            out.flush()
            report(rows[-1])
    return rows


ADAM_BETAS = (0.9, 0.95)  # OpenRLHF's --actor.adam.betas and --critic.adam.betas defaults


def _schedule(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """OpenRLHF's default learning-rate schedule (cosine_with_min_lr: 3% warmup, then down to a
    tenth) over `steps`; constant when `steps` is 0."""
    from transformers import get_scheduler

    if steps <= 0:
        return get_scheduler("constant", optimizer)
    return get_scheduler(
        "cosine_with_min_lr",
        optimizer,
        num_warmup_steps=math.ceil(steps * 0.03),
        num_training_steps=steps,
        scheduler_specific_kwargs={"min_lr_rate": 0.1},
    )


def _same_shapes(indices: Sequence[int] | range, experiences: Sequence[Experience]) -> list[list[int]]:
    """`indices` grouped by the shapes of their experiences' sequence and features, in order."""
    groups: dict[tuple, list[int]] = {}
    for index in indices:
        e = experiences[index]
        key = (tuple(e.sequence.shape), *((k, tuple(v.shape)) for k, v in sorted(e.features.items())))
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def _stack(experiences: Sequence[Experience]) -> dict[str, Any]:
    """Experiences of the same shapes as one batch of tensors."""
    batch: dict[str, Any] = {
        name: torch.cat([getattr(e, name) for e in experiences])
        for name in ("sequence", "attention_mask", "action_mask", "old_log_probs", "old_values", "advantages", "returns")
        if getattr(experiences[0], name) is not None
    }
    batch["features"] = {k: torch.cat([e.features[k] for e in experiences]) for k in experiences[0].features}
    return batch


def _whiten_advantages(experiences: Sequence[Experience]) -> None:
    """Advantages to zero mean and unit variance over every action token of the batch."""
    advantages = torch.cat([e.advantages.flatten() for e in experiences])
    mask = torch.cat([e.action_mask.flatten() for e in experiences]).float()
    mean = (advantages * mask).sum() / mask.sum()
    std = (((advantages - mean) ** 2 * mask).sum() / mask.sum()).clamp(min=1e-8).sqrt()
    for e in experiences:
        e.advantages = (e.advantages - mean) / std


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
