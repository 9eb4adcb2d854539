"""What a PPO run through OpenRLHF did, written down as it happens: each step's metrics,
each forward pass of the actor and the critic with how many of its samples carried
audio features, and before each step how far the rollout engines' log-probs of the
sampled tokens lie from the trainer's (small only when the engines hold its weights). `aural ppo --smoke` and the tests read it back (`read_run_record`).

The launch turns it on (``--aural.record DIR``) and the plug-in writes it from every Ray
worker; they learn the folder from ``AURAL_RUN_RECORD``, which the launch sets for them
(Ray workers receive their settings through the environment). Each record is one JSON
line appended with a single write, so processes can share a file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD_VARIABLE = "AURAL_RUN_RECORD"
STEPS, FORWARDS, SYNC = "steps.jsonl", "forwards.jsonl", "sync.jsonl"


@dataclass(frozen=True)
class RunRecord:
    """Where a run's record goes (`folder`); `None` writes nothing."""

    folder: Path | None = None

    @classmethod
    def from_environment(cls) -> RunRecord:
        """The record the launch asked for, from ``AURAL_RUN_RECORD`` (none when unset)."""
        folder = os.environ.get(RECORD_VARIABLE)
        return cls(Path(folder) if folder else None)

    def write(self, file: str, entry: Mapping[str, Any]) -> None:
        """Append `entry` as one JSON line to `file` in the record's folder."""
        if self.folder is None:
            return
        line = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode()
        descriptor = os.open(self.folder / file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    def step(self, step: int, status: Mapping[str, Any]) -> None:
        """A finished PPO step: its number and OpenRLHF's numeric metrics."""
        metrics = {k: float(v) for k, v in status.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.write(STEPS, {"step": step, **metrics})

    def sync_gap(self, gap: float, tokens: int) -> None:
        """Before a PPO step: the mean absolute difference, over `tokens` sampled tokens, between
        the log-probs the rollout engine sampled them with and the trainer's own."""
        self.write(SYNC, {"gap": gap, "tokens": tokens, "pid": os.getpid()})

    def forward(self, model: str, samples: int, with_audio: int, training: bool) -> None:
        """A forward pass of `model` (``actor`` or ``critic``) over `samples` sequences,
        `with_audio` of them handed audio features; `training` when gradients flow."""
        self.write(FORWARDS, {"model": model, "samples": samples, "with_audio": with_audio, "training": training, "pid": os.getpid()})


@dataclass(frozen=True)
class RunSummary:
    """A run's record read back: one metrics dict per step, every forward pass, and the
    rollout/trainer log-prob gap before each step."""

    steps: list[dict[str, float]]
    forwards: list[dict[str, Any]]
    sync_gaps: list[dict[str, Any]]

    def audio_share(self, model: str, training: bool) -> tuple[int, int]:
        """(samples with audio, samples) over `model`'s forward passes of one kind."""
        passes = [f for f in self.forwards if f["model"] == model and f["training"] == training]
        return sum(f["with_audio"] for f in passes), sum(f["samples"] for f in passes)

    def finite(self, metric: str) -> bool:
        """Whether every step logged `metric` and every value is finite."""
        return bool(self.steps) and all(metric in s and math.isfinite(s[metric]) for s in self.steps)


def read_run_record(folder: str | Path) -> RunSummary:
    """The record a run wrote into `folder` (empty lists for files it never wrote).

    >>> read_run_record("/no/such/folder").steps
    []
    """
    folder = Path(folder)

    def lines(name: str) -> list[dict[str, Any]]:
        path = folder / name
        return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []

    return RunSummary(sorted(lines(STEPS), key=lambda s: s["step"]), lines(FORWARDS), lines(SYNC))
