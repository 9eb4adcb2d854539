"""The number and arithmetic readers never raise, stay bounded, and agree on what they both read."""

import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import FRAGMENTS
from aural.verifiers.latex_value import latex_value
from aural.verifiers.numeric import find_all, find_numbers, parse_number

texts = st.text() | st.lists(st.sampled_from(FRAGMENTS + ("2", "\\sqrt{", "\\pi", "^", "x", "-", "*")), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_readers_never_raise_and_return_finite_values(text):
    number = parse_number(text)
    assert number is None or isinstance(number.value, Fraction)
    for found in find_numbers(text):
        assert isinstance(found.value, Fraction)
    value = latex_value(text, {"x": 0.5})
    assert value is None or math.isfinite(value)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_fractions_read_the_same_both_ways(numerator, denominator):
    text = rf"\frac{{{numerator}}}{{{denominator}}}"
    assert parse_number(text).value == Fraction(numerator, denominator)
    assert math.isclose(latex_value(text), numerator / denominator, rel_tol=1e-12)


def test_arithmetic_values():
    assert latex_value(r"\sqrt[3]{27}") == 3.0
    assert latex_value(r"2^{10}") == 1024.0
    assert latex_value(r"-\frac{1}{2}") == -0.5
    assert latex_value(r"\left( 1 + 2 \right) \times 3") == 9.0
    assert latex_value(r"3x", {"x": 2.0}) == 6.0


def test_what_arithmetic_refuses():
    for text in [r"\frac{1}{0}", r"\sqrt{-1}", "10^{400}", "1" * 20, "(1", "1)", r"\infty", "x", "1,000", "50\\%", ""]:
        assert latex_value(text) is None, text
    assert latex_value("(" * 30 + "1" + ")" * 30) is None  # nesting deeper than MAX_DEPTH
    # More than 15 digits, with or without a leading zero: a float would round it to 0.1.
    assert latex_value(".10000000000000000001") is None and latex_value("0.10000000000000000001") is None
    assert latex_value(".125") == 0.125 and latex_value(".") is None


# --- Issue 12: numbers as models write them ---------------------------------------------------


CJK_DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """1 to 9999 in Chinese numerals (十二, 一百零五, 三千二百)."""
    parts, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero and parts:
                parts.append("零")
            parts.append(("" if digit == 1 and unit == "十" and n < 20 else CJK_DIGITS[digit]) + unit)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)


@given(st.integers(1, 9999))
def test_chinese_numerals_before_a_measure_word(n):
    assert [f.number.value for f in find_all(f"一共有{chinese(n)}声蜂鸣。")] == [n]
    assert parse_number(chinese(n) + "次").value == n


@given(st.integers(0, 10**9), st.sampled_from([",", "{,}", ",\\!", "\\,"]))
def test_latex_thousands_separators(n, separator):
    assert parse_number(f"{n:,}".replace(",", separator)).value == n


@given(st.integers(0, 999), st.integers(1, 10**6))
def test_repeating_decimals_are_exact(fixed, repeating):
    text = rf"0.{fixed:03d}\overline{{{repeating}}}"
    digits = len(str(repeating))
    assert parse_number(text).value == Fraction(fixed, 1000) + Fraction(repeating, (10**digits - 1) * 1000)


def test_what_numbers_are_found_where():
    def values(text):
        return [(str(f.number.value), f.ordinal) for f in find_all(text)]

    assert values("the 4th of seven beeps, 3.5kg, 1,000.99m²") == [("4", True), ("7", False), ("7/2", False), ("100099/100", False)]
    assert values("AZYUK2A, x2, the loudest one") == []  # letters glued before a digit; "one" as a pronoun
    assert values("four five, twenty-first, two thousand and one") == [("4", False), ("5", False), ("21", True), ("2001", False)]
    assert values(r"\frac12 and \cfrac{1}{3} and 3-4") == [("1/2", False), ("1/3", False), ("3", False), ("4", False)]
