"""choice: letters, option texts, or both; one named option or nothing."""

import pytest

from aural.testing import check_verifier
from aural.verifiers import make_verifier
from conftest import CHOICES, audio

CHOICE = make_verifier("choice")


@pytest.mark.parametrize(
    "answer",
    [
        "B",
        "(B)",
        "B.",
        "B)",
        "**B**",
        r"\boxed{B}",
        r"$\boxed{B}$",
        "<answer>B</answer>",
        "Answer: B",
        "**Answer:** B",
        "The answer is B",
        "The answer is (B).",
        "The correct option is B, a cat meowing.",
        "Final answer: (B) a cat meowing",
        "a cat meowing",
        "It is a cat meowing.",
        "A CAT MEOWING!",
        "b",
        "(b)",
        "Option B",
        "I think it's B.",
        "I hear a cat meowing in the clip.",
    ],
)
def test_accepts_the_usual_forms_of_the_right_answer(answer, choice_label):
    verdict = CHOICE(audio(f"<think>A short high cry.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason, verdict.extracted) == (1.0, "ok", "B")


@pytest.mark.parametrize(
    "answer, extracted",
    [("A", "A"), ("(C)", "C"), ("a dog barking", "A"), (r"\boxed{D}", "D"), ("The answer is rain on a roof.", "C")],
)
def test_a_wrong_option_scores_zero(answer, extracted, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason, verdict.extracted) == (0.0, "wrong", extracted)


@pytest.mark.parametrize(
    "answer",
    [
        "A or B",
        "Either (A) or (B).",
        "A, B, C, D",
        "(A) (B) (C) (D)",
        "It is a dog barking or a cat meowing.",
        r"\boxed{A} \boxed{B}",
        "<answer>A</answer><answer>B</answer>",
        "The answer is A. Actually, the answer is B.",
        "The answer is (B) a dog barking.",
    ],
)
def test_naming_several_options_scores_zero(answer, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason) == (0.0, "multiple_answers")


@pytest.mark.parametrize("answer", ["", "   ", "I am not sure.", "None of these.", "E", "(F)"])
def test_naming_no_option_scores_zero(answer, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason) == (0.0, "no_answer")


def test_only_the_final_answer_is_read(choice_label):
    # The right option inside the reasoning does not count...
    assert CHOICE(audio("<think>Is it B? No.</think>(A)", choice_label)).extracted == "A"
    assert CHOICE(audio("<think>The answer is B.</think>", choice_label)).reason == "no_answer"
    # ...nor do options the reasoning weighed and dropped.
    assert CHOICE(audio("<think>A or C or D?</think>(B)", choice_label)).score == 1.0


def test_a_marked_answer_is_read_alone(choice_label):
    response = "<think>.</think>Not a dog barking, so the answer is (B)."
    assert CHOICE(audio(response, choice_label)).score == 1.0


def test_marks_that_name_no_option_leave_the_whole_answer_to_read(choice_label):
    assert CHOICE(audio("<think>.</think>This choice is tricky. I pick B.", choice_label)).extracted == "B"


def test_article_and_pronoun_are_not_letters(choice_label):
    assert CHOICE(audio("<think>.</think>A cat meowing, I believe.", choice_label)).extracted == "B"
    assert CHOICE(audio("<think>.</think>I hear option B.", choice_label)).extracted == "B"


def test_label_may_be_the_option_text_or_a_letter_without_choices():
    by_text = {"answer": "a cat meowing", "choices": CHOICES}
    assert CHOICE(audio("<think>.</think>(B)", by_text)).score == 1.0
    letters_only = {"answer": "C"}
    assert CHOICE(audio("<think>.</think>The answer is C.", letters_only)).score == 1.0
    assert CHOICE(audio("<think>.</think>The answer is A.", letters_only)).reason == "wrong"


def test_option_text_inside_a_longer_option_names_only_the_longer():
    label = {"answer": "B", "choices": ["rain", "heavy rain", "thunder"]}
    assert CHOICE(audio("<think>.</think>heavy rain", label)).extracted == "B"
    assert CHOICE(audio("<think>.</think>rain", label)).extracted == "A"


def test_choices_written_with_their_letters_match_by_text():
    label = {"answer": "B", "choices": ["(A) a dog barking", "(B) a cat meowing"]}
    assert CHOICE(audio("<think>.</think>a cat meowing", label)).score == 1.0


def test_a_label_that_names_no_option_is_reported():
    verdict = CHOICE(audio("<think>.</think>(B)", {"answer": "a horse", "choices": CHOICES}))
    assert (verdict.score, verdict.reason) == (0.0, "bad_label")


def test_properties():
    check_verifier(CHOICE)


# Issue 12 declares fullwidth letters readable ("答案：Ｂ"): "Ｂ" left this list for the
# look-alike tests in test_real_forms.py. The rest fold to no letter from A to J.
@pytest.mark.parametrize("letter", ["İ", "ı", "ſ", "\u212a", "ǰ", "ß"])
def test_non_ascii_letters_that_are_no_option_letters(letter, choice_label):
    for response in (letter, f"({letter})", f"Option {letter}"):
        verdict = CHOICE(audio(f"<think>.</think>{response}", choice_label))
        assert (verdict.score, verdict.reason) == (0.0, "no_answer")
    assert CHOICE(audio("<think>.</think>B", {"answer": letter, "choices": CHOICES})).reason == "bad_label"
    assert CHOICE(audio("<think>.</think>B", {"answer": f"({letter})"})).reason == "bad_label"


def test_more_than_ten_choices_is_a_bad_label():
    label = {"answer": "sound 10", "choices": [f"sound {n}" for n in range(11)]}
    for response in ("sound 10", "(A)", "K"):
        verdict = CHOICE(audio(f"<think>.</think>{response}", label))
        assert (verdict.score, verdict.reason) == (0.0, "bad_label")
        assert "11 choices" in verdict.details["problem"]
    ten = {"answer": "sound 9", "choices": [f"sound {n}" for n in range(10)]}
    assert CHOICE(audio("<think>.</think>(J)", ten)).score == 1.0
