"""Transcription answers scored by word error rate, or character error rate for Chinese and Japanese."""

from __future__ import annotations

from typing import ClassVar

import jiwer

from .marked import answer_tags, boxed
from .normalize import fold_answer, has_cjk, normalize_text
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink


@register("asr")
class Transcript(ReadsThink):
    """``max(0, 1 - WER)`` of the transcript against the label, after normalization.

    The transcript is what the final answer boxes or puts in answer tags, else
    all of it (answer phrases are not read: a transcript may say "the answer is").
    References in Han, kana or Hangul script are scored by character error rate over
    their characters, spaces and punctuation removed and widths folded: unsegmented
    text has no words to count. A hypothesis of at least twice the reference's length
    (words, or characters) has an error rate >= 1, so it scores 0 without an alignment:
    the cost stays linear in its length.

    >>> check = Transcript()
    >>> check(Sample("<think>Clear voice.</think>The cat sat on the mat.", "the cat sat on the mat", "audio")).score
    1.0
    >>> round(check(Sample("<think>.</think>the cat sat on a mat", "the cat sat on the mat", "audio")).score, 3)
    0.833
    >>> check(Sample("<think>.</think>今天天气很好！", {"answer": "今天 天气很好。", "kind": "asr"}, "audio")).score
    1.0
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "partial", "wrong", "no_answer", "bad_label"})

    def check(self, sample: Sample) -> Verdict:
        by_char = has_cjk(sample.label.answer)
        reference = _units(sample.label.answer, by_char)
        final = fold_answer(self.parse(sample).answer)
        regions = boxed(final) + answer_tags(final) or [final]
        hypothesis = _units(" ".join(regions), by_char)
        if not hypothesis:
            return Verdict(0.0, "no_answer")
        if not reference:
            return Verdict(0.0, "bad_label")
        shown = ("" if by_char else " ").join(hypothesis)
        if len(hypothesis) >= 2 * len(reference):
            return Verdict(0.0, "wrong", shown[:200])
        error = jiwer.cer("".join(reference), shown) if by_char else jiwer.wer(" ".join(reference), shown)
        score = max(0.0, 1.0 - error)
        return Verdict(score, "ok" if score == 1.0 else "partial" if score > 0 else "wrong", shown)


def _units(text: str, by_char: bool) -> list[str]:
    """The words of `text` after normalization, or its characters when `by_char`."""
    words = normalize_text(text).split()
    return list("".join(words)) if by_char else words
