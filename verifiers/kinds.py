"""Guessing what kind of answer a label holds when the data does not say."""

from __future__ import annotations

import re

from .normalize import fold_answer
from .numeric import parse_number

_LETTER = re.compile(r"\(?[A-J]\)?")
_LATEX = re.compile(r"[\\^_{}]")


def infer_kind(answer: str, choices: tuple[str, ...] | None = None) -> str:
    """The label kind for `answer`: ``choice``, ``math``, ``number`` or ``text``.

    >>> infer_kind("a cat", ("a dog", "a cat")), infer_kind("(C)"), infer_kind("x^2")
    ('choice', 'choice', 'math')
    >>> infer_kind("3/4"), infer_kind("twelve"), infer_kind("the bell rings"), infer_kind("（Ｂ）")
    ('number', 'number', 'text', 'choice')
    """
    if choices or _LETTER.fullmatch(fold_answer(answer).strip()):
        return "choice"
    if _LATEX.search(answer):
        return "math"
    if parse_number(answer) is not None:
        return "number"
    return "text"
