"""Transcription answers scored by word error rate."""

from __future__ import annotations

import jiwer

from .marked import answer_tags, boxed
from .normalize import normalize_text
from .registry import register
from .think import ReadsThink
from .schema import Sample, Verdict


@register("asr")
class Transcript(ReadsThink):
    """``max(0, 1 - WER)`` of the transcript against the label, after normalization.

    The transcript is what the final answer boxes or puts in answer tags, else
    all of it (answer phrases are not read: a transcript may say "the answer is"). A hypothesis of at least twice the reference's words has WER >= 1,
    so it scores 0 without an alignment: the cost stays linear in its length.

    >>> check = Transcript()
    >>> check(Sample("<think>Clear voice.</think>The cat sat on the mat.", "the cat sat on the mat", "audio")).score
    1.0
    >>> round(check(Sample("<think>.</think>the cat sat on a mat", "the cat sat on the mat", "audio")).score, 3)
    0.833
    """

    def check(self, sample: Sample) -> Verdict:
        reference = normalize_text(sample.label.answer)
        final = self.parse(sample).answer
        regions = boxed(final) + answer_tags(final) or [final]
        hypothesis = " ".join(normalize_text(region) for region in regions).strip()
        if not hypothesis:
            return Verdict(0.0, "no_answer")
        if not reference:
            return Verdict(0.0, "bad_label")
        if len(hypothesis.split()) >= 2 * len(reference.split()):
            return Verdict(0.0, "wrong", hypothesis[:200])
        score = max(0.0, 1.0 - jiwer.wer(reference, hypothesis))
        return Verdict(score, "ok" if score == 1.0 else "partial" if score > 0 else "wrong", hypothesis)
