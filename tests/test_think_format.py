"""think_format: the strict reasoning grammar, one reason code per failure."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import INVISIBLES, adversarial_unicode, check_verifier, samples
from aural.verifiers import make_verifier, parse_think
from conftest import audio

FORMAT = make_verifier("think_format")


@pytest.mark.parametrize(
    "response, reason",
    [
        ("<think>The pitch rises.</think>The answer is (B).", "ok"),
        ("\n  <think>The pitch rises.</think>\n(B)", "ok"),
        ("The answer is (B).", "no_think"),
        ("The pitch rises.</think>(B)", "no_think"),
        ("Let me think. <think>The pitch rises.</think>(B)", "late_think"),
        ("<think></think>(B)", "empty_think"),
        ("<think> \n\t </think>(B)", "empty_think"),
        ("<think>The pitch rises.", "unclosed_think"),
        ("<think>The pitch <think>rises</think>.</think>(B)", "nested_think"),
        ("<think>a</think><think>b</think>(B)", "multiple_think"),
        ("<think>a</think>(B)</think>", "multiple_think"),
        ("<think>a</think>(B)<think>more</think>", "multiple_think"),
        ("<think>The pitch rises.</think>", "no_answer"),
        ("<think>The pitch rises.</think>  \n ", "no_answer"),
        ("<THINK>The pitch rises.</THINK>(B)", "no_think"),
    ],
)
def test_reason_codes(response, reason):
    verdict = FORMAT(audio(response, "B"))
    assert verdict.reason == reason
    assert verdict.score == (1.0 if reason == "ok" else 0.0)


def test_truncated_response_fails_whatever_its_shape():
    verdict = FORMAT(audio("<think>The pitch rises.</think>(B)", "B", finish_reason="length"))
    assert (verdict.score, verdict.reason) == (0.0, "truncated")


def test_prefilled_prompt_means_the_response_starts_inside_the_block():
    prompt = "<|im_start|>assistant\n<think>\n"
    assert FORMAT(audio("The pitch rises.</think>(B)", "B", prompt=prompt)).reason == "ok"
    assert FORMAT(audio("<think>The pitch rises.</think>(B)", "B", prompt=prompt)).reason == "nested_think"
    assert FORMAT(audio("The pitch rises.</think>(B)", "B")).reason == "no_think"


def test_prefill_can_be_forced_either_way():
    forced = make_verifier("think_format", prefill=True)
    assert forced(audio("The pitch rises.</think>(B)", "B")).reason == "ok"
    never = make_verifier("think_format", prefill=False)
    assert never(audio("The pitch rises.</think>(B)", "B", prompt="<think>")).reason == "no_think"


def test_minimum_reasoning_counts_non_whitespace_characters():
    strict = make_verifier("think_format", min_reasoning_chars=10)
    assert strict(audio("<think>a b c d e f g h i</think>(B)", "B")).reason == "empty_think"  # 9 letters
    assert strict(audio("<think>abcdefghij</think>(B)", "B")).reason == "ok"


def test_tag_names_are_configurable():
    reasoning = make_verifier("think_format", open_tag="<reasoning>", close_tag="</reasoning>")
    assert reasoning(audio("<reasoning>It rises.</reasoning>(B)", "B")).reason == "ok"
    assert reasoning(audio("<think>It rises.</think>(B)", "B")).reason == "no_think"


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        make_verifier("think_format", min_reasoning_chars=-1)
    with pytest.raises(ValueError):
        make_verifier("think_format", open_tag="<t>", close_tag="<t>")
    with pytest.raises(TypeError, match="think_format"):
        make_verifier("think_format", min_chars=3)


def test_parse_splits_reasoning_from_the_final_answer():
    parsed = parse_think("<think>It rises.</think> The answer is (B).")
    assert (parsed.status, parsed.reasoning, parsed.answer) == ("ok", "It rises.", " The answer is (B).")
    assert parse_think("no tags at all").answer == "no tags at all"
    assert parse_think("<think>never closed").answer == ""
    assert parse_think("<think>a</think>first<think>b</think>last").answer == "last"


def test_properties():
    check_verifier(FORMAT)


# Issue 12: reasoning must hold visible letters or digits.
INVISIBLE_REASONING = [
    "\u200b\u200b\u200b",
    "\u2060\u2060",
    "\ufeff",
    "\u202e\u202d\u2066\u2069",
    "\u200e\u200f",
    "\u2800\u2800\u2800",
    "\u3164\u3164",
    "\u115f\u1160",
    "\uffa0",
    "\u00ad\u034f\u180e",
    "\ufe0f\U000e0041",
    "\u3000\u00a0\u2003",
    "...",
    "?!",
]


@pytest.mark.parametrize("reasoning", INVISIBLE_REASONING)
def test_invisible_or_letterless_reasoning_earns_no_format_credit(reasoning):
    verdict = FORMAT(audio(f"<think>{reasoning}</think>(B)", "B"))
    assert (verdict.score, verdict.reason) == (0.0, "empty_think")


@pytest.mark.parametrize("reasoning", ["\u200bI\u200b", "1", "声音尖", "高い", "소리", "The pitch rises\u200b."])
def test_any_visible_letter_or_digit_is_reasoning(reasoning):
    assert FORMAT(audio(f"<think>{reasoning}</think>(B)", "B")).reason == "ok"


def test_minimum_counts_only_visible_characters():
    strict = make_verifier("think_format", min_reasoning_chars=5)
    assert strict(audio("<think>ab\u200b\u200b\u200b\u3164\u2800</think>(B)", "B")).reason == "empty_think"
    assert strict(audio("<think>abcde</think>(B)", "B")).reason == "ok"


def test_an_invisible_answer_is_no_answer():
    assert FORMAT(audio("<think>The pitch rises.</think>\u200b\u3164", "B")).reason == "no_answer"


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from(INVISIBLES + ("\u3000", " ", "\n", ".", "*")), min_size=1, max_size=60).map("".join))
def test_property_reasoning_without_visible_letters_never_earns(reasoning):
    assert FORMAT(audio(f"<think>{reasoning}</think>(B)", "B")).score == 0.0


def test_properties_with_adversarial_unicode():
    check_verifier(FORMAT, samples(texts=adversarial_unicode()), max_examples=300, linear_time=False)
