"""text (normalized exact match) and asr (1 - WER)."""

import pytest

from aural.testing import check_verifier
from aural.verifiers import make_verifier
from conftest import audio

TEXT = make_verifier("text")
ASR = make_verifier("asr")


@pytest.mark.parametrize(
    "answer", ["a bell", "A bell.", "  A   BELL!!", "Answer: a bell", "<answer>a bell</answer>", r"\boxed{a bell}"]
)
def test_text_ignores_case_punctuation_and_spacing(answer):
    assert TEXT(audio(f"<think>It chimes.</think>{answer}", "a bell")).score == 1.0


@pytest.mark.parametrize(
    "answer, reason",
    [("a horn", "wrong"), ("a bell ringing", "wrong"), ("", "no_answer"), ("Answer: bell. Answer: horn.", "multiple_answers")],
)
def test_text_rejects(answer, reason):
    verdict = TEXT(audio(f"<think>It chimes.</think>{answer}", "bell"))
    assert (verdict.score, verdict.reason) == (0.0, reason)


def test_text_can_drop_articles():
    lenient = make_verifier("text", strip_articles=True)
    assert lenient(audio("<think>.</think>The bell", "a bell")).score == 1.0
    assert TEXT(audio("<think>.</think>The bell", "a bell")).score == 0.0


REFERENCE = {"answer": "the quick brown fox jumps over the lazy dog", "kind": "asr"}


def test_asr_perfect_and_partial_transcripts():
    perfect = ASR(audio("<think>A clear male voice.</think>The quick brown fox jumps over the lazy dog.", REFERENCE))
    assert (perfect.score, perfect.reason) == (1.0, "ok")
    one_error = ASR(audio("<think>.</think>the quick brown fox jumped over the lazy dog", REFERENCE))
    assert one_error.score == pytest.approx(1 - 1 / 9)
    assert one_error.reason == "partial"


def test_asr_reads_a_boxed_or_tagged_transcript_but_not_answer_phrases():
    tagged = ASR(audio("<think>.</think>Transcript: <answer>the quick brown fox jumps over the lazy dog</answer>", REFERENCE))
    assert tagged.score == 1.0
    spoken = {"answer": "the answer is blowing in the wind", "kind": "asr"}
    assert ASR(audio("<think>.</think>The answer is blowing in the wind.", spoken)).score == 1.0


def test_asr_score_is_never_negative_and_long_outputs_score_zero():
    rambling = ASR(audio("<think>.</think>" + "noise " * 50, REFERENCE))
    assert (rambling.score, rambling.reason) == (0.0, "wrong")
    assert ASR(audio("<think>.</think>", REFERENCE)).reason == "no_answer"


def test_properties():
    check_verifier(TEXT)
    check_verifier(ASR)
