"""Word lists as data: the shipped lexicons of the text-matching verifiers, extended from users' TOML files."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def load_lexicon(name: str, extra: str | Path | None = None) -> dict[str, Any]:
    """The shipped lexicon `name` (``verifiers/lexicons/NAME.toml``) with the lists in `extra` appended.

    >>> sorted(load_lexicon("acoustic_grounding")["cues"])[:3]
    ['background', 'emotion_cues', 'loudness']
    """
    lexicon = tomllib.loads((resources.files("aural.verifiers") / "lexicons" / f"{name}.toml").read_text("utf-8"))
    if extra is not None:
        _merge(lexicon, tomllib.loads(Path(extra).read_text("utf-8")))
    return lexicon


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        elif isinstance(value, list):
            into[key] = list(into.get(key, [])) + value
        else:
            into[key] = value


_WORD = re.compile(r"[a-z0-9]+(?:['\u2019-][a-z0-9]+)*")


class TermMatcher:
    """Finds which of `terms` a text contains, ignoring case: English terms as whole words
    (and word sequences), other scripts anywhere. Found terms come back case-folded.
    One pass over the words, set look-ups for every span of up to the longest term's
    length: linear, whatever the list's size.

    >>> TermMatcher(["pitch", "speaking rate", "high-pitched", "音调"]).find("A high-pitched voice; Pitch and speaking rate. 音调高")
    ['high-pitched', 'pitch', 'speaking rate', '音调']
    >>> TermMatcher(["Tonhöhe", "Ärger"]).find("TONHÖHE und ärger")
    ['tonhöhe', 'ärger']
    """

    def __init__(self, terms: list[str]):
        ascii_terms = [t.lower() for t in terms if t.isascii()]
        self._phrases = {tuple(_WORD.findall(t)): t for t in ascii_terms if _WORD.findall(t)}
        self._longest = max((len(p) for p in self._phrases), default=0)
        others = sorted({t.casefold() for t in terms if not t.isascii()}, key=len, reverse=True)
        self._others = re.compile("|".join(map(re.escape, others))) if others else None

    def find(self, text: str) -> list[str]:
        """The terms found, in order of first appearance, each once."""
        words = _WORD.findall(text.lower())
        found: dict[str, None] = {}
        for start in range(len(words)):
            for length in range(1, min(self._longest, len(words) - start) + 1):
                term = self._phrases.get(tuple(words[start : start + length]))
                if term is not None:
                    found[term] = None
        if self._others is not None:
            found.update((m.group(), None) for m in self._others.finditer(text.casefold()))
        return list(found)
