"""Text normalization shared by the matching verifiers."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def normalize_text(text: str, strip_articles: bool = False) -> str:
    """Casefold, drop punctuation and symbols, and collapse whitespace.

    >>> normalize_text("  The  Dog's bark!  ")
    'the dog s bark'
    >>> normalize_text("The dog", strip_articles=True)
    'dog'
    """
    text = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    if strip_articles:
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())
