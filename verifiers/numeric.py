"""Reading numbers out of text without evaluating it.

Numbers become exact `Fraction`s: integers with or without thousands separators
(``1,024``, LaTeX's ``14{,}916`` and ``16,\\!386``), decimals, repeating decimals
(``0.\\overline{3}``), bounded exponents, simple fractions (``3/4``, ``\\frac{3}{4}``,
``\\frac12``), percentages, currency signs, units glued to the digits (``3.5kg``),
ordinals (``4th``, ``fourth``), English number words (``one hundred twenty``) and
Chinese numerals before a measure word (``四声``). Literals longer than `MAX_DIGITS`
digits are ignored, so no input can make the parser build a huge integer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import NamedTuple

MAX_DIGITS = 100
MAX_EXPONENT = 300

# Fullwidth digits and signs (as typed by CJK input methods) read as ASCII.
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"\uff0e": ".", "\uff0c": ",", "\uff05": "%"})
_FULLWIDTH_CHARS = re.compile("[\uff05\uff0c\uff0e\uff10-\uff19]")


def _ascii_digits(text: str) -> str:
    """`text` with fullwidth digits, point, comma and percent sign as ASCII (same length)."""
    return text.translate(_FULLWIDTH) if not text.isascii() and _FULLWIDTH_CHARS.search(text) else text


_THOUSANDS = r"(?:,|\{,\}|,\\!|\\,)"
# Atomic, so that "3.5kg" cannot be read as 3 followed by ".5kg".
_NUMBER = (
    r"""
