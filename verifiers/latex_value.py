"""The numeric value of a small arithmetic LaTeX expression, read by a bounded parser.

Numbers, ``+ - * / ^``, ``\\cdot``, ``\\times``, ``\\frac``, ``\\sqrt``, ``\\pi``,
brackets, implicit products (``2\\sqrt{2}``, ``3\\pi``) and single-letter
variables given values by the caller. Anything else (an unbound variable, a
set, a unit, a percent sign) gives None, and so does anything that
would be expensive: more than `MAX_TOKENS` tokens, nesting deeper than
`MAX_DEPTH`, literals of more than 15 significant digits, exponents beyond
`MAX_EXPONENT`, overflow. Nothing is executed; the parser only does float
arithmetic on what it has read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

MAX_TOKENS = 200
MAX_DEPTH = 20
MAX_EXPONENT = 64.0

_TOKEN = re.compile(r"\d+(?:\.\d+)?|\.\d+|\\[A-Za-z]+|[-+*/^(){}\[\]]|\S")
_SKIPPED = frozenset({"\\left", "\\right", "\\displaystyle", "$"})
_FRACTIONS = frozenset({"\\frac", "\\dfrac", "\\tfrac", "\\cfrac"})
# LaTeX reads one digit as an argument: \frac12 is \frac{1}{2}, \sqrt5 is \sqrt{5}.
_BRACELESS = re.compile(r"\\([dtc]?frac)\s*(\d)\s*(\d)|\\sqrt\s*(\d)")


def _braced(m: re.Match[str]) -> str:
    return f"\\{m[1]}{{{m[2]}}}{{{m[3]}}}" if m[1] else f"\\sqrt{{{m[4]}}}"


_PRODUCTS = frozenset({"*", "\\cdot", "\\times"})
_CLOSING = {"(": ")", "{": "}", "[": "]"}


class _Unreadable(Exception):
    """The expression is outside what this parser reads."""


def latex_value(text: str, variables: Mapping[str, float] | None = None) -> float | None:
    r"""The value of `text` with single-letter `variables` bound, or None when it is not plain arithmetic.

    >>> latex_value(r"2\sqrt{2}") == latex_value(r"\sqrt{8}")
    True
    >>> latex_value(r"\frac{3}{4} + 0.25"), latex_value(r"\pi \cdot 2") == 2 * math.pi
    (1.0, True)
    >>> latex_value("x^2 + 1") is None, latex_value("x^2 + 1", {"x": 2.0}), latex_value("9^{9^{9^{9}}}") is None
    (True, 5.0, True)
    """
    if len(text) > 4 * MAX_TOKENS:
        return None
    text = _BRACELESS.sub(_braced, text.replace("\\,", " ").replace("\\!", " "))
    tokens = [t for t in _TOKEN.findall(text) if t not in _SKIPPED]
    if not tokens or len(tokens) > MAX_TOKENS or any(_is_number(t) and len(t.replace(".", "")) > 15 for t in tokens):
        return None
    parser = _Parser(tokens, variables or {})
    try:
        value = parser.sum(0)
        if parser.at < len(tokens):
            return None
    except (_Unreadable, ArithmeticError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _is_number(token: str) -> bool:
    """Whether `token` is a numeric literal (``12``, ``1.5``, ``.5``)."""
    return token[0].isdigit() or (token[0] == "." and len(token) > 1)


def letters(text: str) -> set[str]:
    """The single-letter names `text` uses outside commands (``x`` in ``2x + \\pi``).

    >>> sorted(letters(r"2x + y\\sqrt{x} + \\pi"))
    ['x', 'y']
    """
    return {t for t in _TOKEN.findall(text) if t.isalpha() and len(t) == 1}


class _Parser:
    def __init__(self, tokens: list[str], variables: Mapping[str, float]):
        self.tokens = tokens
        self.variables = variables
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unreadable
        self.at += 1
        return token

    def sum(self, depth: int) -> float:
        if depth > MAX_DEPTH:
            raise _Unreadable
        value = self.product(depth)
        while self.peek() in ("+", "-"):
            sign = self.take()
            right = self.product(depth)
            value = value + right if sign == "+" else value - right
        return value

    def product(self, depth: int) -> float:
        value = self.signed(depth)
        while True:
            token = self.peek()
            if token in _PRODUCTS or token == "/":
                self.take()
                right = self.signed(depth)
                value = value / right if token == "/" else value * right
            elif token is not None and _is_number(token):
                raise _Unreadable  # "1 000", "2 3": digits apart, not a product
            elif token is not None and (token in _CLOSING or token[0] == "\\" or token.isalpha()):
                value *= self.power(depth)  # implicit product: 2\sqrt{2}, 3\pi, 2(3), 2x
            else:
                return value

    def signed(self, depth: int) -> float:
        if self.peek() in ("+", "-"):
            return -self.signed(depth) if self.take() == "-" else self.signed(depth)
        return self.power(depth)

    def power(self, depth: int) -> float:
        base = self.atom(depth)
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.atom(depth + 1)
        if abs(exponent) > MAX_EXPONENT:
            raise _Unreadable
        return math.pow(base, exponent)

    def atom(self, depth: int) -> float:
        token = self.take()
        if _is_number(token):
            return float(token)
        if token == "\\pi":
            return math.pi
        if token in self.variables:
            return self.variables[token]
        if token in _CLOSING:
            value = self.sum(depth + 1)
            self.take(_CLOSING[token])
            return value
        if token in _FRACTIONS:
            return self.group(depth) / self.group(depth)
        if token == "\\sqrt":
            if self.peek() == "[":
                self.take()
                degree = self.sum(depth + 1)
                self.take("]")
                return math.pow(self.group(depth), 1.0 / degree)
            return math.sqrt(self.group(depth))
        raise _Unreadable

    def group(self, depth: int) -> float:
        self.take("{")
        value = self.sum(depth + 1)
        self.take("}")
        return value
