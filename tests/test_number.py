"""number: numeric equality with tolerance; separators, units, fractions, words."""

import math
from fractions import Fraction

import pytest

from aural.testing import check_verifier
from aural.verifiers import make_verifier
from aural.verifiers.numeric import Number, find_numbers, numbers_match, parse_number
from conftest import audio

NUMBER = make_verifier("number")


@pytest.mark.parametrize(
    "answer, label",
    [
        ("3", "3"),
        ("There are 3 beeps.", "3"),
        ("three", "3"),
        ("Twenty-one.", "21"),
        ("1,024", "1024"),
        ("The answer is 1,024 samples.", "1024"),
        (r"\boxed{1024}", "1,024"),
        ("-3.50", "-3.5"),
        ("\u22123.5", "-3.5"),
        ("3/4", "0.75"),
        (r"\frac{3}{4}", "0.75"),
        ("0.75", r"\frac{3}{4}"),
        ("440 Hz", "440"),
        ("Answer: 2.5 s", "2.5"),
        ("50%", "0.5"),
        ("0.5", "50%"),
        ("1.5e3", "1500"),
        ("#### 72", "72"),
        ("The answer is three beeps.", "3"),
        ("Answer: see my count above. There are 3.", "3"),
        ("It lasts 4 seconds, so 2 beeps per second: 8", "8"),
    ],
)
def test_right_numbers(answer, label):
    verdict = NUMBER(audio(f"<think>I count them.</think>{answer}", label))
    assert (verdict.score, verdict.reason) == (1.0, "ok"), verdict


@pytest.mark.parametrize(
    "answer, label, reason",
    [
        ("4", "3", "wrong"),
        ("3.0001", "3", "wrong"),
        ("1000001", "1000000", "wrong"),
        ("There are no beeps I can hear.", "3", "no_answer"),
        ("", "3", "no_answer"),
        ("The answer is 3 or 4.", "3", "multiple_answers"),
        ("The answer is three or four.", "3", "multiple_answers"),  # words are numbers too
        (r"\boxed{3} \boxed{4}", "3", "multiple_answers"),
        ("Answer: 3. Answer: 4.", "3", "multiple_answers"),
        ("3", "several", "bad_label"),
    ],
)
def test_wrong_or_unreadable_numbers(answer, label, reason):
    verdict = NUMBER(audio(f"<think>I count them.</think>{answer}", label))
    assert (verdict.score, verdict.reason) == (0.0, reason), verdict


def test_tolerance_is_configurable():
    loose = make_verifier("number", rel_tol=1e-2)
    assert loose(audio("<think>.</think>3.14", "3.14159")).score == 1.0
    assert NUMBER(audio("<think>.</think>3.14", "3.14159")).score == 0.0
    absolute = make_verifier("number", abs_tol=0.5)
    assert absolute(audio("<think>.</think>10.4", "10")).score == 1.0
    for bad in ({"rel_tol": math.inf}, {"abs_tol": math.nan}, {"abs_tol": -1.0}):
        with pytest.raises(ValueError):
            make_verifier("number", **bad)


def test_numbers_beyond_float_range_compare_exactly():
    huge = Number(Fraction(10**400))
    assert numbers_match(huge, huge) and not numbers_match(huge, Number(Fraction(10**400 + 1)), rel_tol=0.0)
    assert numbers_match(huge, Number(Fraction(10**400 + 1)))  # within the default 1e-9
    assert not numbers_match(huge, Number(-huge.value), abs_tol=1e300)
    assert NUMBER(audio("<think>.</think>1000000000e300", "1000000000e300")).score == 1.0
    assert NUMBER(audio("<think>.</think>1000000000e300", "2000000000e300")).reason == "wrong"


def test_repeating_the_same_answer_is_not_a_hedge():
    assert NUMBER(audio(r"<think>.</think>The answer is 3. So \boxed{3}", "3")).score == 1.0


def test_huge_literals_are_not_built():
    assert parse_number("1e999999999") is None
    assert parse_number("9" * 5000) is None
    assert list(find_numbers("1" * 10_000 + " and 7"))[-1].value == 7


def test_properties():
    check_verifier(NUMBER)
