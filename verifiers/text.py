"""Short free-text answers: normalized exact match."""

from __future__ import annotations

from .normalize import normalize_text
from .registry import register
from .think import ReadsThink
from .schema import Sample, Verdict


@register("text")
class TextMatch(ReadsThink):
    """1.0 when the answer equals the label up to case, punctuation and whitespace.

    Marked answers are read when present (and must agree); otherwise the whole
    final answer is the answer.

    >>> check = TextMatch()
    >>> check(Sample("<think>It chimes.</think>A  Bell!", "a bell", "audio")).score
    1.0
    >>> check(Sample("<think>.</think>Answer: bell. Answer: horn.", "bell", "audio")).reason
    'multiple_answers'
    """

    def __init__(self, strip_articles: bool = False, **tags: str | bool):
        super().__init__(**tags)
        self.strip_articles = strip_articles

    def check(self, sample: Sample) -> Verdict:
        expected = normalize_text(sample.label.answer, self.strip_articles)
        answers = {normalize_text(region, self.strip_articles) for region in self.answer_regions(sample)}
        answers.discard("")
        if not answers:
            return Verdict(0.0, "no_answer")
        if len(answers) > 1:
            return Verdict(0.0, "multiple_answers", " | ".join(sorted(answers)))
        (got,) = answers
        return Verdict(1.0 if got == expected else 0.0, "ok" if got == expected else "wrong", got)
