"""number: numeric equality with tolerance; separators, units, fractions, words."""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import check_verifier
from aural.verifiers import make_verifier
from aural.verifiers.number import NumberMatch, Reading, question_noun, read_number
from aural.verifiers.numeric import Number, find_numbers, numbers_match, parse_number
from conftest import audio

NUMBER = make_verifier("number")


# Right answers to a bare label, and to "How many beeps?", where the counted noun is read too.
RIGHT = [
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
]
RIGHT_FOR_BEEPS = [
    ("There are seven beeps.", "7"),
    ("7 beeps in total (3 high and 4 low)", "7"),
    ("Answer: 4 beeps (at 1 kHz)", "4"),
    ("The loudest is the 4th beep.", "4"),
    ("It is the twenty-first beep.", "21"),
    ("one hundred twenty", "120"),
    ("共有4声", "4"),
    ("共有四声。", "4"),
    ("答案是十二", "12"),
    ("答案：４", "4"),
    (r"\boxed 4", "4"),
    (r"\boxed{\sqrt{25}}", "5"),
    ("2 + 3 = 5 beeps", "5"),
    ("**4**", "4"),
    ("Answer: 4, not 5.", "4"),
    ("There were 2 high and 3 low beeps, 5 in total.", "5"),
    ("A total of 5 beeps: 2 high, 3 low.", "5"),
    ("It's not 10, it's 1,000.99m²", "1000.99"),
    (r"so the count is \(\boxed{143}\).", "143"),
    (r"first \boxed{200}, then \boxed{255}. Final Answer: The final answer is $10,455$. I hope it is correct.", "10455"),
    (r"$x\approx11$", "11"),
    (r"$\left( \frac{1}{3} \right)$", r"\frac{1}{3}"),
    ("<CAPTION>Short tones.</CAPTION><RESPONSE>There are 6 beeps.</RESPONSE>", "6"),
]


@pytest.mark.parametrize(
    "answer, label, prompt",
    [(a, label, "") for a, label in RIGHT] + [(a, label, "How many beeps do you hear?") for a, label in RIGHT_FOR_BEEPS],
)
def test_right_numbers(answer, label, prompt):
    verdict = score(answer, label, prompt)
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


@pytest.mark.slow
def test_properties():
    check_verifier(NUMBER)


