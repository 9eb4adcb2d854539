"""The reasoning grammar: one ``<think>…</think>`` block, then the final answer.

`parse_think` splits a response in one linear scan of its tags; `think_format`
is the strict verifier over it, with one reason code for each way to break it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar, Literal, NamedTuple, TypedDict, Unpack

from .marked import AnswerParts, answer_parts
from .normalize import INVISIBLE, fold_answer
from .registry import Verifier, register
from .schema import Sample, Verdict

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class ThinkParse(NamedTuple):
    """How a response splits into reasoning and final answer.

    `status` is ``ok`` or the first rule broken: ``no_think``, ``late_think``
    (text before the block), ``nested_think``, ``unclosed_think`` or
    ``multiple_think``. `answer` is the text after the last closing tag; the
    whole response when it has no tags; empty when the block never closes.
    """

    status: str
    reasoning: str
    answer: str


def _tags(text: str, open_tag: str, close_tag: str) -> Iterator[tuple[int, int, bool]]:
    """Each tag in `text` in order: ``(start, end, is_open)``. Two `str.find` cursors, linear."""
    at_open, at_close = text.find(open_tag), text.find(close_tag)
    while at_open >= 0 or at_close >= 0:
        if at_close < 0 or 0 <= at_open <= at_close:
            start, end, is_open = at_open, at_open + len(open_tag), True
        else:
            start, end, is_open = at_close, at_close + len(close_tag), False
        yield start, end, is_open
        if at_open >= 0 and at_open < end:
            at_open = text.find(open_tag, end)
        if at_close >= 0 and at_close < end:
            at_close = text.find(close_tag, end)


def parse_think(response: str, open_tag: str = OPEN_TAG, close_tag: str = CLOSE_TAG, prefilled: bool = False) -> ThinkParse:
    """Split `response`; `prefilled` means the prompt already opened the block.

    >>> parse_think("<think>It rises.</think>(B)")
    ThinkParse(status='ok', reasoning='It rises.', answer='(B)')
    >>> parse_think("It rises.</think>(B)", prefilled=True).status
    'ok'
    >>> parse_think("<think>a</think><think>b</think>(B)")
    ThinkParse(status='multiple_think', reasoning='a', answer='(B)')
    """
    tags = _tags(response, open_tag, close_tag)
    if prefilled:
        block_start = 0
    else:
        first = next(tags, None)
        if first is None:
            return ThinkParse("no_think", "", response)
        start, block_start, is_open = first
        if not is_open:
            return ThinkParse("no_think", "", _after_last_close(response, close_tag))
        if response[:start].strip():
            return ThinkParse("late_think", "", _after_last_close(response, close_tag))
    closing = next(tags, None)
    if closing is None:
        return ThinkParse("unclosed_think", response[block_start:], "")
    close_start, close_end, is_open = closing
    if is_open:
        return ThinkParse("nested_think", "", _after_last_close(response, close_tag))
    reasoning = response[block_start:close_start]
    if next(tags, None) is not None:
        return ThinkParse("multiple_think", reasoning, _after_last_close(response, close_tag))
    return ThinkParse("ok", reasoning, response[close_end:])


def _after_last_close(response: str, close_tag: str) -> str:
    cut = response.rfind(close_tag)
    return "" if cut < 0 else response[cut + len(close_tag) :]


class ThinkTags(TypedDict, total=False):
    """The options of `ReadsThink`, as subclasses pass them on (``**tags``)."""

    open_tag: str
    close_tag: str
    prefill: bool | Literal["auto"]


class ReadsThink(Verifier):
    """Base for verifiers that read a response through the reasoning grammar.

    `prefill` is ``"auto"`` (the prompt ends with the open tag), or True/False.
    """

    def __init__(self, open_tag: str = OPEN_TAG, close_tag: str = CLOSE_TAG, prefill: bool | Literal["auto"] = "auto"):
        if not open_tag or not close_tag or open_tag == close_tag:
            raise ValueError("open_tag and close_tag must be two different non-empty strings")
        if prefill not in (True, False, "auto"):
            raise ValueError(f"prefill must be true, false or 'auto', got {prefill!r}")
        self.open_tag = open_tag
        self.close_tag = close_tag
        self.prefill = prefill

    def parse(self, sample: Sample) -> ThinkParse:
        """The sample's response split into reasoning and final answer, parsed once for all
        the verifiers of the sample (kept in its `memo`)."""
        prefilled = sample.prompt.rstrip().endswith(self.open_tag) if self.prefill == "auto" else bool(self.prefill)
        key = (parse_think, self.open_tag, self.close_tag, prefilled)
        if key not in sample.memo:
            sample.memo[key] = parse_think(sample.response, self.open_tag, self.close_tag, prefilled)
        return sample.memo[key]

    def answer_parts(self, sample: Sample) -> AnswerParts:
        """The final answer, folded as read by eye (`fold_answer`), taken apart into marks,
        unmarked text and asides (`answer_parts`)."""
        return answer_parts(fold_answer(self.parse(sample).answer))


@register("think_format")
class ThinkFormat(ReadsThink):
    """1.0 when the response is one closed reasoning block with at least
    `min_reasoning_chars` visible characters, a letter or digit among them, then a
    non-empty answer. Zero-width and bidi marks, the BOM, the Braille blank and the
    Hangul fillers are not visible: reasoning made of them is ``empty_think``.

    >>> fmt = ThinkFormat()
    >>> fmt(Sample("<think>The tone rises.</think>(B)", "B", "audio")).reason
    'ok'
    >>> fmt(Sample("<think> </think>(B)", "B", "audio")).reason
    'empty_think'
    >>> fmt(Sample("<think>rising", "B", "audio", finish_reason="length")).reason
    'truncated'
    >>> fmt(Sample("<think>\u200b\u3164\u2800</think>(B)", "B", "audio")).reason
    'empty_think'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"ok", "truncated", "no_think", "late_think", "nested_think", "unclosed_think", "multiple_think", "empty_think", "no_answer"}
    )

    def __init__(self, min_reasoning_chars: int = 1, **tags: Unpack[ThinkTags]):
        super().__init__(**tags)
        if min_reasoning_chars < 0:
            raise ValueError("min_reasoning_chars must be >= 0")
        self.min_reasoning_chars = min_reasoning_chars

    def check(self, sample: Sample) -> Verdict:
        if sample.finish_reason == "length":
            return Verdict(0.0, "truncated")
        parsed = self.parse(sample)
        if parsed.status != "ok":
            return Verdict(0.0, parsed.status)
        if not _has_visible_chars(parsed.reasoning, self.min_reasoning_chars):
            return Verdict(0.0, "empty_think")
        if not _has_visible_chars(parsed.answer, 1):
            return Verdict(0.0, "no_answer")
        return Verdict(1.0, "ok")


_BLANK = f"\\s{INVISIBLE}"
_VISIBLE = re.compile(f"[^{_BLANK}]+")
_LETTER_OR_DIGIT = re.compile(f"[^\\W_{INVISIBLE}]")


def _has_visible_chars(text: str, count: int) -> bool:
    """Whether `text` holds a visible letter or digit and at least `count` visible
    characters; each scan stops once it has seen enough.

    >>> _has_visible_chars("...", 1), _has_visible_chars("a", 1), _has_visible_chars("\u3164\u200b", 1)
    (False, True, False)
    >>> _has_visible_chars("", 0)  # no minimum: nothing asked for
    True
    """
    if count <= 0:
        return True
    if _LETTER_OR_DIGIT.search(text) is None:
        return False
    seen = 0
    for run in _VISIBLE.finditer(text):
        seen += run.end() - run.start()
        if seen >= count:
            return True
    return seen >= count
