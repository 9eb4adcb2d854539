"""Reading numbers out of text without evaluating it.

Numbers become exact `Fraction`s: integers with or without thousands separators,
decimals, bounded exponents, simple fractions (``3/4``, ``\\frac{3}{4}``), percentages,
and the English number words up to ninety-nine. Literals longer than `MAX_DIGITS`
digits are ignored, so no input can make the parser build a huge integer.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Iterator, NamedTuple

MAX_DIGITS = 100
MAX_EXPONENT = 300

_NUMBER = r"""
(?P<sign>[-+\u2212])?\s?\$?
(?:
    \\[dt]?frac\{\s*(?:(?P<fsign>[-+\u2212])\s*)?(?P<num>\d+)\s*\}\{\s*(?P<den>\d+)\s*\}
  | (?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?
    (?:[eE](?P<exp>[-+]?\d+))?
    (?:\s*/\s*(?P<over>\d+))?
  | \.(?P<lead>\d+)
)
(?P<pct>\s?(?:%|\\%|percent\b))?
"""
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.,])" + _NUMBER + r"(?![\w])", re.VERBOSE)
_UNIT = r"(?:(?:\s|\\[, ]|~)*(?P<suffix>\\(?:text|mathrm)\{[^{}\d]{1,30}\}|[^\W\d_][^\d\n]{0,30}))?"
_WITH_UNIT = re.compile(_NUMBER + _UNIT + r"[.!]?", re.VERBOSE)
_WITHOUT_UNIT = re.compile(_NUMBER + r"[.!]?", re.VERBOSE)

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORDS = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORD = re.compile(
    r"(?:(?P<tens>" + "|".join(_TENS) + r")[\s-](?P<unit>" + "|".join(_UNITS[1:10]) + r")"
    r"|(?P<word>" + "|".join(_WORDS) + r"))(?:\s+(?P<suffix>[^\W\d_][^\d\n]{0,30}))?[.!]?",
    re.IGNORECASE,
)
_ANY_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


class Number(NamedTuple):
    """An exact value and whether it was written as a percentage."""

    value: Fraction
    percent: bool = False


def _from_match(m: re.Match[str]) -> Number | None:
    g = m.groupdict()
    digits = sum(len(g[k] or "") for k in ("num", "den", "int", "dec", "over", "lead"))
    if digits > MAX_DIGITS:
        return None
    if g["num"] is not None:
        if int(g["den"]) == 0:
            return None
        value = Fraction(int(g["num"]), int(g["den"]))
    elif g["lead"] is not None:
        value = Fraction(int(g["lead"]), 10 ** len(g["lead"]))
    else:
        value = Fraction(int(g["int"].replace(",", "")))
        if g["dec"]:
            value += Fraction(int(g["dec"]), 10 ** len(g["dec"]))
        if g["exp"]:
            exponent = int(g["exp"])
            if abs(exponent) > MAX_EXPONENT:
                return None
            value *= Fraction(10) ** exponent
        if g["over"] is not None:
            if int(g["over"]) == 0:
                return None
            value /= int(g["over"])
    if (g["sign"] in ("-", "\u2212")) != (g["fsign"] in ("-", "\u2212")):
        value = -value
    return Number(value, bool(g["pct"]))


def _names_a_number(m: re.Match[str]) -> bool:
    """Whether the unit after a number names another number ("3 or four")."""
    suffix = m.groupdict().get("suffix")
    return bool(suffix and _ANY_NUMBER_WORD.search(suffix))


def parse_number(text: str, units: bool = True) -> Number | None:
    """Read `text` as one number (with a trailing unit if `units`); None when it is anything else.

    >>> parse_number("1,024")
    Number(value=Fraction(1024, 1), percent=False)
    >>> parse_number(r"\\frac{3}{4}").value, parse_number("12 kg").value, parse_number("Seven beeps.").value
    (Fraction(3, 4), Fraction(12, 1), Fraction(7, 1))
    >>> parse_number("3 or 4") is None, parse_number("one or two") is None, parse_number("12x", units=False) is None
    (True, True, True)
    """
    if len(text) > 4 * MAX_DIGITS:
        return None
    text = text.strip()
    m = (_WITH_UNIT if units else _WITHOUT_UNIT).fullmatch(text)
    if m:
        return None if _names_a_number(m) else _from_match(m)
    w = _NUMBER_WORD.fullmatch(text) if units else None
    if w is None or _names_a_number(w):
        return None
    if w["word"]:
        return Number(Fraction(_WORDS[w["word"].lower()]))
    return Number(Fraction(_WORDS[w["tens"].lower()] + _WORDS[w["unit"].lower()]))


def find_numbers(text: str) -> Iterator[Number]:
    """Every number written with digits in `text`, in order.

    >>> [str(n.value) for n in find_numbers("From 1,200 beeps, -3.5 and 2/3 remain; 40% left")]
    ['1200', '-7/2', '2/3', '40']
    """
    for m in _NUMBER_IN_TEXT.finditer(text):
        number = _from_match(m)
        if number is not None:
            yield number


def numbers_match(expected: Number, got: Number, rel_tol: float = 1e-9, abs_tol: float = 0.0) -> bool:
    """Equal within tolerance, in exact arithmetic (any size); a percentage on one side only
    also matches its hundredth. The tolerances must be finite.

    >>> numbers_match(parse_number("0.5"), parse_number("50%"))
    True
    >>> numbers_match(parse_number("1000000"), parse_number("1000001"))
    False
    """
    rel, absolute = Fraction(rel_tol), Fraction(abs_tol)
    candidates = [got.value]
    if got.percent != expected.percent:
        candidates.append(got.value / 100 if got.percent else got.value * 100)
    for value in candidates:
        gap = abs(expected.value - value)
        if gap == 0 or gap <= max(absolute, rel * max(abs(expected.value), abs(value))):
            return True
    return False
