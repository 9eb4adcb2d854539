"""acoustic_grounding, coherence and self_cognition: hand-written grounded and surrogate reasoning, and properties."""

import pytest

from aural.testing import check_verifier
from aural.verifiers import make_verifier
from conftest import audio

GROUNDING = make_verifier("acoustic_grounding")
COHERENCE = make_verifier("coherence")
SELF_COGNITION = make_verifier("self_cognition")

GROUNDED = [
    "The first tone sits near 440 Hz; the second is an octave higher, so its pitch is higher.",
    "I count four short beeps with equal gaps of silence between the onsets.",
    "The voice is tense and loud, the tempo fast, with emphasis on stressed syllables: anger.",
    "Under the speech there is a steady broadband hiss, like rain; the background noise never stops.",
    "音调先升后降，音色明亮，节奏稳定。",
]
SURROGATE = [
    "The transcript says 'one two three', so the answer is three.",
    "Based on the transcript, the speaker is talking about the weather.",
    "The text says he is angry, so the emotion is angry.",
    "According to the text, the second option is correct.",
]
UNGROUNDED = ["The answer is obviously B because it makes the most sense.", "Let me think. Option A seems wrong. So B."]


@pytest.mark.parametrize("reasoning", GROUNDED)
def test_grounded_reasoning_passes_with_its_cues(reasoning):
    verdict = GROUNDING(audio(f"<think>{reasoning}</think>(B)", "B"))
    assert (verdict.score, verdict.reason) == (1.0, "ok"), verdict.details
    assert len(verdict.details["cues"]) >= 2 and verdict.details["surrogates"] == []


@pytest.mark.parametrize("reasoning", SURROGATE)
def test_transcript_reasoning_fails_and_names_the_surrogate(reasoning):
    verdict = GROUNDING(audio(f"<think>{reasoning}</think>(B)", "B"))
    assert (verdict.score, verdict.reason) == (0.0, "transcript_reasoning")
    assert verdict.details["surrogates"]


@pytest.mark.parametrize("reasoning", UNGROUNDED)
def test_reasoning_without_acoustic_evidence_fails(reasoning):
    assert GROUNDING(audio(f"<think>{reasoning}</think>(B)", "B")).reason == "no_acoustic_evidence"


def test_grounding_reads_only_the_reasoning_and_its_lexicon_extends(tmp_path):
    assert GROUNDING(audio("The pitch is high and loud.", "B")).reason == "no_reasoning"
    assert GROUNDING(audio("<think>The answer is B.</think>The pitch is high and loud.", "B")).reason == "no_acoustic_evidence"
    mine = tmp_path / "birds.toml"
    mine.write_text('[cues]\nbirdsong = ["trill", "chirp", "warble"]\n')
    birds = make_verifier("acoustic_grounding", lexicon=str(mine), min_categories=1)
    verdict = birds(audio("<think>A fast trill, then a chirp.</think>(B)", "B"))
    assert verdict.reason == "ok" and verdict.details["categories"] == ["birdsong"]
    strict = make_verifier("acoustic_grounding", min_categories=3)
    assert strict(audio(f"<think>{GROUNDED[0]}</think>(B)", "B")).reason == "no_acoustic_evidence"


def test_terms_in_other_scripts_match_whatever_their_case(tmp_path):
    mine = tmp_path / "deutsch.toml"
    mine.write_text('[cues]\nstimme = ["Tonhöhe", "ÄCHZEN"]\n[surrogates]\ntext = ["Übersetzung"]\n', encoding="utf-8")
    german = make_verifier("acoustic_grounding", lexicon=str(mine))
    verdict = german(audio("<think>Die TONHÖHE steigt, ein ächzen.</think>(B)", "B"))
    assert (verdict.reason, verdict.details["categories"]) == ("ok", ["stimme"])
    assert verdict.details["cues"] == ["tonhöhe", "ächzen"]
    assert german(audio("<think>Laut der übersetzung: tonhöhe.</think>(B)", "B")).reason == "transcript_reasoning"


def test_coherence_bounds_and_repetition():
    assert COHERENCE(audio(f"<think>{GROUNDED[2]}</think>(B)", "B")).reason == "ok"
    assert COHERENCE(audio("<think>B.</think>(B)", "B")).reason == "too_short"
    looping = COHERENCE(audio("<think>" + "so the pitch rises and " * 50 + "</think>(B)", "B"))
    assert looping.reason == "repetitive" and looping.details["repetition"] > 0.9
    short = make_verifier("coherence", max_words=10)
    assert short(audio(f"<think>{GROUNDED[2]}</think>(B)", "B")).reason == "too_long"
    with pytest.raises(ValueError):
        make_verifier("coherence", max_repetition=2.0)


@pytest.mark.parametrize(
    "response",
    [
        "I'm sorry, but I can only read text and cannot listen to audio.",
        "As a text-based AI model, I cannot hear the recording you provided.",
        "I cannot listen to the audio clip, but it might be a dog.",
        "I am unable to process audio files.",
        "I don't have the ability to hear sounds.",
        "I'm a text-only language model.",
        "抱歉，我无法听音频，只能回答文字问题。",
        "我只能处理文本。",
        "作为一个语言模型，我听不到声音。",
    ],
)
def test_denials_of_the_audio_are_caught(response):
    verdict = SELF_COGNITION(audio(response, "B"))
    assert (verdict.score, verdict.reason) == (0.0, "denies_audio") and verdict.extracted


@pytest.mark.parametrize(
    "response",
    [
        "<think>The tone rises; I can hear a second, higher tone.</think>(B)",
        "I cannot tell which is louder from this description alone, but the pitch rises: (B).",
        "The speaker says she can only read text messages, not emails.",
        "我不能处理这个请求里的第二个问题，但答案是B。",
    ],
)
def test_answers_that_use_the_audio_pass(response):
    assert SELF_COGNITION(audio(response, "B")).reason == "ok"


@pytest.mark.slow
def test_properties():
    check_verifier(GROUNDING)
    check_verifier(COHERENCE)
    check_verifier(SELF_COGNITION)
