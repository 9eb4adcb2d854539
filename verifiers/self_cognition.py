"""Self-cognition errors: answers that deny hearing the audio ("I can only read text")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from .lexicon import load_lexicon
from .registry import Verifier, register
from .schema import Sample, Verdict


@register("self_cognition")
class SelfCognition(Verifier):
    """1.0 when the response does not deny hearing the audio; 0.0 with reason
    ``denies_audio`` and the phrase found when it does (English and Chinese).

    >>> check = SelfCognition()
    >>> check(Sample("I'm sorry, but I can only read text.", "B", "audio")).extracted
    'I can only read text'
    >>> check(Sample("<think>A low hum under speech.</think>(B)", "B", "audio")).reason
    'ok'
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "denies_audio"})

    def __init__(self, lexicon: str | Path | None = None):
        patterns = load_lexicon("self_cognition", lexicon)["patterns"]
        self._denial = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)

    def check(self, sample: Sample) -> Verdict:
        found = self._denial.search(sample.response)
        if found:
            return Verdict(0.0, "denies_audio", found.group())
        return Verdict(1.0, "ok")
