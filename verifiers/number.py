"""Numeric answers: equality within tolerance, never evaluating the text.

Which number a sentence answers with: a region that is one number (with a unit)
is that number. Otherwise the sentence is read as an answer sentence: the number
tagged as a total ("7 beeps in total", "a total of 7"), else the first number
attached to the question's noun ("how many *beeps*" → "4 beeps"), else the first
cardinal of the sentence's last clause (clauses start at "so", "therefore", "=",
or a colon before a bare number), else its first ordinal ("the 4th beep").
Parenthetical asides are skipped ("4 beeps (at 1 kHz)"), unless they hedge
("4 (maybe five)"). Two different numbers joined by a hedge ("3 or 4", "four or 5",
"between 3 and 4", "3-4") are two answers; so is a mark followed by a retraction
("The answer is 4. Hmm, actually 5."). A marked answer that applies anything to
its number (``\\sqrt{5}``, ``5!``, ``2x+5``) is read as the arithmetic it is, or
not as a number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Unpack

from .latex_value import latex_value
from .marked import answer_parts, answer_phrases, marked_answers, marks_within
from .numeric import Found, Number, find_all, numbers_match, parse_number
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink, ThinkTags

_HEDGE = (
    r"\b(?:or|either|maybe|perhaps|possibly|probably|between|to|might|could|alternatively)\b"
    r"|[~\u2013\u2014/]|或者|或|还是|可能|也许|到|至"
)
_HEDGE_CONNECTOR = re.compile(r"^[^.!?;\n。！？；]{0,40}?(?:" + _HEDGE + r")", re.IGNORECASE)
_RANGE_START = re.compile(r"\b(?:between|from)\s+$|在$", re.IGNORECASE)
_RETRACTION = re.compile(
    r"\b(?:or|either|maybe|perhaps|possibly|probably|might|could|alternatively|actually|wait|hmm+|rather|instead"
    r"|correction|reconsider\w*|reflection|recount\w*|I mean|make that)\b|或者|还是|可能|也许|不对|其实|应该是|重新",
    re.IGNORECASE,
)
_OR_FIRST = re.compile(r"(?:or|either)\b|或者|还是", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|^\*|\*$")
_ASIDE = re.compile(r"\(([^()]{0,200})\)|（([^（）]{0,200})）")
_SENTENCE_END = re.compile(r"[.!?;](?=[\s$<]|$)|[。！？；\n]|</?[A-Za-z][\w-]{0,20}>")
_CLAUSE_START = re.compile(
    r"\b(?:so|therefore|thus|hence|which (?:means|makes|gives)|that (?:makes|gives)|making|giving)\b|[=→]|所以|因此|共", re.IGNORECASE
)
_COLON = re.compile(r"[:：]")
_TOTAL_AFTER = re.compile(r"\s*(?:[^\W\d_]+\s+){0,2}?(?:in\s+total|total|altogether|overall)\b", re.IGNORECASE)
_TOTAL_BEFORE = re.compile(r"(?:\btotal\s+(?:of|is)\s*|\btotal:\s*|一共|总共|共有?)$", re.IGNORECASE)
# Anything that operates on a number inside a mark: LaTeX commands other than text and spacing,
# powers, indices, factorials, products, quotients and sums between operands, equations.
_OPERATION = re.compile(
    r"\\(?!(?:text|mathrm|mbox|textbf|quad|qquad|%|\$|,|;|!|\s|boxed|dfrac|tfrac|cfrac|frac|overline)\b)[A-Za-z]+"
    r"|\\(?:frac|dfrac|tfrac|cfrac)\s*\{[^{}]*[^\d\s{}\-][^{}]*\}"
    r"|[\^_=*×÷·]|\d\s*!|[\d)}]\s*[+/]\s*[\d(\\a-zA-Z]|\d\s*[a-zA-Z]\s*[+\-]"
)
_GLUED_COMMAND = re.compile(r"(\\[A-Za-z]+)(?=[0-9])")  # "\\approx11", "\\sqrt5": the digits are a number
_RELATION = re.compile(r"=|\\approx|≈")
_PROSE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_OPERAND_BEFORE = re.compile(r"(?:[\^_*/+]|\\cdot|\\times|\\(?:sqrt|log|ln|exp|sin|cos|tan)(?:_\{?\w+\}?)?)\s*\{?\s*$")
_NEGATED = re.compile(r"\bnot\s+$|n't\s+$", re.IGNORECASE)
_FINAL_ANSWER = re.compile(r"[Ff]inal\s[Aa]nswer|FINAL\sANSWER")
_QUESTION_NOUN = re.compile(r"\bhow\s+many\s+(?:(?:distinct|different|separate|total)\s+)?([^\W\d_]+)|(?:几|多少)个?(\w)", re.IGNORECASE)


MAX_MARKS = 16  # more different marked answers than this is a hedge, and reading them all would not be linear


@dataclass(frozen=True)
class Reading:
    """What a piece of text answers with: `status` is ``ok`` (then `number` is set),
    ``multiple_answers``, ``no_answer`` or ``not_a_number`` (an expression)."""

    status: str
    number: Number | None = None


def question_noun(prompt: str) -> str:
    """The noun a counting question asks about ("how many beeps" → ``beep``), or ``""``.

    >>> question_noun("How many beeps do you hear?"), question_noun("这段音频里有几声鸟叫？"), question_noun("Why?")
    ('beep', '声', '')
    """
    noun = ""
    for m in _QUESTION_NOUN.finditer(prompt[-2000:]):
        noun = m[1] or m[2]
    noun = noun.lower()
    return noun[:-1] if len(noun) > 3 and noun.endswith("s") and not noun.endswith("ss") else noun


def read_number(region: str, noun: str = "") -> Reading:
    """The number `region` answers with (see the module docstring for the rule).

    >>> read_number("3 beeps").number.value, read_number("3 or 4").status, read_number("none").status
    (Fraction(3, 1), 'multiple_answers', 'no_answer')
    >>> read_number("4 beeps in total, spaced about 0.5 seconds apart").number.value
    Fraction(4, 1)
    >>> read_number(r"\\sqrt{5}").number.value == 5, read_number("5!").status
    (False, 'not_a_number')
    """
    region = _GLUED_COMMAND.sub(r"\1 ", _EMPHASIS.sub("", region.strip()))
    whole = parse_number(region)
    if whole is not None:
        return Reading("ok", whole)
    body, asides = _without_asides(region)
    reading = _read_body(body, noun)
    if reading.status == "no_answer" and asides:  # "(\\frac{1}{3})": the whole answer in brackets
        reading = _read_body(region, noun)
    if reading.number is not None and any(_hedges_against(aside, reading.number) for aside in asides):
        return Reading("multiple_answers")
    return reading


def _without_asides(text: str) -> tuple[str, list[str]]:
    """`text` without its parenthetical asides (``\\text{…}`` unwrapped), and the asides."""
    text = re.sub(r"\\text\{([^{}]{0,200})\}", r"\1", text)
    asides = [m[1] or m[2] or "" for m in _ASIDE.finditer(text)]
    return (_ASIDE.sub(" ", text) if asides else text), asides


def _hedges_against(aside: str, number: Number) -> bool:
    """Whether an aside offers another number with a hedge ("maybe five", "or 4")."""
    return bool(_RETRACTION.search(aside)) and any(not numbers_match(number, f.number) for f in find_all(aside))


def _read_body(body: str, noun: str) -> Reading:
    """A region without its asides: one number, an expression, or an answer sentence."""
    whole = parse_number(body)
    if whole is not None:
        return Reading("ok", whole)
    found = find_all(body)
    if not found:
        return Reading("no_answer")
    if _OPERATION.search(body) and not _PROSE.search(body):
        return _read_expression(body)
    chosen = _choose(body, found, noun)
    if _operand(body, found[chosen]):
        return Reading("not_a_number")  # "\\sqrt{5} beeps": the sentence's number is operated on
    if _hedged(body, found, chosen):
        return Reading("multiple_answers")
    return Reading("ok", found[chosen].number)


def _operand(text: str, found: Found) -> bool:
    """Whether something operates on a number found in prose (``\\sqrt{5}``, ``5!``, ``5^2``, ``2 \\cdot 5``)."""
    before = text[max(0, found.start - 12) : found.start]
    after = text[found.end : found.end + 3].lstrip()
    return bool(_OPERAND_BEFORE.search(before)) or after[:1] in ("!", "^", "_", "*", "+")


def _read_expression(text: str) -> Reading:
    """A marked expression: the value of its right-hand side when that is plain arithmetic."""
    side = _RELATION.split(text)[-1].replace("$", "").strip().rstrip(".")
    number = parse_number(side)
    if number is not None:
        return Reading("ok", number)
    value = latex_value(side)
    if value is None:
        return Reading("not_a_number")
    return Reading("ok", Number(Fraction(value)))


def _choose(sentence: str, found: list[Found], noun: str) -> int:
    """Which of the numbers `found` in `sentence` it answers with."""
    for index in reversed(range(len(found))):
        number = found[index]
        if not number.ordinal and (
            _TOTAL_AFTER.match(sentence, number.end) or _TOTAL_BEFORE.search(sentence[max(0, number.start - 12) : number.start])
        ):
            return index
    clause_start, last = 0, found[-1].start
    for m in _CLAUSE_START.finditer(sentence):
        if last >= m.end():
            clause_start = m.end()
    for m in _COLON.finditer(sentence):
        if clause_start < m.end() <= last and len(sentence) - m.end() <= 400 and parse_number(sentence[m.end() :]) is not None:
            clause_start = m.end()
    in_clause = [i for i, f in enumerate(found) if f.start >= clause_start] or list(range(len(found)))
    affirmed = [i for i in in_clause if not _NEGATED.search(sentence, max(0, found[i].start - 8), found[i].start)]
    in_clause = affirmed or in_clause  # "not 10, it's 1,000.99": a number ruled out is not the answer
    attached = [i for i in in_clause if noun and _attached(sentence, found[i], noun, _next(found, i))]
    cardinals = [i for i in in_clause if not found[i].ordinal]
    return (attached or cardinals or in_clause)[0]


def _next(found: list[Found], index: int) -> Found | None:
    """The number found after `index`, if any."""
    return found[index + 1] if index + 1 < len(found) else None


def _attached(sentence: str, found: Found, noun: str, following: Found | None = None) -> bool:
    """Whether `noun` follows the number within two words, with no other number between
    ("4 short beeps", "4声"; not the 7 of "the number 7 three times")."""
    after = sentence[found.end : found.end + 40].lower()
    if not noun.isascii():
        return after.startswith(noun)
    m = re.match(r"\s*(?:[^\W\d_]+\s+){0,2}?" + re.escape(noun), after)
    return m is not None and not (following and following.start < found.end + m.end())


def _hedged(text: str, found: list[Found], chosen: int) -> bool:
    """Whether the chosen number is joined to a different one by a hedge ("3 or 4", "between 3 and 4", "3-4")."""
    number = found[chosen]
    for other in (found[chosen - 1] if chosen else None, found[chosen + 1] if chosen + 1 < len(found) else None):
        if other is None or numbers_match(number.number, other.number):
            continue
        first, second = sorted((number, other), key=lambda f: f.start)
        between = text[first.end : second.start]
        if _HEDGE_CONNECTOR.match(between):
            return True
        if re.fullmatch(r"\s*[-\u2212\u2013\u2014~]\s*", between) or (not between and text[second.start] in "-\u2212"):
            return True  # 3-4, 3 – 4: a range
        if re.fullmatch(r"\s*(?:and|&|和|与)\s*", between) and _RANGE_START.search(text[max(0, first.start - 10) : first.start]):
            return True
    return False


def _sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of `text`."""
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.end()))
        start = m.end()
    bounds.append((start, len(text)))
    return bounds


