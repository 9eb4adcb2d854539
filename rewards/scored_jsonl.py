"""The scored-sample JSONL contract: read samples, write each line back with its reward.

Input line::

    {"id": "q1-s3", "prompt": "…", "response": "<think>…</think>The answer is (B).",
     "modality": "audio", "label": {"answer": "B", "choices": ["a dog", "a cat"]},
     "finish_reason": "stop"}

Output line: the same object, unknown fields untouched, with ``"reward"`` and
``"components": {name: {"score", "reason", "extracted"}}`` added. A line that
cannot be read is written back with ``"reward": null`` and an ``"error"`` naming
its line and field, so output lines match the non-blank input lines one to one.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from aural.errors import line_of, located
from aural.files import atomic_write
from aural.verifiers import FieldError, Sample

from .batch import Rejection, Summary, read_sample, score_each
from .recipe import Recipe, RewardResult

CHUNK_LINES = 1024


@dataclass(frozen=True)
class LineError:
    """A line that could not be scored: where, which field, and why."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return located(self.message, line_of(self.path, self.line), self.field)


@dataclass
class ScoreReport:
    """What `score_jsonl` did: the summary of scored lines and every line it could not score."""

    summary: Summary
    errors: list[LineError] = field(default_factory=list)


def sample_from_record(record: Any) -> Sample:
    """The `Sample` a JSON record describes; raises `FieldError` naming the field at fault.

    >>> sample_from_record({"response": "(B)", "label": "B", "modality": "text"}).label.answer
    'B'
    >>> sample_from_record({"response": "(B)", "modality": "text"})
    Traceback (most recent call last):
    aural.verifiers.schema.FieldError: label: missing
    """
    if not isinstance(record, Mapping):
        raise FieldError("line", f"expected a JSON object, got {type(record).__name__}")
    for name in ("response", "label", "modality"):
        if name not in record:
            raise FieldError(name, "missing")
    return Sample(
        response=record["response"],
        label=record["label"],
        modality=record["modality"],
        prompt=record.get("prompt", ""),
        finish_reason=record.get("finish_reason", "stop"),
    )


def scored_record(record: Mapping[str, Any], result: RewardResult) -> dict[str, Any]:
    """`record` with its reward and component verdicts added."""
    components = {
        name: {"score": v.score, "reason": v.reason, "extracted": v.extracted, **({"details": dict(v.details)} if v.details else {})}
        for name, v in result.components.items()
    }
    return {**record, "reward": result.total, "components": components}


def score_jsonl(source: str | Path, target: str | Path | None, recipe: Recipe, progress: bool | None = None) -> ScoreReport:
    """Score every line of `source` into `target`: a path, ``-`` for standard
    output, or None to keep only the report.

    A target path is written whole or not at all: lines go to a temporary file
    renamed into place at the end.
    """
    report = ScoreReport(Summary())
    with open(source, encoding="utf-8") as lines, _output(target) as out:
        _score_lines(lines, str(source), out, recipe, progress, report)
    return report


@contextmanager
def _output(target: str | Path | None) -> Iterator[IO[str]]:
    if target is None:
        with open(os.devnull, "w", encoding="utf-8") as out:
            yield out
    elif str(target) == "-":
        yield sys.stdout
    else:
        with atomic_write(target) as out:
            yield out


def _score_lines(lines: IO[str], path: str, out: IO[str], recipe: Recipe, progress: bool | None, report: ScoreReport) -> None:
    numbered = enumerate(lines, start=1)
    while chunk := list(islice(numbered, CHUNK_LINES)):
        parsed = [(number, *_read_line(text)) for number, text in chunk if text.strip()]
        outcomes = score_each(recipe, [sample for _, _, sample in parsed], progress=progress)
        for (number, record, _), outcome in zip(parsed, outcomes):
            if isinstance(outcome, Rejection):
                error = LineError(path, number, outcome.field, outcome.message)
                report.errors.append(error)
                line = {**(record if isinstance(record, Mapping) else {"raw": record}), "reward": None}
                line["error"] = {"line": error.line, "field": error.field, "message": error.message}
            else:
                report.summary.add([outcome])
                line = scored_record(record, outcome)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _read_line(text: str) -> tuple[Any, Sample | Rejection]:
    """The line's record (its raw text if not JSON) and its sample, or why it has none."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return text.rstrip("\n"), Rejection("line", f"invalid JSON: {error.msg} at column {error.colno}")
    except RecursionError:
        return text.rstrip("\n"), Rejection("line", "invalid JSON: nested too deeply")
    return record, read_sample(lambda: sample_from_record(record))
