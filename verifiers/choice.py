"""Multiple-choice answers, as in MMAU and MMSU: a letter, the option text, or both."""

from __future__ import annotations

import bisect
import re
import string
from functools import lru_cache

from .marked import marked_answers
from .normalize import normalize_text
from .registry import register
from .think import ReadsThink
from .schema import Sample, Verdict

LETTERS = string.ascii_uppercase[:10]
# Words after a bare "A" or "I" that show it names an option ("A or B") rather than
# being the English article or pronoun ("A dog barks", "I hear").
_OPTION_FOLLOWERS = frozenset(
    "or and nor is was seems sounds fits matches would could might must vs versus".split()
)
_BRACKETED = re.compile(r"(?<![\w\\])[(\[]\s?([A-Ja-j])\s?[)\]](?![\w])")
_BARE = re.compile(r"(?<![\w'’\-\\])([A-J])(?![\w'’\-])")
_NEXT_WORD = re.compile(r"\s+(\w+)")
# Case-blind for "Option"/"Choice" only: the letter itself must be ASCII ("İ" folds to "i").
_LONE = re.compile(r"[\s*_`()\[\]{}.:]*(?:(?:option|choice)\s+)?\(?((?-i:[A-Ja-j]))\)?[\s*_`().:]*", re.IGNORECASE)
_LEADING_LETTER = re.compile(r"^\s*\(?[A-Ja-j][).:]\s+")


@lru_cache(maxsize=256)
def _option_pattern(option: str) -> re.Pattern[str] | None:
    words = normalize_text(_LEADING_LETTER.sub("", option)).split()
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"[\W_]+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


def named_options(text: str, choices: tuple[str, ...] | None, count: int) -> set[int]:
    """The indices of the options `text` names, by letter or by option text.

    >>> named_options("The answer is (B) a cat.", ("a dog", "a cat"), 2)
    {1}
    >>> sorted(named_options("Either A or B.", ("a dog", "a cat"), 2))
    [0, 1]
    >>> named_options("A dog is barking.", ("a dog", "a cat"), 2)
    {0}
    """
    lone = _LONE.fullmatch(text)
    if lone and LETTERS.index(lone.group(1).upper()) < count:
        return {LETTERS.index(lone.group(1).upper())}
    spans: list[tuple[int, int, int]] = []
    for index, option in enumerate(choices or ()):
        pattern = _option_pattern(option)
        if pattern is not None:
            spans.extend((m.start(), m.end(), index) for m in pattern.finditer(text))
    spans = _outermost(spans)
    named = {index for _, _, index in spans}
    starts = [start for start, _, _ in spans]

    def add_letter(letter: str, at: int) -> None:
        inside = bisect.bisect_right(starts, at) - 1
        if LETTERS.index(letter) < count and (inside < 0 or at >= spans[inside][1]):
            named.add(LETTERS.index(letter))

    for m in _BRACKETED.finditer(text):
        add_letter(m.group(1).upper(), m.start())
    for m in _BARE.finditer(text):
        if m.group(1) in "AI":
            follower = _NEXT_WORD.match(text, m.end(), m.end() + 40)
            if follower and follower[1][0].islower() and follower[1] not in _OPTION_FOLLOWERS:
                continue  # the article "A" or the pronoun "I"
        add_letter(m.group(1), m.start())
    return named


def _outermost(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Drop option matches that lie inside a longer match ("cat" inside "black cat")."""
    kept: list[tuple[int, int, int]] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if kept and span[1] <= kept[-1][1]:
            continue
        kept.append(span)
    return kept


def label_index(answer: str, choices: tuple[str, ...] | None) -> int | None:
    """The option a label means, given as a letter or as the option text.

    >>> label_index("(B)", None), label_index("A Cat", ("a dog", "a cat")), label_index("a cow", ("a dog",))
    (1, 1, None)
    """
    lone = _LONE.fullmatch(answer)
    if lone and (choices is None or LETTERS.index(lone.group(1).upper()) < len(choices)):
        return LETTERS.index(lone.group(1).upper())
    wanted = normalize_text(answer)
    for index, option in enumerate(choices or ()):
        if normalize_text(_LEADING_LETTER.sub("", option)) == wanted:
            return index
    return None


@register("choice")
class Choice(ReadsThink):
    """Multiple choice: 1.0 when the final answer names exactly the labelled option.

    Only the final answer is read. When it marks an answer (boxed, answer tags,
    ``Answer:``) naming an option, only the marked parts count. Naming two different options
    scores 0 (``multiple_answers``); naming none scores 0 (``no_answer``). A label that
    names no option, or has more than ten choices (A to J), scores 0 (``bad_label``).

    >>> label = {"answer": "B", "choices": ["a dog", "a cat", "rain"]}
    >>> check = Choice()
    >>> [check(Sample(r, label, "audio")).score for r in ("<think>meow</think>**B**", "<think>meow</think>a cat")]
    [1.0, 1.0]
    >>> check(Sample("<think>hmm</think>A or B", label, "audio")).reason
    'multiple_answers'
    """

    def check(self, sample: Sample) -> Verdict:
        label = sample.label
        if label.choices and len(label.choices) > len(LETTERS):
            problem = f"{len(label.choices)} choices; at most {len(LETTERS)} (A to J)"
            return Verdict(0.0, "bad_label", details={"problem": problem})
        expected = label_index(label.answer, label.choices)
        if expected is None:
            return Verdict(0.0, "bad_label")
        count = len(label.choices) if label.choices else len(LETTERS)
        final = self.parse(sample).answer
        named: set[int] = set()
        for region in marked_answers(final):
            named |= named_options(region, label.choices, count)
        if not named:  # nothing marked, or the marks name no option ("Answer: hard to say. B.")
            named = named_options(final, label.choices, count)
        if not named:
            return Verdict(0.0, "no_answer")
        if len(named) > 1:
            return Verdict(0.0, "multiple_answers", ",".join(LETTERS[i] for i in sorted(named)))
        (got,) = named
        return Verdict(1.0 if got == expected else 0.0, "ok" if got == expected else "wrong", LETTERS[got])