def _names_another(aside: str, number: Number, noun: str) -> bool:
    """Whether an aside (a note to the grader, a comment, a bracket) marks a number other than `number`."""
    readings = (read_number(mark, noun).number for mark in marks_within(aside))
    return any(found is not None and not numbers_match(number, found) for found in readings)


def _retracted(after: str, number: Number, noun: str, ordinals: bool) -> bool:
    """Whether text after a marked answer offers another answer with a hedge or a retraction:
    a different number standing bare ("actually 5.") or counting the same thing ("maybe 5 beeps").
    Ordinals ("the first beep") offer another answer only when the mark was one (`ordinals`)."""
    for start, end in _sentences(after):
        sentence = after[start:end]
        if not _RETRACTION.search(sentence):
            continue
        for found in find_all(sentence):
            if numbers_match(number, found.number) or (found.ordinal and not ordinals):
                continue
            rest = sentence[found.end : found.end + 40].lstrip()
            if not rest[:1].isalpha() or (noun and _attached(sentence, found, noun)):
                return True
    return False


def _unit_word(region: str) -> str:
    """The word after the first number of a marked answer ("4 beeps" → ``beep``), or ``""``."""
    m = re.search(r"\d\s*([^\W\d_]{2,})", region)
    return question_noun("how many " + m[1]) if m else ""


