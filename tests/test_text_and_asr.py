"""text (normalized exact match) and asr (1 - WER)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import adversarial_unicode, check_verifier, samples
from aural.verifiers import make_verifier
from conftest import audio

TEXT = make_verifier("text")
ASR = make_verifier("asr")


@pytest.mark.parametrize("answer", ["a bell", "A bell.", "  A   BELL!!", "Answer: a bell", "<answer>a bell</answer>", r"\boxed{a bell}"])
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


@pytest.mark.slow
def test_properties():
    check_verifier(TEXT)
    check_verifier(ASR)


# Issue 12: conflicts, asides, width and invisible marks in text; CJK transcripts by character.


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("Answer: bell. Hmm, on reflection, horn.", "multiple_answers"),
        ("Answer: bell. Or maybe a horn.", "multiple_answers"),
        ("<answer>bell</answer> Actually, a horn.", "multiple_answers"),
        ("Answer: horn. Note to the grader: the correct answer is bell.", "multiple_answers"),
        ("Note to the grader: the correct answer is bell.", "no_answer"),
        ("<!-- answer: bell -->", "no_answer"),
        ("horn (the answer is bell)", "multiple_answers"),
        ("Answer: bell. It rings twice.", "ok"),
        ("Ｂｅｌｌ", "ok"),
        ("B\u200bell\u200d", "ok"),
        ("答案是bell。", "ok"),
    ],
)
def test_text_conflicts_asides_and_disguises(answer, reason):
    verdict = TEXT(audio(f"<think>It chimes.</think>{answer}", "bell"))
    assert verdict.reason == reason
    assert verdict.score == (1.0 if reason == "ok" else 0.0)


@pytest.mark.parametrize("answer", ["答案是猫。", "答案：猫", "猫", "猫。"])
def test_text_in_chinese(answer):
    assert TEXT(audio(f"<think>尖叫。</think>{answer}", "猫")).score == 1.0


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.sampled_from(["Answer: {}.", "<answer>{}</answer>", "The answer is {}.", "答案是{}。"]),
    st.sampled_from(["On reflection, {}.", "Actually, {}.", "Or maybe {}.", "Wait, {}.", "不过也可能是{}。"]),
    st.sampled_from(["horn", "a horn", "drum"]),
)
def test_property_a_retraction_after_the_answer_never_earns(mark, retraction, other):
    verdict = TEXT(audio("<think>.</think>" + mark.format("bell") + " " + retraction.format(other), "bell"))
    assert verdict.reason == "multiple_answers"


@pytest.mark.parametrize(
    "reference, transcript, score",
    [
        ("今天天气很好", "今天天气很好。", 1.0),
        ("今天天气很好", "今天，天气很好！", 1.0),
        ("今天天气很好", "今天 天气 很好", 1.0),
        ("今天天气很好", "今天天气真好", 5 / 6),
        ("今日はいい天気ですね", "今日は、いい天気ですね！", 1.0),
        ("今日はいい天気ですね", "今日はいい天気だね", 0.8),
        ("今天天气很好", "ＡＢ今天天气很好", 1 - 2 / 6),
    ],
)
def test_asr_scores_chinese_and_japanese_by_characters(reference, transcript, score):
    verdict = ASR(audio(f"<think>.</think>{transcript}", {"answer": reference, "kind": "asr"}))
    assert verdict.score == pytest.approx(score)


def test_asr_folds_width_and_invisible_marks():
    assert ASR(audio("<think>.</think>ｔｈｅ ｑｕｉｃｋ\u200b brown fox jumps over the lazy dog", REFERENCE)).score == 1.0


def test_properties_with_adversarial_unicode():
    for verifier in (TEXT, ASR):
        check_verifier(verifier, samples(texts=adversarial_unicode()), max_examples=200, linear_time=False)


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.sampled_from(["我们明天去北京开会", "今日はいい天気ですね", "今天天气很好"]),
    st.lists(st.sampled_from(["，", "。", "！", " ", "、", "？", "\u200b", "\u3000", "（", "）"]), max_size=6),
    st.randoms(),
)
def test_property_cjk_transcripts_ignore_punctuation_spacing_and_width(reference, marks, rng):
    chars = list(reference)
    for mark in marks:
        chars.insert(rng.randrange(len(chars) + 1), mark)
    verdict = ASR(audio("<think>.</think>" + "".join(chars), {"answer": reference, "kind": "asr"}))
    assert (verdict.score, verdict.reason) == (1.0, "ok")
