"""Per-prompt statistics of a group of rollouts: mean reward, accuracy, pass@k, reasoning length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb
from typing import Any

from aural.rewards.recipe import ACCURACY


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased estimate of pass@k from `n` samples of which `correct` are right:
    ``1 - C(n - c, k) / C(n, k)``, the chance that k of them drawn without replacement include a right one.

    >>> pass_at_k(16, 0, 8), pass_at_k(16, 16, 1), pass_at_k(16, 4, 1), round(pass_at_k(16, 1, 8), 3)
    (0.0, 1.0, 0.25, 0.5)
    """
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be between 0 and n={n}, got {correct}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got {k}")
    return 1.0 - comb(n - correct, k) / comb(n, k)


def is_correct(record: dict[str, Any]) -> bool:
    """A rollout's answer was right: its ``accuracy`` component passed, or (without one) its reward reached 0.5."""
    accuracy = (record.get("components") or {}).get(ACCURACY)
    return (accuracy["score"] if accuracy else record.get("reward") or 0.0) >= 0.5


@dataclass(frozen=True)
class GroupStats:
    """What one prompt's samples add up to."""

    prompt_id: str
    samples: int
    correct: int
    mean_reward: float
    mean_reasoning_tokens: float

    @property
    def accuracy(self) -> float:
        """The share of samples that were right."""
        return self.correct / self.samples

    def pass_at(self, k: int) -> float:
        """Unbiased pass@k over this group."""
        return pass_at_k(self.samples, self.correct, k)


def group_stats(block: Sequence[dict[str, Any]]) -> GroupStats:
    """The statistics of one prompt's block of rollouts."""
    rewards = [r["reward"] for r in block if r.get("reward") is not None]
    return GroupStats(
        prompt_id=block[0]["prompt_id"],
        samples=len(block),
        correct=sum(map(is_correct, block)),
        mean_reward=sum(rewards) / len(rewards) if rewards else 0.0,
        mean_reasoning_tokens=sum(r.get("reasoning_tokens", 0) for r in block) / len(block),
    )
