"""Scoring many samples at once, and what the scores add up to.

Verifiers are fast string scans except the math check, which runs in worker
processes (one per core). Batches are therefore scored from a thread pool: the
threads keep every math worker busy while the scans run between them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from tqdm import tqdm

from aural.verifiers import Sample

from .recipe import Recipe, RewardResult
from .table import plain_table

PROGRESS_FROM = 256

_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    """A long-lived pool per size (and per process, for forked children): batches come
    often and concurrently, from trainers and the server, and starting threads is not free."""
    key = (os.getpid(), threads)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix="aural-score")
        return _pools[key]


def score_batch(
    recipe: Recipe, samples: Sequence[Sample], threads: int | None = None, progress: bool | None = None
) -> list[RewardResult]:
    """Score `samples` in order; `progress` shows a bar (default: long batches on a terminal).

    >>> from aural.rewards.recipe import load_recipe
    >>> batch = [Sample("<think>Low hum.</think>(A)", "A", "audio"), Sample("(A)", "B", "text")]
    >>> [r.total for r in score_batch(load_recipe(), batch)]
    [1.0, 0.0]
    """
    threads = threads or 2 * (os.cpu_count() or 1)
    if progress is None:
        progress = len(samples) >= PROGRESS_FROM and sys.stderr.isatty()
    in_parallel = threads > 1 and len(samples) >= 2 * threads
    scored = (_thread_pool(threads).map if in_parallel else map)(recipe.score, samples)
    if not progress:
        return list(scored)
    return list(tqdm(scored, total=len(samples), unit="sample", desc=f"scoring ({recipe.name})"))


@dataclass
class Summary:
    """Totals over scored samples: mean reward, mean score and reason counts per component."""

    count: int = 0
    reward_sum: float = 0.0
    component_sums: dict[str, float] = field(default_factory=dict)
    component_counts: Counter = field(default_factory=Counter)
    reasons: dict[str, Counter] = field(default_factory=dict)

    def add(self, results: Iterable[RewardResult]) -> Summary:
        """Count more results in; returns the summary itself.

        >>> from aural.verifiers import Verdict
        >>> s = Summary().add([RewardResult(1.0, {"acc": Verdict(1.0)}, "text"), RewardResult(0.0, {"acc": Verdict(0.0, "wrong")}, "text")])
        >>> s.mean_reward, s.component_mean("acc"), dict(s.reasons["acc"])
        (0.5, 0.5, {'ok': 1, 'wrong': 1})
        """
        for result in results:
            self.count += 1
            self.reward_sum += result.total
            for name, verdict in result.components.items():
                self.component_sums[name] = self.component_sums.get(name, 0.0) + verdict.score
                self.component_counts[name] += 1
                self.reasons.setdefault(name, Counter())[verdict.reason] += 1
        return self

    @property
    def mean_reward(self) -> float:
        """The mean total reward; 0 when nothing was scored."""
        return self.reward_sum / self.count if self.count else 0.0

    def component_mean(self, name: str) -> float:
        """The mean score of one component over the samples that had it."""
        return self.component_sums[name] / self.component_counts[name]

    def table(self, title: str = "") -> str:
        """The summary as a plain-text table."""
        rows = [("component", "samples", "mean", "reasons"), ("reward", str(self.count), f"{self.mean_reward:.4f}", "")]
        for name in self.component_sums:
            reasons = ", ".join(f"{r} {n}" for r, n in self.reasons[name].most_common())
            rows.append((name, str(self.component_counts[name]), f"{self.component_mean(name):.4f}", reasons))
        return plain_table(rows, title)
