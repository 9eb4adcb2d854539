"""What a rollout store (or any scored-sample JSONL) adds up to, read in one streaming pass.

`read_store` keeps counters, never the lines: the reward and each component's
mean and reasons (through `Summary`), the reward missing on the samples that
carry each failure reason, each prompt group's size and right answers (for
pass@k), accuracy by reasoning length, by label kind and by modality, the
truncation rate by response length, and a few example responses per failure
reason. A line's group is its ``prompt_id``; a line without one groups by its
``id`` less the ``-s<N>`` sample suffix Aural's rollouts give. Lengths are
token counts where the line has them (``reasoning_tokens``,
``response_tokens``), else characters. `aural.rollouts.report_page` draws it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aural.errors import line_of, located
from aural.rewards.batch import Summary
from aural.rewards.recipe import RewardResult
from aural.verifiers import FieldError, Label, Verdict
from aural.verifiers.think import OPEN_TAG, parse_think

from .stats import is_correct, pass_at_k

EXAMPLES_PER_REASON = 3
EXAMPLE_CHARS = 1200
KEPT_ERRORS = 20
_SAMPLE_SUFFIX = re.compile(r"-s\d+$")


@dataclass(frozen=True)
class Example:
    """One response that failed for a reason: where it is, and what it said (cut after `EXAMPLE_CHARS`, marked ``[…]``)."""

    line: int
    id: str
    reward: float
    response: str


@dataclass
class Rate:
    """Counts per bucket and how many of them hit (were right, or truncated)."""

    total: Counter = field(default_factory=Counter)
    hits: Counter = field(default_factory=Counter)

    def add(self, bucket: Any, hit: bool) -> None:
        """Count one line into `bucket`."""
        self.total[bucket] += 1
        self.hits[bucket] += hit

    def rate(self, bucket: Any) -> float:
        """The share of `bucket` that hit."""
        return self.hits[bucket] / self.total[bucket]


@dataclass
class Group:
    """One prompt's samples: their label's kind, how many, how many right, and the range of their rewards."""

    kind: str
    samples: int = 0
    correct: int = 0
    low: float = float("inf")
    high: float = float("-inf")


@dataclass
class StoreReport:
    """Everything `read_store` counted in one store."""

    path: str
    lines: int = 0
    unscored: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    summary: Summary = field(default_factory=Summary)
    best_reward: float = 0.0
    reason_rewards: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    reasoning: Rate = field(default_factory=Rate)
    truncation: Rate = field(default_factory=Rate)
    by_kind: Rate = field(default_factory=Rate)
    by_modality: Rate = field(default_factory=Rate)
    token_lengths: int = 0
    examples: dict[tuple[str, str], list[Example]] = field(default_factory=dict)

    @property
    def length_unit(self) -> str:
        """What the length axes count: tokens, characters, or both where lines differ."""
        scored = self.summary.count
        return "tokens" if self.token_lengths == scored else "characters" if not self.token_lengths else "tokens or characters"

    def reason_costs(self) -> list[tuple[str, str, int, float]]:
        """``(component, reason, samples, reward missing)`` per failure reason, costliest first: the
        reward the samples carrying it fall short of the best reward in the store, summed."""
        rows = [
            (name, reason, int(count), count * self.best_reward - total) for (name, reason), (count, total) in self.reason_rewards.items()
        ]
        return sorted(rows, key=lambda row: (-row[3], -row[2], row[0], row[1]))

    def pass_k(self, k: int) -> tuple[int, list[float]]:
        """The k used and each group's unbiased pass@k: `k`, or the smallest group's size when a group is smaller."""
        if not self.groups:
            return k, []
        used = min(k, min(g.samples for g in self.groups.values()))
        return used, [pass_at_k(g.samples, g.correct, used) for g in self.groups.values()]

    def zero_variance(self) -> Counter:
        """Groups of two or more samples whose rewards are all equal (no GRPO or PPO signal within the group):
        ``all right``, ``all wrong``, ``mixed`` (same reward, answers differing)."""
        counts: Counter = Counter()
        for group in self.groups.values():
            if group.samples > 1 and group.low == group.high:
                kind = "all right" if group.correct == group.samples else "all wrong" if not group.correct else "mixed"
                counts[kind] += 1
        return counts


def length_bucket(length: int) -> int:
    """The power-of-two bucket of a length: 0 for 0, b for ``2**(b-1) <= length < 2**b``.

    >>> [length_bucket(n) for n in (0, 1, 2, 3, 4, 1000)]
    [0, 1, 2, 2, 3, 10]
    """
    return max(0, int(length)).bit_length()


def bucket_label(bucket: int) -> str:
    """A bucket's range as text.

    >>> [bucket_label(b) for b in (0, 1, 2, 3, 11)]
    ['0', '1', '2-3', '4-7', '1024-2047']
    """
    if bucket <= 1:
        return str(bucket)
    return f"{2 ** (bucket - 1)}-{2**bucket - 1}"


def group_key(record: dict[str, Any], line: int) -> str:
    """The prompt group of a line: ``prompt_id``, else ``id`` less its ``-s<N>`` suffix, else the line number.

    >>> group_key({"id": "math-1-s3"}, 7), group_key({"prompt_id": "p", "id": "x"}, 7), group_key({}, 7)
    ('math-1', 'p', 'line 7')
    """
    if "prompt_id" in record:
        return str(record["prompt_id"])
    if "id" in record:
        return _SAMPLE_SUFFIX.sub("", str(record["id"]))
    return f"line {line}"


def label_kind(label: Any) -> str:
    """A label's kind (given or inferred), ``unreadable`` when it cannot be read.

    >>> label_kind({"answer": "B", "choices": ["a", "b"]}), label_kind("2\\sqrt{2}"), label_kind({"choices": []})
    ('choice', 'math', 'unreadable')
    """
    try:
        return Label.parse(label).kind
    except FieldError:
        return "unreadable"


def read_store(path: str | Path) -> StoreReport:
    """Count one pass over the JSONL at `path`. A line that is not a JSON object is an error
    (``FILE:LINE: message``); a line without a numeric ``reward`` is counted as unscored."""
    report = StoreReport(str(path))
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            report.lines += 1
            try:
                record = json.loads(text)
                if not isinstance(record, dict):
                    raise ValueError(f"expected a JSON object, got {type(record).__name__}")
                _count(report, record, number)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                report.error_count += 1
                if len(report.errors) < KEPT_ERRORS:
                    report.errors.append(located(str(error), line_of(path, number)))
    return report


def _count(report: StoreReport, record: dict[str, Any], number: int) -> None:
    reward = record.get("reward")
    if not isinstance(reward, (int, float)) or isinstance(reward, bool):
        report.unscored += 1
        return
    components = record.get("components") or {}
    verdicts = {name: Verdict(float(c["score"]), str(c["reason"])) for name, c in components.items()}
    report.summary.add([RewardResult(float(reward), verdicts, "")])
    report.best_reward = max(report.best_reward, float(reward))
    correct = is_correct(record)

    key = group_key(record, number)
    group = report.groups.get(key)
    if group is None:  # a prompt's samples share its label: its kind is read once
        group = report.groups[key] = Group(label_kind(record.get("label")))
    group.samples += 1
    group.correct += correct
    group.low, group.high = min(group.low, reward), max(group.high, reward)

    response = str(record.get("response", ""))
    if "reasoning_tokens" in record and "response_tokens" in record:
        report.token_lengths += 1
        reasoning_length, response_length = record["reasoning_tokens"], record["response_tokens"]
    else:
        prefilled = str(record.get("prompt", "")).rstrip().endswith(OPEN_TAG)
        reasoning_length, response_length = len(parse_think(response, prefilled=prefilled).reasoning), len(response)
    report.reasoning.add(length_bucket(reasoning_length), correct)
    report.truncation.add(length_bucket(response_length), record.get("finish_reason") == "length")
    report.by_kind.add(group.kind, correct)
    report.by_modality.add(str(record.get("modality", "unknown")), correct)

    for name, verdict in verdicts.items():
        if verdict.reason == "ok":
            continue
        key = (name, verdict.reason)
        totals = report.reason_rewards.setdefault(key, [0, 0.0])
        totals[0] += 1
        totals[1] += float(reward)
        examples = report.examples.setdefault(key, [])
        if len(examples) < EXAMPLES_PER_REASON:
            shown = response if len(response) <= EXAMPLE_CHARS else response[:EXAMPLE_CHARS] + " […]"
            examples.append(Example(number, str(record.get("id", "")), float(reward), shown))
