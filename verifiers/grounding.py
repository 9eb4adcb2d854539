"""Acoustic grounding: does the reasoning cite what was heard, not an imagined transcript?"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Unpack

from .lexicon import TermMatcher, load_lexicon
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink, ThinkTags


@register("acoustic_grounding")
class AcousticGrounding(ReadsThink):
    """1.0 when the reasoning names at least `min_cues` acoustic cues from
    `min_categories` categories (pitch, timbre, rhythm, loudness, timing, background,
    voice quality, emotion cues) and no transcript surrogate ("the text says",
    "based on the transcript"…). The verdict's details list both.

    >>> check = AcousticGrounding()
    >>> grounded = "<think>A high-pitched tone, then a lower one after a short gap.</think>(A)"
    >>> check(Sample(grounded, "A", "audio")).reason
    'ok'
    >>> check(Sample("<think>The transcript says 'first'.</think>(A)", "A", "audio")).reason
    'transcript_reasoning'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "no_reasoning", "transcript_reasoning", "no_acoustic_evidence"})

    def __init__(self, min_cues: int = 2, min_categories: int = 1, lexicon: str | Path | None = None, **tags: Unpack[ThinkTags]):
        super().__init__(**tags)
        words = load_lexicon("acoustic_grounding", lexicon)
        self.min_cues, self.min_categories = min_cues, min_categories
        self._category = {term.casefold(): category for category, terms in words["cues"].items() for term in terms}
        self._cues = TermMatcher(list(self._category))
        self._surrogates = TermMatcher([t for terms in words["surrogates"].values() for t in terms])

    def check(self, sample: Sample) -> Verdict:
        parsed = self.parse(sample)
        if parsed.status != "ok" and not parsed.reasoning:
            return Verdict(0.0, "no_reasoning")
        cues = sorted(self._cues.find(parsed.reasoning))
        categories = sorted({self._category[c] for c in cues})
        surrogates = sorted(self._surrogates.find(parsed.reasoning))
        details = {"cues": cues, "categories": categories, "surrogates": surrogates}
        if surrogates:
            return Verdict(0.0, "transcript_reasoning", ", ".join(surrogates), details=details)
        if len(cues) < self.min_cues or len(categories) < self.min_categories:
            return Verdict(0.0, "no_acoustic_evidence", ", ".join(cues) or None, details=details)
        return Verdict(1.0, "ok", ", ".join(cues), details=details)
