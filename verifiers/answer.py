"""Answer correctness for any label: dispatches on the label's kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import Verifier, make_verifier, register
from .schema import KINDS, Sample, Verdict

_TAG_OPTIONS = ("open_tag", "close_tag", "prefill")


@register("answer")
class Answer(Verifier):
    """Checks the answer with the verifier named by ``label.kind``
    (``choice``, ``math``, ``number``, ``text`` or ``asr``).

    Keyword arguments named after a kind configure that kind's verifier; the
    tag options (``open_tag``, ``close_tag``, ``prefill``) go to all of them.

    >>> check = Answer(math={"timeout_s": 2.0})
    >>> check(Sample("<think>Two beeps.</think>2", "2", "audio")).score
    1.0
    >>> check(Sample("<think>Meow.</think>(B)", {"answer": "a cat", "choices": ["a dog", "a cat"]}, "audio")).extracted
    'B'
    """

    def __init__(self, **options: Any):
        tags = {key: options.pop(key) for key in _TAG_OPTIONS if key in options}
        unknown = set(options) - set(KINDS)
        if unknown:
            raise TypeError(f"unknown options {sorted(unknown)}; expected tag options or kinds {KINDS}")
        self.by_kind = {kind: make_verifier(kind, **tags, **_table(options, kind)) for kind in KINDS}

    def declared_reasons(self) -> frozenset[str] | None:
        """The reasons of every kind's verifier; None when one of them leaves its own undeclared."""
        declared = [verifier.declared_reasons() for verifier in self.by_kind.values()]
        if any(reasons is None for reasons in declared):
            return None
        return frozenset(reason for reasons in declared if reasons is not None for reason in reasons)

    def check(self, sample: Sample) -> Verdict:
        return self.by_kind[sample.label.kind].check(sample)


def _table(options: Mapping[str, Any], kind: str) -> dict[str, Any]:
    value = options.get(kind, {})
    if not isinstance(value, Mapping):
        raise TypeError(f"options for {kind!r} must be a table, got {value!r}")
    return dict(value)
