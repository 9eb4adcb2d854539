"""Scoring many samples at once, and what the scores add up to.

`score_each` is the one entry point of every adapter (the JSONL contract, OpenRLHF,
TRL, verl): each item is a `Sample` or a `Rejection` (what the adapter could not
read), each comes back scored or rejected with its reason (a sample no route of the
recipe covers is rejected here, routed once), and the adapter only translates a
rejection into its trainer's convention. `score_batch` scores samples known to route.

Verifiers are fast string scans except the math check, which runs in worker
processes (one per core). Batches are therefore scored from a thread pool: the
threads keep every math worker busy while the scans run between them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from tqdm import tqdm

from aural.errors import located
from aural.table import plain_table
from aural.verifiers import FieldError, Sample

from .recipe import Recipe, RewardResult, RouteError

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


@dataclass(frozen=True)
class Rejection:
    """An item that was not scored: the field at fault (``label.answer``, ``modality``…) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return located(self.message, field=self.field)


def read_sample(make: Callable[[], Sample]) -> Sample | Rejection:
    """The sample `make` builds, or the rejection its `FieldError` describes.

    >>> read_sample(lambda: Sample("(B)", {"choices": ["a", "b"]}, "audio"))
    Rejection(field='label.answer', message='missing')
    """
    try:
        return make()
    except FieldError as error:
        return Rejection(error.field, error.message)


def score_each(
    recipe: Recipe, items: Sequence[Sample | Rejection], threads: int | None = None, progress: bool | None = None
) -> list[RewardResult | Rejection]:
    """Each item's reward, in order: samples scored in one batch, a sample no route covers
    rejected (field ``modality``), rejections handed back as they came.

    >>> from aural.rewards.recipe import load_recipe
    >>> audio_only = load_recipe({"name": "a", "route": {"audio": {"accuracy": {"verifier": "answer"}}}})
    >>> [str(r) if isinstance(r, Rejection) else r.total for r in score_each(audio_only, [Sample("(A)", "A", "audio"), Sample("(A)", "A", "text")])]
    [1.0, "modality: recipe 'a' has no route for modality 'text' and no [route.default]"]
    """
    samples = [item for item in items if isinstance(item, Sample)]
    scored = iter(_map(lambda sample: _score_or_reject(recipe, sample), samples, threads, progress, recipe.name))
    return [next(scored) if isinstance(item, Sample) else item for item in items]


def _score_or_reject(recipe: Recipe, sample: Sample) -> RewardResult | Rejection:
    try:
        return recipe.score(sample)
    except RouteError as error:
        return Rejection("modality", str(error))


def score_batch(recipe: Recipe, samples: Sequence[Sample], threads: int | None = None, progress: bool | None = None) -> list[RewardResult]:
    """Score `samples` in order (each must take a route: `RouteError` otherwise); `progress`
    shows a bar (default: long batches on a terminal).

    >>> from aural.rewards.recipe import load_recipe
    >>> batch = [Sample("<think>Low hum.</think>(A)", "A", "audio"), Sample("(A)", "B", "text")]
    >>> [r.total for r in score_batch(load_recipe(), batch)]
    [1.0, 0.0]
    """
    return _map(recipe.score, samples, threads, progress, recipe.name)


Scored = TypeVar("Scored")


def _map(
    score: Callable[[Sample], Scored], samples: Sequence[Sample], threads: int | None, progress: bool | None, name: str
) -> list[Scored]:
    threads = threads or 2 * (os.cpu_count() or 1)
    if progress is None:
        progress = len(samples) >= PROGRESS_FROM and sys.stderr.isatty()
    in_parallel = threads > 1 and len(samples) >= 2 * threads
    scored = (_thread_pool(threads).map if in_parallel else map)(score, samples)
    if not progress:
        return list(scored)
    return list(tqdm(scored, total=len(samples), unit="sample", desc=f"scoring ({name})"))


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
