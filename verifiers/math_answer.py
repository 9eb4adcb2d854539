"""Math answers: symbolic equivalence with math-verify, behind a hard timeout."""

from __future__ import annotations

import re

from .marked import answer_phrases, answer_tags, boxed
from .latex_value import latex_value, letters
from .math_pool import MathResult, shared_pool
from .numeric import parse_number
from .registry import register
from .think import ReadsThink
from .schema import Sample, Verdict

_LATEX_NOISE = re.compile(r"\s+|\$|\\left|\\right|\\displaystyle|\\[!,;: ]|\.$")
_SOFT_FRACTION = re.compile(r"\\[dt]frac")
CACHE_SIZE = 8192


def canonical_latex(text: str) -> str:
    r"""A spelling of `text` that ignores spacing, ``$``, ``\left``/``\right`` and ``\dfrac``.

    >>> canonical_latex(r"$\dfrac{1}{2}$"), canonical_latex(r"\left( 1, 2 \right)")
    ('\\frac{1}{2}', '(1,2)')
    """
    return _SOFT_FRACTION.sub(r"\\frac", _LATEX_NOISE.sub("", text))


def _as_latex(text: str) -> str:
    return text if "$" in text or "\\(" in text or "\\[" in text else f"${text}$"


@register("math")
class MathEquivalence(ReadsThink):
    r"""1.0 when the final answer is mathematically equal to the label.

    The answer is the boxed expression (two different boxed answers score 0),
    else the answer tag or ``Answer:`` phrase, else the LaTeX in the final
    answer. Identical spellings, numbers and plain arithmetic are decided here;
    the rest goes to math-verify in a worker process killed after `timeout_s`
    (reason ``timeout``). Answers longer than `max_chars` score 0 (``too_long``).

    >>> check = MathEquivalence()
    >>> check(Sample(r"<think>Half.</think>\boxed{\dfrac{1}{2}}", r"\frac{1}{2}", "text")).score
    1.0
    >>> check(Sample(r"<think>.</think>\boxed{1} and \boxed{2}", "1", "text")).reason
    'multiple_answers'
    """

    def __init__(self, timeout_s: float = 5.0, max_chars: int = 1000, **tags: str | bool):
        super().__init__(**tags)
        if timeout_s <= 0 or max_chars <= 0:
            raise ValueError("timeout_s and max_chars must be > 0")
        self.timeout_s = float(timeout_s)
        self.max_chars = max_chars
        self._decided: dict[tuple[str, str], MathResult] = {}  # a group's samples often share an answer

    def check(self, sample: Sample) -> Verdict:
        gold = sample.label.answer.strip()
        if not gold or len(gold) > self.max_chars:
            return Verdict(0.0, "bad_label")
        final = self.parse(sample).answer
        marked = boxed(final) or answer_tags(final) + answer_phrases(final)
        spellings = {canonical_latex(answer) for answer in marked}
        if len(spellings) > 1:
            return Verdict(0.0, "multiple_answers", " | ".join(sorted(spellings))[:200])
        prediction = (marked[0] if marked else final).strip()
        if not prediction:
            return Verdict(0.0, "no_answer")
        if len(prediction) > self.max_chars:
            return Verdict(0.0, "too_long", prediction[:200])
        quick = _decide_without_sympy(gold, prediction)
        if quick is not None:
            return Verdict(1.0 if quick else 0.0, "ok" if quick else "wrong", prediction)
        result = self._check_in_pool(_as_latex(gold), _as_latex(prediction) if marked else prediction)
        return Verdict(1.0 if result.status == "ok" else 0.0, result.status, result.extracted or prediction[:200])


    def _check_in_pool(self, gold: str, prediction: str) -> MathResult:
        result = self._decided.get((gold, prediction))
        if result is None:
            result = shared_pool().check(gold, prediction, self.timeout_s)
            if len(self._decided) >= CACHE_SIZE:
                self._decided.clear()
            self._decided[gold, prediction] = result
        return result


def _decide_without_sympy(gold: str, prediction: str) -> bool | None:
    """True or False where the answer is certain without sympy, else None.

    Certain: the same spelling; the same exact number; two different integers;
    arithmetic (``2\\sqrt{2}``, ``\\frac{3}{4}``, ``x^2+1``, ``(1, 2]``) whose values agree
    to 1e-9, or differ by more than math-verify's 6-decimal rounding could hide.
    """
    if canonical_latex(gold) == canonical_latex(prediction):
        return True
    expected, got = parse_number(gold, units=False), parse_number(prediction, units=False)
    if expected is not None and got is not None and not expected.percent and not got.percent:
        if expected.value == got.value:
            return True
        if expected.value.denominator == got.value.denominator == 1:
            return False
    gold_parts, predicted_parts = _bracketed(gold), _bracketed(prediction)
    if gold_parts is None or predicted_parts is None:
        return _same_value(gold, prediction)
    if gold_parts[0] != predicted_parts[0] or len(gold_parts[1]) != len(predicted_parts[1]):
        return False
    verdicts = [_same_value(a, b) for a, b in zip(gold_parts[1], predicted_parts[1])]
    return False if False in verdicts else None if None in verdicts else True


_BRACKETS = re.compile(r"^[(\[](.*)[)\]]$", re.DOTALL)
_SAMPLE_POINTS = (0.5772156649, 1.6180339887, -2.7182818284)


def _bracketed(text: str) -> tuple[str, list[str]] | None:
    """``(1, 2]`` as its bracket pair and parts; None for anything not a bracketed list."""
    text = text.replace("\\left", "").replace("\\right", "").strip()
    match = _BRACKETS.match(text)
    if match is None:
        return None
    parts, depth, start = [], 0, 0
    inner = match.group(1)
    for at, char in enumerate(inner):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if depth < 0:
            return None  # "(1)+(2)": the outer brackets do not pair
        if char == "," and depth == 0:
            parts.append(inner[start:at])
            start = at + 1
    parts.append(inner[start:])
    return (text[0] + text[-1], parts) if len(parts) > 1 else None


def _same_value(gold: str, prediction: str) -> bool | None:
    """Compare two arithmetic expressions in at most one variable at a few sample points."""
    names = letters(gold) | letters(prediction)
    if len(names) > 1 or names & {"e", "i"}:
        return None
    points = [{name: x} for name in names for x in _SAMPLE_POINTS] or [{}]
    verdict: bool | None = True
    for point in points:
        a, b = latex_value(gold, point), latex_value(prediction, point)
        if a is None or b is None:
            return None
        gap, scale = abs(a - b), max(abs(a), abs(b), 1.0)
        if gap > 1e-4 * scale:
            return False
        if gap > 1e-9 * scale:
            verdict = None
    return verdict
