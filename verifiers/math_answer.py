"""Math answers: symbolic equivalence with math-verify, behind a hard timeout."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Unpack

from .latex_value import latex_value, letters
from .marked import answer_phrases, answer_tags, boxed
from .math_pool import MathResult, shared_pool
from .number import MAX_MARKS, NumberMatch, final_statement, innermost_phrase, read_number
from .numeric import parse_number
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink, ThinkTags

_LATEX_NOISE = re.compile(r"\s+|\\?\$|\\left|\\right|\\displaystyle|\\[!,;: ]|\{,\}|\.$")
_SOFT_FRACTION = re.compile(r"\\[dtc]frac")
CACHE_SIZE = 8192
EXTRACTIONS = ("latex", "expr")
# A hedge inside a mark ("3 \text{ (or 4)}", "3, maybe 4") or beside it ("Either $4$ or $\boxed{3}$").
_HEDGE_WORD = r"\b(?:or|either|maybe|perhaps|possibly|probably|alternatively)\b(?!,?\s*(?:equivalently|equally|simply|in other words))"
_HEDGE_INSIDE = re.compile(r"\(\s*(?:" + _HEDGE_WORD + r")[^()]*\)|\b(?:maybe|perhaps|possibly|probably)\b", re.IGNORECASE)
_HEDGE_BESIDE = re.compile(_HEDGE_WORD, re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,200})\$\$?|\\\((.{1,200}?)\\\)|(?<![\w.\\{])(-?\d+(?:\.\d+)?)(?![\w.])")
_SET_START = re.compile(r"^\$*\s*(?:\\\{|\{)|\\cup|\band\b|;")
_FILLER = r"(?:[\s,;:$(){}]|\\boxed|\\fbox|\\[(\[]|\\quad)*"
_ONLY_HEDGE = re.compile(_FILLER + r"(?:" + _HEDGE_WORD + _FILLER + r")+", re.IGNORECASE)
_BOX_OPENING = re.compile(r"(?:\$\$?|\\[(\[])?\s*\\(?:boxed|fbox)\s*\{?\s*$")
_BOX_CLOSING = re.compile(r"^\s*\}?\s*(?:\$\$?|\\[)\]])?")
_PROSE = re.compile(r"(?<![\\A-Za-z{])[A-Za-z]{3,}(?![A-Za-z]*\})")


def canonical_latex(text: str) -> str:
    r"""A spelling of `text` that ignores spacing, ``$``, ``\left``/``\right``, ``\dfrac`` and LaTeX thousands.

    >>> canonical_latex(r"$\dfrac{1}{2}$"), canonical_latex(r"\left( 1, 2 \right)"), canonical_latex("14{,}916")
    ('\\frac{1}{2}', '(1,2)', '14916')
    """
    return _SOFT_FRACTION.sub(r"\\frac", _LATEX_NOISE.sub("", text))


def _is_collection(gold: str) -> bool:
    """Whether a label is several values: a comma outside brackets, a braced set, a union, "and" or ";".

    >>> _is_collection("(2,1),(1,2)"), _is_collection(r"\\{1, 2\\}"), _is_collection("(1, 2)")
    (True, True, False)
    """
    if _SET_START.search(gold):
        return True
    depth = 0
    for char in gold:
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            return True
    return False


def _as_latex(text: str) -> str:
    """`text` as math-verify reads LaTeX: inline between ``$``, or displayed when it spans lines."""
    if "$" in text or "\\(" in text or "\\[" in text or "\\boxed" in text:
        return text
    return f"$${text}$$" if "\n" in text else f"${text}$"


@register("math")
class MathEquivalence(ReadsThink):
    r"""1.0 when the final answer is mathematically equal to the label.

    The answer is the boxed expression, else the answer tag or ``Answer:`` phrase,
    else the LaTeX in the final answer. Several boxes are one answer when they are
    equal ("\boxed{\frac12} = \boxed{0.5}"), the label's set when together they
    equal it, and a hedge otherwise; so is a mark that offers an alternative
    ("Either $4$ or $\boxed{3}$", "\boxed{3 \text{ (or 4)}}"). Identical spellings,
    numbers and plain arithmetic are decided here; the rest goes to math-verify in a
    worker process killed after `timeout_s` (reason ``timeout``). Answers longer than
    `max_chars` score 0 (``too_long``).

    math-verify's options, with its defaults: `extraction` (``latex``, ``expr``: plain
    numbers and expressions too), `float_rounding` (decimals floats are rounded to),
    `strict` (variable names must match), `allow_set_relation_comp` (a gold set matches
    a relation).

    >>> check = MathEquivalence()
    >>> check(Sample(r"<think>Half.</think>\boxed{\dfrac{1}{2}}", r"\frac{1}{2}", "text")).score
    1.0
    >>> check(Sample(r"<think>.</think>\boxed{1} and \boxed{2}", "1", "text")).reason
    'multiple_answers'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"ok", "wrong", "bad_label", "no_answer", "multiple_answers", "too_long", "timeout", "crashed", "parse_error"}
    )

    def __init__(
        self,
        timeout_s: float = 5.0,
        max_chars: int = 1000,
        extraction: Sequence[str] = EXTRACTIONS,
        float_rounding: int = 6,
        strict: bool = True,
        allow_set_relation_comp: bool = False,
        **tags: Unpack[ThinkTags],
    ):
        super().__init__(**tags)
        if timeout_s <= 0 or max_chars <= 0:
            raise ValueError("timeout_s and max_chars must be > 0")
        if isinstance(extraction, str) or not extraction or not set(extraction) <= set(EXTRACTIONS):
            raise ValueError(f"extraction must be a non-empty list of {EXTRACTIONS}, got {extraction!r}")
        if isinstance(float_rounding, bool) or not isinstance(float_rounding, int) or not 0 <= float_rounding <= 15:
            raise ValueError(f"float_rounding must be an integer from 0 to 15, got {float_rounding!r}")
        self.timeout_s = float(timeout_s)
        self.max_chars, self.float_rounding = max_chars, float_rounding
        self.options = {
            "extraction": list(dict.fromkeys(extraction)),
            "float_rounding": float_rounding,
            "strict": bool(strict),
            "allow_set_relation_comp": bool(allow_set_relation_comp),
        }
        self._decided: dict[tuple[str, str], MathResult] = {}  # a group's samples often share an answer

    def check(self, sample: Sample) -> Verdict:
        gold = sample.label.answer.strip()
        if not gold or len(gold) > self.max_chars:
            return Verdict(0.0, "bad_label")
        final = self.parse(sample).answer
        boxes = final_statement(final) or boxed(final)
        marked = boxes or [innermost_phrase(phrase) for phrase in answer_tags(final) + answer_phrases(final)]
        marked = [answer.strip() for answer in marked if answer.strip()]
        if any(_PROSE.search(answer) and read_number(answer).status == "multiple_answers" for answer in marked):
            return Verdict(0.0, "multiple_answers", marked[-1][:200])
        if any(_HEDGE_INSIDE.search(answer) for answer in marked):
            return Verdict(0.0, "multiple_answers", marked[-1][:200])
        spellings = list(dict.fromkeys(canonical_latex(answer) for answer in marked))
        if len(spellings) > MAX_MARKS:
            return Verdict(0.0, "multiple_answers", " | ".join(spellings[:3])[:200])
        if len(spellings) > 1:
            return self._several(gold, marked)
        prediction = (marked[0] if marked else final).strip()
        if not prediction:
            return Verdict(0.0, "no_answer")
        if not marked and NumberMatch.unmarked(prediction, "") == "multiple_answers":
            return Verdict(0.0, "multiple_answers", prediction[:200])  # "3 or 4": math-verify would take the last
        if len(prediction) > self.max_chars:
            return Verdict(0.0, "too_long", prediction[:200])
        if boxes and self._offered_beside(final, prediction):
            return Verdict(0.0, "multiple_answers", prediction[:200])
        return self._compare(gold, prediction, marked=bool(marked))

    def _compare(self, gold: str, prediction: str, marked: bool = True) -> Verdict:
        quick = _decide_without_sympy(gold, prediction, self.float_rounding)
        if quick is not None:
            return Verdict(1.0 if quick else 0.0, "ok" if quick else "wrong", prediction[:200])
        as_written = not marked or _PROSE.search(prediction)  # prose: math-verify finds the math in it
        result = self._check_in_pool(_as_latex(gold), prediction if as_written else _as_latex(prediction))
        return Verdict(1.0 if result.status == "ok" else 0.0, result.status, result.extracted or prediction[:200])

    def _equal(self, first: str, second: str) -> bool:
        """Whether two answers of the response are the same value, each read as a label of the other."""
        quick = _decide_without_sympy(first, second, self.float_rounding)
        if quick is not None:
            return quick
        return self._check_in_pool(_as_latex(first), _as_latex(second)).status == "ok"

    def _several(self, gold: str, marked: list[str]) -> Verdict:
        """Several different marked answers: one value in several forms, the label's set, or a hedge."""
        distinct = list({canonical_latex(answer): answer for answer in marked}.values())
        if all(self._equal(distinct[0], other) for other in distinct[1:]):
            return self._compare(gold, distinct[-1])
        if _is_collection(gold):
            verdict = self._compare(gold, ", ".join(distinct))
            if verdict.reason in ("ok", "wrong"):
                return verdict
        return Verdict(0.0, "multiple_answers", " | ".join(canonical_latex(a) for a in distinct)[:200])

    def _offered_beside(self, final: str, box: str) -> bool:
        """Whether the box's sentence offers a different value right beside it with a hedge
        ("Either $4$ or $\\boxed{3}$", "$\\boxed{4}$, or maybe $5$")."""
        # the last box that holds it: the value's own digits may recur beside it ("$450$")
        opening = max(re.finditer(r"\\(?:boxed|fbox)\s*\{?\s*(?=" + re.escape(box) + ")", final), key=lambda m: m.start(), default=None)
        at = opening.end() if opening else final.rfind(box)
        before, after = final[max(0, at - 120) : at], final[at + len(box) : at + len(box) + 120]
        before = _BOX_OPENING.sub("", before)  # the box's own "$\\boxed{" and "}$" are not spans
        after = _BOX_CLOSING.sub("", after)
        for m in _MATH_SPAN.finditer(before):
            if _ONLY_HEDGE.fullmatch(before[m.end() :]) and self._differs(box, m):
                return True
        first = next(_MATH_SPAN.finditer(after), None)
        return bool(first and _ONLY_HEDGE.fullmatch(after[: first.start()]) and self._differs(box, first))

    def _differs(self, box: str, span: re.Match[str]) -> bool:
        other = next(group for group in span.groups() if group is not None).strip()
        return "boxed" not in other and not self._equal(box, other)

    def _check_in_pool(self, gold: str, prediction: str) -> MathResult:
        result = self._decided.get((gold, prediction))
        if result is None:
            result = shared_pool().check(gold, prediction, self.timeout_s, self.options)
            if len(self._decided) >= CACHE_SIZE:
                self._decided.clear()
            self._decided[gold, prediction] = result
        return result


