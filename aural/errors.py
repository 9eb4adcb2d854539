"""`AuralError`: a failure the user can fix, saying where it is and which field.

Every error Aural raises on bad input (a recipe, a prompt line, a config, a clip, a
request) is an `AuralError`; the `aural` command prints its message and exits 2 (as it does
for a path that cannot be read, `PATH_ERRORS`), and lets any other exception (a bug, in
Aural or in torch, vLLM, Ray) show its traceback.

>>> error = AuralError("expected a number", where=line_of("data.jsonl", 3), field="label.answer")
>>> str(error)
'data.jsonl:3: label.answer: expected a number'
>>> error.where, error.field, error.message
('data.jsonl:3', 'label.answer', 'expected a number')
"""

from __future__ import annotations

from pathlib import Path


class AuralError(ValueError):
    """Bad input, located: ``WHERE: FIELD: message`` (`where` and `field` may be empty)."""

    def __init__(self, message: str, where: str = "", field: str = ""):
        super().__init__(located(message, where, field))
        self.message, self.where, self.field = message, where, field


def located(message: str, where: str = "", field: str = "") -> str:
    """``WHERE: FIELD: message``, leaving out the empty parts: how every error is written.

    >>> located("no such file", where="clip.flac")
    'clip.flac: no such file'
    """
    return ": ".join(part for part in (where, field, message) if part)


def line_of(path: str | Path, line: int) -> str:
    """Where a line of a file is, as every error writes it.

    >>> line_of("prompts.jsonl", 12)
    'prompts.jsonl:12'
    """
    return f"{path}:{line}"


# What opening a path the user named raises when the path is at fault: theirs to fix too.
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class MissingFile(AuralError, FileNotFoundError):
    """A file or folder the user named that is not there.

    >>> isinstance(MissingFile("no such config", where="ppo.toml"), FileNotFoundError)
    True
    """