(?:(?P<sign>[-+\u2212])\s?)?(?:\\?\$\s?)?
(?>
    \\[dtc]?frac\s*
      (?:\{\s*(?:(?P<fsign>[-+\u2212])\s*)?(?P<num>\d+)\s*\}|(?P<num1>\d))
      \s*(?:\{\s*(?P<den>\d+)\s*\}|(?P<den1>\d))
  | (?P<int>\d{1,3}(?:"""
    + _THOUSANDS
    + r"""\d{3})+(?![0-9])|\d+)
    (?:\.(?:(?P<rdec>\d{0,20})\\overline\{(?P<rep>\d{1,20})\}|(?P<dec>\d+)))?
    (?:[eE](?P<exp>[-+]?\d+))?
    (?:\s*/\s*(?P<over>\d+))?
  | \.(?P<lead>\d+)
)
(?P<ordinal>(?:st|nd|rd|th)(?![A-Za-z]))?
(?P<pct>\s?(?:%|\\%|percent\b|pct\b))?
"""
)
_NUMBER_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_.\\])(?=[-+\u2212\\$.0-9])" + _NUMBER + r"(?![0-9]|\.[0-9])", re.VERBOSE)
_UNIT = r"(?:(?:\s|\\[, ;]|~)*(?P<suffix>\\(?:text|mathrm|mbox)\{[^{}\d]{1,30}\}|[^\W\d_][^\d\n!^_=+*/]{0,30}))?"
_WITH_UNIT = re.compile(_NUMBER + _UNIT + r"\.?", re.VERBOSE)
_WITHOUT_UNIT = re.compile(_NUMBER + r"\.?", re.VERBOSE)

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = (
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_TENTHS = "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_WORD_VALUES = (
    {w: i for i, w in enumerate(_UNITS)}
    | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
    | {w: i for i, w in enumerate(_ORDINALS)}
    | {w: 20 + 10 * i for i, w in enumerate(_TENTHS)}
    | {w + "th": v for w, v in _SCALES.items()}
)


_WORD = re.compile(r"[A-Za-z]+")
_PRONOUN_ONE = frozenset("the this that which each every no any another only last first next other".split())


_CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CJK_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
# A Chinese numeral counts before a measure word (四声, 十二次) or alone; 第 makes it an ordinal.
_CJK_NUMERAL = "[零〇一二两三四五六七八九十百千万]{1,12}"
_MEASURE_WORD = "[个声次下只种位遍条秒分人把首件岁年天拍段组]"
_CJK_NUMBER = re.compile(rf"(?P<ordinal>第)?(?P<cjk>{_CJK_NUMERAL})(?={_MEASURE_WORD}|[\s。，！？,.!?]|$)")
_CJK_WHOLE = re.compile(rf"(?P<ordinal>第)?(?P<cjk>{_CJK_NUMERAL}){_MEASURE_WORD}?[。.！!]?")


class Number(NamedTuple):
    """An exact value and whether it was written as a percentage."""

    value: Fraction
    percent: bool = False


class Found(NamedTuple):
    """A number found in text: its value, where it is, and whether it was an ordinal (``4th``)."""

    number: Number
    start: int
    end: int
    ordinal: bool = False


def _from_match(m: re.Match[str]) -> Number | None:
    g = m.groupdict()
    digits = sum(len(g[k] or "") for k in ("num", "den", "int", "dec", "rdec", "rep", "over", "lead"))
    if digits > MAX_DIGITS:
        return None
    if g["num"] is not None or g["num1"] is not None:
        denominator = int(g["den"] or g["den1"])
        if denominator == 0:
            return None
        value = Fraction(int(g["num"] or g["num1"]), denominator)
    elif g["lead"] is not None:
        value = Fraction(int(g["lead"]), 10 ** len(g["lead"]))
    else:
        value = Fraction(int(re.sub(r"\D", "", g["int"])))
        if g["dec"]:
            value += Fraction(int(g["dec"]), 10 ** len(g["dec"]))
        if g["rep"] is not None:  # 0.1\overline{6}: the repeating part over 99…9, shifted past the fixed part
            fixed = g["rdec"]
            value += Fraction(int(fixed or "0"), 10 ** len(fixed))
            value += Fraction(int(g["rep"]), (10 ** len(g["rep"]) - 1) * 10 ** len(fixed))
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


def _word_numbers(text: str) -> list[Found]:
    """The English number phrases in `text` ("one hundred and twenty", "twenty-first"), in order.

    Words join while they make one number: tens then a unit, anything then a scale, a
    scale then anything smaller. "four five" is two numbers; "second" is an ordinal only
    after "the"; "one" after a determiner ("the loudest one") is a pronoun.
    """
    found: list[Found] = []
    run: list[tuple[int, int, str]] = []  # (start, end, word) of the phrase being read

    def close() -> None:
        if run:
            words = [w for _, _, w in run]
            found.append(Found(Number(Fraction(_phrase_value(words))), run[0][0], run[-1][1], _is_ordinal_word(words[-1])))
            run.clear()

    previous = ""
    for m in _WORD.finditer(text):
        word = m.group().lower()
        if word == "and" and run and run[-1][2] in _SCALES:
            continue  # "one hundred and twenty"
        is_number = word in _WORD_VALUES or word in _SCALES
        if word == "second" and previous != "the":
            is_number = False
        if word == "one" and (previous in _PRONOUN_ONE or previous.endswith("est")):
            is_number = False
        if is_number and run and _joined_by(text[run[-1][1] : m.start()].lower(), run[-1][2]) and _joins(run[-1][2], word):
            run.append((m.start(), m.end(), word))
        else:
            close()
            if is_number:
                run.append((m.start(), m.end(), word))
        previous = word
    close()
    return found


def _joined_by(gap: str, last: str) -> bool:
    """Whether `gap` joins two words of one number phrase: a space or hyphen; "and" or a comma after a scale."""
    return gap in (" ", "-") or (gap == " and " and last in _SCALES) or (gap == ", " and last in _SCALES and last != "hundred")


def _is_ordinal_word(word: str) -> bool:
    return word in _ORDINALS or word in _TENTHS or word.endswith("th") and word[:-2] in _SCALES


def _joins(last: str, word: str) -> bool:
    """Whether `word` continues a number phrase that ends with `last`."""
    if _is_ordinal_word(last):
        return False
    value = _WORD_VALUES.get(word, 0)
    if word in _SCALES or word[:-2] in _SCALES:
        return last not in _SCALES or _SCALES[last] < _SCALES.get(word, _SCALES.get(word[:-2], 0))
    if last in _TENS:
        return 1 <= value <= 9
    return last in _SCALES


def _phrase_value(words: list[str]) -> int:
    """The value of the number words of one phrase."""
    total = current = 0
    for word in words:
        scale = _SCALES.get(word, _SCALES.get(word[:-2], 0) if word.endswith("th") else 0)
        if scale == 100:
            current = max(current, 1) * 100
        elif scale:
            total += max(current, 1) * scale
            current = 0
        else:
            current += _WORD_VALUES[word]
    return total + current


def _cjk_value(numeral: str) -> int | None:
    """The value of a Chinese numeral (``十二`` 12, ``一百二十`` 120, ``两万`` 20000); None when malformed."""
    total = section = digit = 0
    seen_digit = False
    for char in numeral:
        if char in _CJK_DIGITS:
            if seen_digit and digit:  # two digits in a row: a list such as 三四, not one number
                return None
            digit, seen_digit = _CJK_DIGITS[char], True
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
            seen_digit = False
        else:
            section += (digit if seen_digit else 1) * _CJK_SCALES[char]
            digit, seen_digit = 0, False
    return total + section + digit


def find_all(text: str) -> list[Found]:
    """Every number in `text`, written with digits, English words or Chinese numerals, in order.

    >>> [(str(f.number.value), f.ordinal) for f in find_all("the 4th of seven beeps, 3.5kg, 共有四声")]
    [('4', True), ('7', False), ('7/2', False), ('4', False)]
    """
    text = _ascii_digits(text)
    found = []
    for m in _NUMBER_IN_TEXT.finditer(text):
        number = _from_match(m)
        if number is not None:
            found.append(Found(number, m.start(), m.end(), m["ordinal"] is not None))
    found += _word_numbers(text)
    if not text.isascii():
        for m in _CJK_NUMBER.finditer(text):
            value = _cjk_value(m["cjk"])
            if value is not None:
                found.append(Found(Number(Fraction(value)), m.start(), m.end(), m["ordinal"] is not None))
    found.sort(key=lambda f: f.start)
    return found


def find_numbers(text: str) -> Iterator[Number]:
    """Every number in `text`, in order (see `find_all`).

    >>> [str(n.value) for n in find_numbers("From 1,200 beeps, -3.5 and 2/3 remain; 40% left")]
    ['1200', '-7/2', '2/3', '40']
    """
    for found in find_all(text):
        yield found.number


def parse_number(text: str, units: bool = True) -> Number | None:
    """Read `text` as one number (with a trailing unit if `units`); None when it is anything else.

    >>> parse_number("1,024")
    Number(value=Fraction(1024, 1), percent=False)
    >>> parse_number(r"\\frac{3}{4}").value, parse_number("12 kg").value, parse_number("Seven beeps.").value
    (Fraction(3, 4), Fraction(12, 1), Fraction(7, 1))
    >>> parse_number("3 or 4") is None, parse_number("one or two") is None, parse_number("12x", units=False) is None
    (True, True, True)
    >>> parse_number("one hundred and twenty").value, parse_number(r"0.\\overline{3}").value, parse_number("5!")
    (Fraction(120, 1), Fraction(1, 3), None)
    """
    if len(text) > 4 * MAX_DIGITS:
        return None
    text = _ascii_digits(text.strip())
    m = (_WITH_UNIT if units else _WITHOUT_UNIT).fullmatch(text)
    if m:
        return None if _names_a_number(m) else _from_match(m)
    if not units:
        return None
    words = _word_numbers(text)
    if not words or words[0].start:
        c = _CJK_WHOLE.fullmatch(text)
        value = _cjk_value(c["cjk"]) if c and not c["ordinal"] else None
        return None if value is None else Number(Fraction(value))
    if len(words) > 1 or _UNIT_AFTER_WORDS.fullmatch(text, words[0].end) is None:
        return None
    return words[0].number


_UNIT_AFTER_WORDS = re.compile(r"(?:\s+[^\W\d_][^\d\n!^_=+*/]{0,30})?\.?")


def _names_a_number(m: re.Match[str]) -> bool:
    """Whether the unit after a number names another number ("3 or four")."""
    suffix = m.groupdict().get("suffix")
    return bool(suffix and _word_numbers(suffix))


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
