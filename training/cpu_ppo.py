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

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from transformers import AutoFeatureExtractor, AutoTokenizer

from aural.policy.inputs import FEATURE_KEYS, AudioInputs
from aural.policy.model import AudioPolicy
from aural.policy.prompt import PromptBuilder
from aural.rewards.batch import Summary, score_batch
from aural.rewards.recipe import load_recipe
from aural.rollouts.prompt_set import PromptRecord
from aural.rollouts.run import reasoning_tokens
from aural.verifiers import Sample

from .audio_critic import load_audio_critic
from .openrlhf_audio import install

@dataclass(frozen=True)
class CPUPPOSettings:
    """What one PPO step does. The PPO values default to Step-Audio-R1's (clip 0.2,
    γ = λ = 1, no KL); the sizes are small enough for a CPU."""

    n: int = 8
    max_new_tokens: int = 24
    temperature: float = 1.0
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    minibatch: int = 16
    eps_clip: float = 0.2
    value_clip: float = 0.5
    gamma: float = 1.0
    lambd: float = 1.0
    recipe: str = "step-audio-r1"


@dataclass
class Experience:
    """One sampled response, ready for PPO updates."""

    sequence: torch.Tensor
    features: dict[str, torch.Tensor]
    action_mask: torch.Tensor
    old_log_probs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


class CPUPPO:
    """The policy in `policy` (a local folder) trained with PPO on CPU."""

    def __init__(self, policy: str | Path, settings: CPUPPOSettings = CPUPPOSettings(), seed: int = 0):
        install()
        from openrlhf.models import Actor, PolicyLoss, ValueLoss

        torch.manual_seed(seed)
        self.settings, self.seed, self.steps = settings, seed, 0
        self.actor = Actor(str(policy), attn_implementation="eager", param_dtype="bf16")  # OpenRLHF loads bf16 or fp16
        self.actor.model.float()  # CPU training in float32
        self.critic = load_audio_critic(policy, torch.float32, "eager")
        tokenizer = AutoTokenizer.from_pretrained(str(policy))
        features = AutoFeatureExtractor.from_pretrained(str(policy))
        self.policy = AudioPolicy(self.actor.model, AudioInputs(tokenizer, features), tokenizer, PromptBuilder(tokenizer, features.sampling_rate))
        self.recipe = load_recipe(settings.recipe)
        self.policy_loss = PolicyLoss(settings.eps_clip, settings.eps_clip)
        self.value_loss = ValueLoss(settings.value_clip)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=settings.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=settings.critic_lr)

    def step(self, records: Sequence[PromptRecord]) -> dict[str, Any]:
        """One PPO iteration on `records`; returns the step's statistics."""
        started = time.monotonic()
        experiences, results, lengths, reasoning = self.make_experience(records)
        losses = self.update(experiences)
        self.steps += 1
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
            "seconds": round(time.monotonic() - started, 2),
        }

    @torch.no_grad()
    def make_experience(self, records: Sequence[PromptRecord]) -> tuple[list[Experience], list[Any], list[int], list[int]]:
        """Sample, score, and compute log-probs, values, advantages and returns."""
        self.actor.eval()
        self.critic.eval()
        prompts = [self.policy.prompts.build(r.messages, r.prefill_think) for r in records]
        groups = self.policy.generate(
            prompts, n=self.settings.n, max_new_tokens=self.settings.max_new_tokens,
            temperature=self.settings.temperature, seed=self.seed * 1_000_003 + self.steps,
        )
        samples, rows = [], []
        for record, prompt, group in zip(records, prompts, groups):
            inputs = self.policy.inputs(prompt)
            for generation in group:
                samples.append(Sample(generation.text, record.label, record.modality, prompt.text, generation.finish_reason))
                rows.append((inputs, generation))
        results = score_batch(self.recipe, samples, progress=False)
        from openrlhf.models.utils import compute_reward
        from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

        experiences = []
        for (inputs, generation), result in zip(rows, results):
            response = torch.tensor([generation.token_ids])
            sequence = torch.cat([inputs["input_ids"], response], dim=1)
            features = {k: inputs[k] for k in FEATURE_KEYS if k in inputs}
            action_mask = torch.ones_like(response, dtype=torch.bool)
            log_probs = self._log_probs(sequence, action_mask, features)
            values = self._values(sequence, action_mask, features)
            reward = compute_reward(torch.tensor([result.total]), 0.0, torch.zeros_like(log_probs), action_mask=action_mask)
            advantages, returns = RemoteExperienceMaker.get_advantages_and_returns(  # OpenRLHF's GAE (it uses no state)
                None, values, reward, action_mask, self.settings.gamma, self.settings.lambd
            )
            experiences.append(Experience(sequence, features, action_mask, log_probs, values, advantages, returns))
        _whiten_advantages(experiences)
        tokenizer = self.policy.tokenizer
        lengths = [len(g.token_ids) for _, g in rows]
        reasoning = [reasoning_tokens(g, tokenizer, prefilled=True) for _, g in rows]
        return experiences, results, lengths, reasoning

    def update(self, experiences: Sequence[Experience]) -> dict[str, float]:
        """One epoch of minibatch updates of the policy and the critic; mean losses."""
        self.actor.train()
        self.critic.train()
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "clip_ratio": 0.0, "ppo_kl": 0.0}
        for start in range(0, len(experiences), self.settings.minibatch):
            batch = experiences[start : start + self.settings.minibatch]
            self.actor_optimizer.zero_grad()
            self.critic_optimizer.zero_grad()
            for e in batch:
                log_probs = self._log_probs(e.sequence, e.action_mask, e.features)
                policy_loss, clip_ratio, ppo_kl, _, _ = self.policy_loss(log_probs, e.old_log_probs, e.advantages, action_mask=e.action_mask)
                values = self._values(e.sequence, e.action_mask, e.features)
                value_loss = self.value_loss(values, e.old_values, e.returns, action_mask=e.action_mask)
                (policy_loss / len(batch)).backward()
                (value_loss / len(batch)).backward()
                for name, value in zip(totals, (policy_loss, value_loss, clip_ratio, ppo_kl)):
                    totals[name] += float(value.detach()) / len(experiences)
            torch.nn.utils.clip_grad_norm_(self.actor.parameters(), 1.0)
            torch.nn.utils.clip_grad_norm_(self.critic.parameters(), 1.0)
            self.actor_optimizer.step()
            self.critic_optimizer.step()
        return totals

    def _log_probs(self, sequence: torch.Tensor, action_mask: torch.Tensor, features: dict) -> torch.Tensor:
        return self.actor(sequence, action_mask=action_mask, attention_mask=torch.ones_like(sequence), **features)

    def _values(self, sequence: torch.Tensor, action_mask: torch.Tensor, features: dict) -> torch.Tensor:
        return self.critic(sequence, action_mask=action_mask, attention_mask=torch.ones_like(sequence), **features)


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
