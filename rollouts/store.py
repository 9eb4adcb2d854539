"""The rollout store: append-only JSONL, one block of lines per prompt.

Each prompt's samples are written in one `write` and fsynced, so a process
killed mid-run can leave at most one torn block at the end of the file.
`RolloutStore.recover` finds the prompts already complete and cuts such a tail,
so rerunning the same command redoes that prompt: no rollout lost or duplicated.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aural.errors import AuralError, line_of

log = logging.getLogger(__name__)


class StoreError(AuralError):
    """A store that is damaged other than at its end: ``FILE:LINE: message``."""


class RolloutStore:
    """Rollout blocks in `path`; every line has ``prompt_id``, ``sample_index`` and ``samples``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def recover(self) -> set[str]:
        """The ids of the prompts whose block is complete; a torn last block is cut off."""
        if not self.path.exists():
            return set()
        blocks, committed = self._read()
        size = self.path.stat().st_size
        if committed < size:
            log.warning("%s: dropping %d bytes of an unfinished prompt at the end; it will be sampled again", self.path, size - committed)
            with open(self.path, "r+b") as handle:
                handle.truncate(committed)
        return {block[0]["prompt_id"] for block in blocks}

    def append(self, lines: Sequence[dict[str, Any]]) -> None:
        """Write one prompt's block and make it durable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        with open(self.path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def blocks(self) -> list[list[dict[str, Any]]]:
        """Every complete block, in order (a torn last block is left out)."""
        return self._read()[0] if self.path.exists() else []

    def _read(self) -> tuple[list[list[dict[str, Any]]], int]:
        """The complete blocks and the byte offset where they end. Anything after that
        offset must be one torn block; damage anywhere else raises `StoreError`."""
        with open(self.path, "rb") as handle:
            lines = handle.readlines()
        blocks: list[list[dict[str, Any]]] = []
        block: list[dict[str, Any]] = []
        committed = offset = 0
        for number, raw in enumerate(lines, start=1):
            line = _parse(raw)
            fits = line is not None and line["sample_index"] == len(block) and (not block or line["prompt_id"] == block[0]["prompt_id"])
            if not fits:
                if _starts_a_block(lines[number - 1 :]) or len(lines) - number >= _samples(block, line):
                    raise StoreError("not the next sample of a prompt; the store is damaged", line_of(self.path, number))
                return blocks, committed
            block.append(line)
            offset += len(raw)
            if len(block) == line["samples"]:
                blocks.append(block)
                block, committed = [], offset
        return blocks, committed


def _parse(raw: bytes) -> dict[str, Any] | None:
    """A whole, well-formed line, or None."""
    if not raw.endswith(b"\n"):
        return None
    try:
        line = json.loads(raw)
    except json.JSONDecodeError:
        return None
    ok = isinstance(line, dict) and isinstance(line.get("sample_index"), int) and isinstance(line.get("samples"), int)
    return line if ok and isinstance(line.get("prompt_id"), str) else None


def _starts_a_block(lines: list[bytes]) -> bool:
    """Whether `lines` hold a complete block after their first line (so it was not a torn tail)."""
    for raw in lines[1:]:
        line = _parse(raw)
        if line is not None and line["sample_index"] == 0:
            return True
    return False


def _samples(block: list[dict[str, Any]], line: dict[str, Any] | None) -> int:
    """How many lines a torn block could still have had."""
    return (block[0]["samples"] if block else line["samples"] if line else 1) - len(block)
