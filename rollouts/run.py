"""A rollout run: sample a prompt set with a pool, score each prompt's group, store it, report.

Each record is a scored sample as `aural score` writes them (so a rollout file
can be scored again under another recipe), plus ``prompt_id``,
``sample_index``, ``samples``, token counts (prompt, response, and reasoning:
the tokens inside the think block), ``engine``, ``seconds`` (the prompt's share
of its task's time) and ``source`` (the prompt line as written).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from aural.rewards.batch import Summary, score_batch
from aural.rewards.recipe import Recipe, RewardResult
from aural.rewards.scored_jsonl import sample_from_record, scored_record
from aural.table import plain_table
from aural.verifiers import Verdict
from aural.verifiers.think import OPEN_TAG

from .engines import SamplingSettings
from .pool import Completed, RolloutPool
from .prompt_set import read_prompt_set
from .stats import GroupStats, group_stats
from .store import RolloutStore


@dataclass
class RolloutReport:
    """What a run did and what the whole store now holds."""

    prompts: int
    sampled: int
    tokens: int
    seconds: float
    summary: Summary = field(default_factory=Summary)
    groups: list[GroupStats] = field(default_factory=list)

    def table(self, k: int = 8) -> str:
        """The run and the store's groups as a plain-text table."""
        samples = sum(g.samples for g in self.groups)
        n = min((g.samples for g in self.groups), default=0)
        rows = [("", "value")]
        rows.append(("prompts (sampled this run / in the store)", f"{self.sampled} / {len(self.groups)} of {self.prompts}"))
        rows.append(("tokens generated this run", f"{self.tokens}"))
        rows.append(("tokens/s this run", f"{self.tokens / self.seconds:.1f}" if self.seconds else "-"))
        if self.groups:
            rows.append(("samples in the store", str(samples)))
            rows.append(("mean reward", f"{self.summary.mean_reward:.4f}"))
            rows.append(("accuracy", f"{_mean([g.accuracy for g in self.groups]):.4f}"))
            rows.append(("pass@1", f"{_mean([g.pass_at(1) for g in self.groups]):.4f}"))
            if n >= k:
                rows.append((f"pass@{k}", f"{_mean([g.pass_at(k) for g in self.groups]):.4f}"))
            rows.append(("mean reasoning tokens", f"{_mean([g.mean_reasoning_tokens for g in self.groups]):.1f}"))
        return plain_table(rows) + "\n\n" + self.summary.table()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def run_rollouts(
    prompts: str | Path,
    store: str | Path,
    make_pool: Callable[[], RolloutPool],
    settings: SamplingSettings,
    recipe: Recipe | None,
    tokenizer: Any,
    progress: bool = True,
) -> RolloutReport:
    """Sample every prompt of `prompts` not already complete in `store`, scoring with `recipe`.

    `make_pool` is only called when something is left to sample. `tokenizer`
    counts the reasoning tokens.
    """
    records = read_prompt_set(prompts)
    rollouts = RolloutStore(store)
    done = rollouts.recover()
    todo = [r for r in records if r.id not in done]
    report = RolloutReport(prompts=len(records), sampled=0, tokens=0, seconds=0.0)
    if todo:
        bar = tqdm(total=len(records), initial=len(records) - len(todo), unit="prompt", desc="rollouts", disable=not progress)
        pool = make_pool()
        start = time.perf_counter()
        try:
            for completed in pool.run(todo, settings):
                rollouts.append(_lines(completed, recipe, tokenizer))
                report.sampled += 1
                report.tokens += sum(g.response_tokens for g in completed.generations)
                report.seconds = time.perf_counter() - start
                bar.update()
                bar.set_postfix(samples=report.sampled * settings.n, tokens_per_s=f"{report.tokens / report.seconds:.0f}")
        finally:
            pool.close()
            bar.close()
    for block in rollouts.blocks():
        report.groups.append(group_stats(block))
        report.summary.add(_results(block))
    return report


def _lines(completed: Completed, recipe: Recipe | None, tokenizer: Any) -> list[dict[str, Any]]:
    record, n = completed.record, len(completed.generations)
    prefilled = completed.prompt.rstrip().endswith(OPEN_TAG)
    lines = []
    for index, g in enumerate(completed.generations):
        lines.append(
            {
                "id": f"{record.id}-s{index}",
                "prompt_id": record.id,
                "sample_index": index,
                "samples": n,
                "prompt": completed.prompt,
                "response": g.text,
                "modality": record.modality,
                "label": record.label,
                "finish_reason": g.finish_reason,
                "prompt_tokens": g.prompt_tokens,
                "response_tokens": g.response_tokens,
                "reasoning_tokens": g.reasoning_tokens(tokenizer, prefilled),
                "engine": completed.engine,
                "seconds": round(completed.seconds, 4),
                "source": record.source,
            }
        )
    if recipe is None:
        return lines
    samples = [sample_from_record(line) for line in lines]
    return [scored_record(line, result) for line, result in zip(lines, score_batch(recipe, samples))]


def _results(block: list[dict[str, Any]]) -> list[RewardResult]:
    """The stored rewards of a block, as results a `Summary` counts (none when unscored)."""
    return [
        RewardResult(line["reward"], {name: Verdict(c["score"], c["reason"], c["extracted"]) for name, c in line["components"].items()}, "")
        for line in block
        if line.get("reward") is not None
    ]