def _decide_without_sympy(gold: str, prediction: str, float_rounding: int = 6) -> bool | None:
    """True or False where the answer is certain without sympy, else None.

    Certain: the same spelling; the same exact number; two different integers;
    arithmetic (``2\\sqrt{2}``, ``\\frac{3}{4}``, ``x^2+1``, ``(1, 2]``) whose values agree
    to 1e-9, or differ by more than math-verify's rounding to `float_rounding` decimals could hide.
    """
    if canonical_latex(gold) == canonical_latex(prediction):
        return True
    expected, got = parse_number(canonical_latex(gold), units=False), parse_number(canonical_latex(prediction), units=False)
    if expected is not None and got is not None and not expected.percent and not got.percent:
        if expected.value == got.value:
            return True
        if expected.value.denominator == got.value.denominator == 1:
            return False
    gold_parts, predicted_parts = _bracketed(gold), _bracketed(prediction)
    if gold_parts is None or predicted_parts is None:
        return _same_value(gold, prediction, float_rounding)
    if gold_parts[0] != predicted_parts[0] or len(gold_parts[1]) != len(predicted_parts[1]):
        return False
    verdicts = [_same_value(a, b, float_rounding) for a, b in zip(gold_parts[1], predicted_parts[1])]
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


def _same_value(gold: str, prediction: str, float_rounding: int = 6) -> bool | None:
    """Compare two arithmetic expressions in at most one variable at a few sample points."""
    apart = 10.0 ** (2 - float_rounding)  # beyond what rounding both to `float_rounding` decimals can hide
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
        if gap > apart * scale:
            return False
        if gap > 1e-9 * scale:
            verdict = None
    return verdict
