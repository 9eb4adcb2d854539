"""Plain-text tables for terminal reports."""

from __future__ import annotations

from collections.abc import Sequence


def plain_table(rows: Sequence[Sequence[str]], title: str = "") -> str:
    """Left-aligned columns under a header row and a rule.

    >>> print(plain_table([("name", "score"), ("format", "1.0")]))
    name    score
    ------  -----
    format  1.0
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([title, *lines] if title else lines)