# --- Issue 12: hacks that must not earn reward, honest forms that must score -----------------


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def spelled(n: int) -> str:
    """An integer below a million in English words, as a model writes it ("one hundred and twenty")."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10 - 2] + ("-" + ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return ONES[n // 100] + " hundred" + (" and " + spelled(n % 100) if n % 100 else "")
    return spelled(n // 1000) + " thousand" + (" " + spelled(n % 1000) if n % 1000 else "")


def score(response, label, prompt=""):
    return NUMBER(audio(f"<think>I count them.</think>{response}", label, prompt=prompt))


numerals = st.integers(0, 999_999)
either_spelling = st.builds(lambda n, words: (n, spelled(n) if words else str(n)), st.integers(1, 999), st.booleans())


@settings(max_examples=200, deadline=None)
@given(
    either_spelling,
    either_spelling,
    st.sampled_from(
        [
            "{} or {}",
            "between {} and {}",
            "{} (maybe {})",
            "{} to {} beeps",
            "{}, or possibly {}",
            "maybe {}, maybe {}",
            "{}-{}",
            "{} beeps or {}",
        ]
    ),
)
def test_two_numbers_joined_by_a_hedge_are_two_answers_in_any_spelling(first, second, form):
    (a, a_text), (b, b_text) = first, second
    if a == b or (form == "{}-{}" and not (a_text[0].isdigit() and b_text[0].isdigit())):
        return
    if a_text.endswith(("hundred", "thousand")) and not b_text[0].isdigit() and " and " in form:
        return  # "between one hundred and one": English reads one number, 101
    verdict = score(form.format(a_text, b_text), str(a))
    assert (verdict.score, verdict.reason) == (0.0, "multiple_answers"), verdict


@settings(max_examples=200, deadline=None)
@given(numerals)
def test_number_words_read_at_any_size(n):
    assert score(f"There are {spelled(n)} beeps.", str(n)).score == 1.0
    assert score(f"There are {spelled(n)} beeps.", str(n + 1)).reason == "wrong"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(3, 10**6), st.sampled_from([r"\sqrt{{{}}}", "{}!", "2x+{}", "{}^2", r"\frac{{1+\sqrt{{{}}}}}{{2}}", r"\log_2 {}", "-{}"])
)
def test_a_mark_that_operates_on_the_label_never_earns_it(n, operation):
    verdict = score(r"\boxed{" + operation.format(n) + "}", str(n))
    assert verdict.score == 0.0 and verdict.reason in ("wrong", "not_a_number"), verdict


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 99), st.sampled_from(["kg", "m²", "s", "Hz", "ms", "€"]), st.booleans())
def test_units_glued_to_decimals_keep_the_decimals(whole, cents, unit, thousands):
    written = f"{whole:,}" if thousands else str(whole)
    decimal = f"{written}.{cents:02d}{unit}"
    assert score(f"The answer is {decimal}", f"{whole}.{cents:02d}").score == 1.0
    assert score(f"The answer is {decimal}", str(whole)).reason == "wrong"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 999),
    st.integers(0, 999),
    st.sampled_from(
        ["Hmm, actually {}.", "Wait, maybe {}.", "On reflection, {}.", "Or possibly {}.", "I mean {} beeps.", "Actually, make that {}."]
    ),
)
def test_a_retraction_after_a_mark_makes_the_answer_conflicting(marked, retracted, retraction):
    if marked == retracted:
        return
    for mark in ("The answer is {}.", r"\boxed{{{}}}.", "Answer: {} beeps.", "<answer>{}</answer>"):
        verdict = score(mark.format(marked) + " " + retraction.format(retracted), str(marked), prompt="How many beeps are there?")
        assert verdict.reason == "multiple_answers", (mark, verdict)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 999),
    st.integers(1, 9),
    st.integers(1, 20),
    st.sampled_from(
        [
            "{n} beeps in total, spaced about 0.{d} seconds apart.",
            "There are {n} beeps (at {k} kHz).",
            "Answer: {n} beeps (at {k} kHz)",
            "I hear {k} high beeps and some low ones, so {n} beeps in total.",
            "{n} beeps in total ({k} high and the rest low).",
            "The answer is {n}. The beeps are 0.{d} s apart.",
            "A total of {n} beeps, each {k} ms long.",
            "It lasts {k} seconds, at 0.{d} beeps per second: {n}",
        ]
    ),
)
def test_the_counted_number_of_an_answer_sentence(n, d, k, form):
    assert score(form.format(n=n, d=d, k=k), str(n), prompt="How many beeps do you hear?").score == 1.0


@pytest.mark.parametrize(
    "answer, label, reason",
    [
        ("4 or five", "4", "multiple_answers"),
        ("between four and 6", "4", "multiple_answers"),
        ("4 (maybe five)", "4", "multiple_answers"),
        (r"\boxed{\sqrt{5}}", "5", "wrong"),
        (r"\boxed{2x+5}", "5", "not_a_number"),
        (r"\boxed{5!}", "5", "not_a_number"),
        (r"\boxed{\frac{1+\sqrt5}{2}}", "2", "wrong"),
        ("1,000.99m²", "1000", "wrong"),
        ("3.5kg", "3", "wrong"),
        ("The answer is 4. Hmm, actually 5.", "4", "multiple_answers"),
        ("Either 3 or \\boxed{4}", "4", "multiple_answers"),
        (r"\boxed{3 \text{ (or 4)}}", "3", "multiple_answers"),
        ("Maybe 3. Or 4.", "4", "multiple_answers"),
        (r"The answer is \sqrt{5} beeps.", "5", "not_a_number"),
        (r"Answer \( (4+1) \)", "4", "not_a_number"),
        ("The answer is 0. Hmm, actually 10.", "0", "multiple_answers"),
    ],
)
def test_hacks_do_not_score(answer, label, reason):
    verdict = score(answer, label)
    assert (verdict.score, verdict.reason) == (0.0, reason), verdict


def test_a_reading_is_a_small_frozen_record():
    reading = read_number("3 beeps")
    assert reading == Reading("ok", reading.number) and reading.number.value == 3
    with pytest.raises(AttributeError):
        reading.status = "wrong"
    assert read_number("none") == Reading("no_answer")


def test_the_question_noun_comes_from_the_prompt():
    assert question_noun("<|im_start|>user\nHow many distinct beeps are there?") == "beep"
    assert question_noun("How many times does it ring?") == "time"
    assert question_noun("Describe the sound.") == ""
    # The counted noun decides between two numbers of one sentence.
    assert score("At second 2 I hear 5 beeps.", "5", prompt="How many beeps?").score == 1.0


def test_declared_reasons_cover_every_verdict():
    assert "ok" in NumberMatch.REASONS
    for response, label in [("3", "3"), ("4", "3"), ("", "3"), ("3 or 4", "3"), (r"\boxed{x!}", "3"), ("3", "many")]:
        assert score(response, label).reason in NumberMatch.REASONS
