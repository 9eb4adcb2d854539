"""Coherence of the reasoning: a word count within bounds and no degenerate repetition."""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar, Unpack

from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink, ThinkTags

_WORD = re.compile(r"\w+", re.UNICODE)


def repetition_rate(words: list[str], n: int = 4) -> float:
    """The share of word n-grams that repeat an earlier one (0: all distinct; near 1: a loop).

    >>> repetition_rate("the tone rises then falls".split()), round(repetition_rate(("a b c d " * 10).split()), 2)
    (0.0, 0.89)
    """
    if len(words) < n:
        return 0.0
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = len(words) - n + 1
    return (total - len(grams)) / total


@register("coherence")
class Coherence(ReadsThink):
    """1.0 when the reasoning has between `min_words` and `max_words` words and at most
    `max_repetition` of its `ngram`-grams repeat (degenerate loops score 0).

    >>> check = Coherence()
    >>> check(Sample("<think>First, the tone rises. Then it falls, so the second is lower.</think>(A)", "A", "audio")).reason
    'ok'
    >>> check(Sample("<think>" + "the tone rises and " * 40 + "</think>(A)", "A", "audio")).reason
    'repetitive'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "too_short", "too_long", "repetitive"})

    def __init__(self, min_words: int = 5, max_words: int = 4_000, max_repetition: float = 0.3, ngram: int = 4, **tags: Unpack[ThinkTags]):
        super().__init__(**tags)
        if not 0 <= min_words <= max_words or not 0.0 <= max_repetition <= 1.0 or ngram < 1:
            raise ValueError("need 0 <= min_words <= max_words, 0 <= max_repetition <= 1 and ngram >= 1")
        self.min_words, self.max_words, self.max_repetition, self.ngram = min_words, max_words, max_repetition, ngram

    def check(self, sample: Sample) -> Verdict:
        parsed = self.parse(sample)
        words = [w.lower() for w in _WORD.findall(parsed.reasoning)]
        rate = repetition_rate(words, self.ngram)
        details = {"words": len(words), "repetition": round(rate, 4)}
        if len(words) < self.min_words:
            return Verdict(0.0, "too_short", details=details)
        if len(words) > self.max_words:
            return Verdict(0.0, "too_long", details=details)
        if rate > self.max_repetition:
            return Verdict(0.0, "repetitive", details=details)
        return Verdict(1.0, "ok", details=details)
