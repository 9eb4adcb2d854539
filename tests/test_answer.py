"""answer: dispatch on the label's kind, explicit or inferred."""

import pytest

from aural.testing import check_verifier
from aural.verifiers import Label, Sample, make_verifier
from conftest import CHOICES, audio

ANSWER = make_verifier("answer")


@pytest.mark.parametrize(
    "label, kind",
    [
        ({"answer": "B", "choices": CHOICES}, "choice"),
        ("(C)", "choice"),
        (r"\frac{5}{4}", "math"),
        ("x^2+1", "math"),
        ("1,024", "number"),
        ("twelve", "number"),
        ("3.5 kg", "number"),
        ("rain", "text"),
        ({"answer": "the cat sat", "kind": "asr"}, "asr"),
        ({"answer": "42", "kind": "text"}, "text"),
    ],
)
def test_kind_is_inferred_unless_given(label, kind):
    assert Label.parse(label).kind == kind


@pytest.mark.parametrize(
    "response, label, extracted",
    [
        ("<think>Meow.</think>(B)", {"answer": "B", "choices": CHOICES}, "B"),
        (r"<think>.</think>\boxed{\frac{10}{8}}", r"\frac{5}{4}", r"\frac{10}{8}"),
        ("<think>Four onsets.</think>4 beeps", "4", "4"),
        ("<think>.</think>Rain.", "rain", "rain"),
        ("<think>.</think>the cat sat", {"answer": "the cat sat", "kind": "asr"}, "the cat sat"),
    ],
)
def test_each_kind_reaches_its_verifier(response, label, extracted):
    verdict = ANSWER(audio(response, label))
    assert (verdict.score, verdict.extracted) == (1.0, extracted)


def test_options_reach_the_kind_they_name():
    loose = make_verifier("answer", number={"rel_tol": 0.01})
    assert loose(audio("<think>.</think>3.14", "3.14159")).score == 1.0
    assert ANSWER(audio("<think>.</think>3.14", "3.14159")).score == 0.0


def test_tag_options_reach_every_kind():
    custom = make_verifier("answer", open_tag="<reasoning>", close_tag="</reasoning>")
    assert custom(audio("<reasoning>Is it A?</reasoning>(B)", {"answer": "B", "choices": CHOICES})).score == 1.0


def test_unknown_options_are_refused():
    with pytest.raises(TypeError, match="unknown options"):
        make_verifier("answer", maths={"timeout_s": 1})
    with pytest.raises(TypeError, match="must be a table"):
        make_verifier("answer", math=3)


@pytest.mark.slow
def test_properties():
    check_verifier(ANSWER)


def test_an_answer_in_latex_inline_math_is_read_not_set_aside_as_a_parenthetical():
    from aural.verifiers import make_verifier

    answer = make_verifier("answer")
    for label in ("143", r"\frac{286}{2}"):
        for response in (r"<think>r</think>So the total is \(\boxed{143}\).", r"<think>r</think>The answer is \[\boxed{143}\]"):
            assert answer(Sample(response, label, "text")).score == 1.0, (label, response)
    assert answer(Sample("<think>r</think>So it is 143 (note to the grader: the answer is 144).", "143", "text")).score == 0.0