def final_statement(final: str) -> list[str]:
    """The answer of a "Final answer: …" statement that follows every box (the Minerva template
    after boxed working), as the one mark; else nothing.

    >>> final_statement(r"so \\boxed{200}, then \\boxed{255}. Final Answer: The final answer is $10,455$. I hope")
    ['$10,455$']
    """
    at = -1
    for m in _FINAL_ANSWER.finditer(final):
        at = m.start()
    if at < 0 or "\\boxed" in final[at:] or "\\fbox" in final[at:]:
        return []
    phrases = answer_phrases(final[at:])
    return [innermost_phrase(phrases[0])] if phrases else []


def innermost_phrase(phrase: str) -> str:
    """An answer phrase that holds another ("The final answer is 7.78", the Minerva template): the inner one.

    >>> innermost_phrase("The final answer is 7.78")
    '7.78'
    """
    while True:
        inner = answer_phrases(phrase)
        if not inner or len(inner[-1]) >= len(phrase):
            return phrase
        phrase = inner[-1]


@register("number")
class NumberMatch(ReadsThink):
    """1.0 when the answer equals the label within `rel_tol` / `abs_tol`.

    Marked answers (boxed, ``Answer:``) are read when present and must agree, and
    nothing after them may offer another number; when none holds a number, the
    final answer's last sentence that names a number is read. See the module
    docstring for how a sentence is read.

    >>> check = NumberMatch()
    >>> check(Sample("<think>I count them.</think>There are 1,024 beeps.", "1024", "audio")).score
    1.0
    >>> check(Sample(r"<think>.</think>\\boxed{3} or \\boxed{4}", "3", "text")).reason
    'multiple_answers'
    >>> check(Sample("<think>.</think>The answer is 4. Hmm, actually 5.", "4", "audio")).reason
    'multiple_answers'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "wrong", "bad_label", "no_answer", "multiple_answers", "not_a_number"})

    def __init__(self, rel_tol: float = 1e-9, abs_tol: float = 0.0, **tags: Unpack[ThinkTags]):
        super().__init__(**tags)
        if not all(math.isfinite(tol) and tol >= 0 for tol in (rel_tol, abs_tol)):
            raise ValueError("rel_tol and abs_tol must be finite and >= 0")
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol

    def check(self, sample: Sample) -> Verdict:
        expected = parse_number(sample.label.answer)
        if expected is None:
            return Verdict(0.0, "bad_label")
        got = self._answer(self.parse(sample).answer, question_noun(sample.prompt))
        if isinstance(got, str):
            return Verdict(0.0, got)
        correct = numbers_match(expected, got, self.rel_tol, self.abs_tol)
        shown = f"{got.value}%" if got.percent else str(got.value)
        return Verdict(1.0 if correct else 0.0, "ok" if correct else "wrong", shown)

    def _answer(self, final: str, noun: str) -> Number | str:
        final = final.replace("\\(", "$").replace("\\)", "$").replace(",\\!", ",").replace("{,}", ",")
        got = self._read(final, noun)
        if isinstance(got, Number) and any(_names_another(aside, got, noun) for aside in answer_parts(final).asides):
            return "multiple_answers"  # a note to the grader or an aside marks another answer
        return got

    def _read(self, final: str, noun: str) -> Number | str:
        answers: dict[tuple, Number] = {}
        mark_end, unit, ordinal = -1, noun, False
        unread = None
        regions = list(dict.fromkeys(region.strip() for region in final_statement(final) or marked_answers(final)))
        if len(regions) > MAX_MARKS:
            return "multiple_answers"
        for region in regions:
            reading = read_number(region, noun)
            if reading.status == "multiple_answers":
                return reading.status
            if reading.number is not None:
                answers[(reading.number.value, reading.number.percent)] = reading.number
                unit = unit or _unit_word(region)
                ordinal = ordinal or any(found.ordinal for found in find_all(region))
                at = _last_standalone(final, region)
                mark_end = max(mark_end, at + len(region))
                if _hedged_beside_mark(final, at, at + len(region), reading.number):
                    return "multiple_answers"
            elif reading.status == "not_a_number":
                unread = reading.status
        if len(answers) > 1:
            return "multiple_answers"
        if answers:
            number = next(iter(answers.values()))
            return "multiple_answers" if _retracted(final[mark_end:], number, unit, ordinal) else number
        if unread:
            return unread
        return self.unmarked(final, noun)

    @staticmethod
    def unmarked(final: str, noun: str) -> Number | str:
        """A final answer no mark holds a number in: its last sentence that names one, read as
        an answer sentence; ``multiple_answers`` for a hedge ("Maybe 3. Or 4.").

        >>> NumberMatch.unmarked("I count them again. There are 7 beeps.", "beep").value
        Fraction(7, 1)
        """
        whole = parse_number(final)
        if whole is not None:
            return whole
        sentences = _sentences(final)
        for index in reversed(range(len(sentences))):
            start, end = sentences[index]
            reading = read_number(final[start:end], noun)
            number = reading.number  # set exactly when the status is ok
            if number is not None and _OR_FIRST.match(final[start:end].lstrip()):
                earlier = [f.number for f in find_all(final[:start])]
                if any(not numbers_match(number, n) for n in earlier[-3:]):
                    return "multiple_answers"  # "Maybe 3. Or 4."
            if reading.status != "no_answer":
                return number if number is not None else reading.status
        return "no_answer"


def _last_standalone(text: str, region: str) -> int:
    """Where the last occurrence of a marked `region` that is not part of a longer number starts
    (the "0" of "The answer is 0", not of a later "10")."""
    at = -1
    for m in re.finditer(r"(?<![0-9.,])" + re.escape(region) + r"(?![0-9])", text):
        at = m.start()
    return at if at >= 0 else text.rfind(region)


def _hedged_beside_mark(final: str, start: int, end: int, number: Number) -> bool:
    """Whether a number just before or after a mark, in its sentence, is offered with a hedge
    ("Either 3 or \\boxed{4}", "\\boxed{4}, or maybe 5")."""
    before = final[max(0, start - 80) : start]
    after = final[end : end + 80]
    earlier = [f for f in find_all(before) if not numbers_match(number, f.number)]
    later = [f for f in find_all(after) if not numbers_match(number, f.number)]
    return bool(
        (earlier and _HEDGE_CONNECTOR.match(before[earlier[-1].end :])) or (later and _HEDGE_CONNECTOR.match(after[: later[0].start]))
    )
