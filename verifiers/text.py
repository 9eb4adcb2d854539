"""Short free-text answers: normalized exact match."""

from __future__ import annotations

from typing import ClassVar, Unpack

from .marked import marks_within, retracts
from .normalize import normalize_text
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink, ThinkTags


@register("text")
class TextMatch(ReadsThink):
    """1.0 when the answer equals the label up to case, width, punctuation and whitespace.

    Marked answers are read when present (and must agree); otherwise the whole
    final answer, less its asides, is the answer. A marked answer followed by a retraction
    or hedge ("Hmm, on reflection, a horn"), or beside a note to a grader or an aside that
    marks another answer, is conflicting (``multiple_answers``).

    >>> check = TextMatch()
    >>> check(Sample("<think>It chimes.</think>A  Bell!", "a bell", "audio")).score
    1.0
    >>> [check(Sample(f"<think>.</think>{r}", "bell", "audio")).reason for r in ("Answer: bell. Answer: horn.", "Answer: bell. On reflection, horn.")]
    ['multiple_answers', 'multiple_answers']
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "wrong", "multiple_answers", "no_answer"})

    def __init__(self, strip_articles: bool = False, **tags: Unpack[ThinkTags]):
        super().__init__(**tags)
        self.strip_articles = strip_articles

    def check(self, sample: Sample) -> Verdict:
        expected = normalize_text(sample.label.answer, self.strip_articles)
        parts = self.answer_parts(sample)
        answers = {normalize_text(region, self.strip_articles) for region in parts.marks or [parts.main]}
        answers.discard("")
        if not answers:
            return Verdict(0.0, "no_answer")
        others = {normalize_text(mark, self.strip_articles) for aside in parts.asides for mark in marks_within(aside)}
        others.discard("")
        if len(answers | others) > 1 or (parts.marks and retracts(parts.after)):
            return Verdict(0.0, "multiple_answers", " | ".join(sorted(answers | others)))
        (got,) = answers
        return Verdict(1.0 if got == expected else 0.0, "ok" if got == expected else "wrong", got)
