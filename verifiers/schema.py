"""The data every verifier reads and writes: `Sample`, `Label` and `Verdict`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aural.errors import AuralError

from .kinds import infer_kind

MODALITIES = ("audio", "text")
FINISH_REASONS = ("stop", "length")
KINDS = ("choice", "math", "number", "text", "asr")


class FieldError(AuralError):
    """A value that does not fit the data model; `field` names where it sits (``label.choices``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)


@dataclass(frozen=True)
class Label:
    """The reference a response is checked against.

    `kind` is inferred from the answer when not given: choices → ``choice``,
    LaTeX → ``math``, a number → ``number``, anything else → ``text``.

    >>> Label("B", choices=("a dog", "a cat")).kind
    'choice'
    >>> Label(r"\\frac{1}{2}").kind, Label("1,024").kind, Label("rain").kind
    ('math', 'number', 'text')
    """

    answer: str
    choices: tuple[str, ...] | None = None
    kind: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.answer, str):
            raise FieldError("label.answer", f"expected a string, got {type(self.answer).__name__}")
        if self.choices is not None:
            if not isinstance(self.choices, (list, tuple)) or not all(isinstance(c, str) for c in self.choices):
                raise FieldError("label.choices", "expected a list of strings")
            if not self.choices:
                raise FieldError("label.choices", "expected at least one choice")
            object.__setattr__(self, "choices", tuple(self.choices))
        if not self.kind:
            object.__setattr__(self, "kind", infer_kind(self.answer, self.choices))
        elif self.kind not in KINDS:
            raise FieldError("label.kind", f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    @classmethod
    def parse(cls, value: Any) -> Label:
        """Build a label from a bare answer string or a JSON object.

        >>> Label.parse({"answer": "B", "choices": ["a dog", "a cat"]}).choices
        ('a dog', 'a cat')
        >>> Label.parse("42").kind
        'number'
        """
        if isinstance(value, Label):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return cls(str(value))
        if not isinstance(value, Mapping):
            raise FieldError("label", f"expected a string or an object, got {type(value).__name__}")
        if "answer" not in value:
            raise FieldError("label.answer", "missing")
        answer = value["answer"]
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        extra = {k: v for k, v in value.items() if k not in ("answer", "choices", "kind")}
        return cls(answer, value.get("choices"), value.get("kind") or "", extra)


@dataclass(frozen=True)
class Sample:
    """One response to score, with the prompt it answered and its label.

    `label` may be given as a `Label`, a bare answer string or a label object. `memo` keeps
    what the verifiers of one sample work out from it once for all of them (the think parse).

    >>> Sample(response="<think>It rises.</think>(B)", label="B", modality="audio").label.kind
    'choice'
    """

    response: str
    label: Label
    modality: str
    prompt: str = ""
    finish_reason: str = "stop"
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.response, str):
            raise FieldError("response", f"expected a string, got {type(self.response).__name__}")
        if not isinstance(self.prompt, str):
            raise FieldError("prompt", f"expected a string, got {type(self.prompt).__name__}")
        if self.modality not in MODALITIES:
            raise FieldError("modality", f"expected one of {', '.join(MODALITIES)}, got {self.modality!r}")
        if self.finish_reason not in FINISH_REASONS:
            raise FieldError("finish_reason", f"expected one of {', '.join(FINISH_REASONS)}, got {self.finish_reason!r}")
        object.__setattr__(self, "label", Label.parse(self.label))


@dataclass(frozen=True)
class Verdict:
    """A verifier's decision: `score` in [0, 1], a short machine-readable `reason`,
    what was read as the answer (`extracted`), and any `details` a verifier reports
    (the cues it matched, say).

    >>> Verdict(1.0, "ok", "B")
    Verdict(score=1.0, reason='ok', extracted='B')
    """

    score: float
    reason: str = "ok"
    extracted: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        """True when the score is at least one half."""
        return self.score >= 0.5
