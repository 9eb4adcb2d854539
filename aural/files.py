"""Files written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[str]]:
    """Open `path` for writing text; it appears, synced to disk, only if the block completes.

    >>> import tempfile; folder = tempfile.mkdtemp()
    >>> with atomic_write(f"{folder}/a/out.txt") as out:
    ...     _ = out.write("done")
    >>> open(f"{folder}/a/out.txt").read()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
