"""Numeric answers: equality within tolerance, never evaluating the text."""

from __future__ import annotations

import math

from .marked import marked_answers
from .numeric import Number, find_numbers, numbers_match, parse_number
from .registry import register
from .think import ReadsThink
from .schema import Sample, Verdict


def read_number(region: str) -> tuple[str, Number | None]:
    """The number a region answers with: ``("ok", n)``, ``("multiple_answers", None)`` or ``("no_answer", None)``.

    A region that is one number (with a unit) is that number; otherwise it must
    contain exactly one distinct number.

    >>> read_number("3 beeps")[1].value, read_number("3 or 4")[0], read_number("none")[0]
    (Fraction(3, 1), 'multiple_answers', 'no_answer')
    """
    whole = parse_number(region)
    if whole is not None:
        return "ok", whole
    distinct = {(n.value, n.percent): n for n in find_numbers(region)}
    if len(distinct) > 1:
        return "multiple_answers", None
    if not distinct:
        return "no_answer", None
    return "ok", next(iter(distinct.values()))


@register("number")
class NumberMatch(ReadsThink):
    """1.0 when the answer equals the label within `rel_tol` / `abs_tol`.

    Marked answers (boxed, ``Answer:``) are read when present and must agree;
    when none holds a number, the last number of the final answer is taken. Thousands
    separators, units, simple fractions, percentages and number words up to
    ninety-nine are understood.

    >>> check = NumberMatch()
    >>> check(Sample("<think>I count them.</think>There are 1,024 beeps.", "1024", "audio")).score
    1.0
    >>> check(Sample(r"<think>.</think>\\boxed{3} or \\boxed{4}", "3", "text")).reason
    'multiple_answers'
    """

    def __init__(self, rel_tol: float = 1e-9, abs_tol: float = 0.0, **tags: str | bool):
        super().__init__(**tags)
        if not all(math.isfinite(tol) and tol >= 0 for tol in (rel_tol, abs_tol)):
            raise ValueError("rel_tol and abs_tol must be finite and >= 0")
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol

    def check(self, sample: Sample) -> Verdict:
        expected = parse_number(sample.label.answer)
        if expected is None:
            return Verdict(0.0, "bad_label")
        got = self._answer(sample)
        if isinstance(got, str):
            return Verdict(0.0, got)
        correct = numbers_match(expected, got, self.rel_tol, self.abs_tol)
        shown = f"{got.value}%" if got.percent else str(got.value)
        return Verdict(1.0 if correct else 0.0, "ok" if correct else "wrong", shown)

    def _answer(self, sample: Sample) -> Number | str:
        final = self.parse(sample).answer
        answers: dict[tuple, Number] = {}
        for region in marked_answers(final):
            status, number = read_number(region)
            if status == "multiple_answers":
                return status
            if number is not None:
                answers[(number.value, number.percent)] = number
        if len(answers) > 1:
            return "multiple_answers"
        if answers:
            return next(iter(answers.values()))
        # No marked answer holds a number: the final answer as a number, else its last number.
        last = None
        for last in find_numbers(final):
            pass
        return parse_number(final) or last or "no_answer"
