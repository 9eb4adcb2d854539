"""Data selection: keep the prompts whose pass@k lies in a middle band (Step-Audio-R1's
medium-difficulty filter: neither always solved nor never)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from aural.errors import AuralError
from aural.files import atomic_write

from .stats import group_stats
from .store import RolloutStore


@dataclass
class Selection:
    """How many prompts fell below, inside and above the band, and the ids kept."""

    below: int = 0
    inside: int = 0
    above: int = 0
    kept: list[str] = field(default_factory=list)


def select_prompts(rollouts: str | Path, k: int, low: float, high: float, out: str | Path) -> Selection:
    """Write to `out` the prompt lines (as first written) whose pass@k is within [`low`, `high`]."""
    if not 0.0 <= low <= high <= 1.0:
        raise AuralError(f"must satisfy 0 <= low <= high <= 1, got {low} and {high}", field="band")
    selection, lines = Selection(), []
    for block in RolloutStore(rollouts).blocks():
        stats = group_stats(block)
        if k > stats.samples:
            raise AuralError(f"prompt {stats.prompt_id!r} has {stats.samples} samples, fewer than k={k}", str(rollouts))
        score = stats.pass_at(k)
        if score < low:
            selection.below += 1
        elif score > high:
            selection.above += 1
        else:
            selection.inside += 1
            selection.kept.append(stats.prompt_id)
            lines.append(json.dumps(block[0]["source"], ensure_ascii=False) + "\n")
    with atomic_write(out) as written:
        written.write("".join(lines))
    return selection
