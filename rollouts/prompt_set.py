"""Prompt sets: JSONL files of questions to sample answers for.

One line per prompt::

    {"id": "pitch-0", "question": "Which tone is higher? (A) … (B) …", "audio": "prompts/pitch-0.flac",
     "label": {"answer": "A", "choices": ["the first tone", "the second tone"]}, "modality": "audio"}

``question`` (with ``audio``: one path or a list, relative to the file) or
``messages`` (chat messages whose audio parts name paths) say what to ask;
``system`` and ``prefill_think`` (default true) shape the prompt; ``label`` and
``modality`` (default ``audio`` when there is audio, else ``text``) are passed
on to the reward. Errors name the file, the line and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aural.errors import AuralError, line_of
from aural.policy.messages import audio_parts, is_audio
from aural.verifiers import FieldError, Label


@dataclass(frozen=True)
class PromptRecord:
    """One prompt of a set: its id, chat messages (audio parts as absolute paths), label,
    modality, whether the answer opens with ``<think>``, and the line as written (with
    its audio paths made absolute, so it reads the same from any folder)."""

    id: str
    messages: list[dict[str, Any]]
    label: Any
    modality: str
    prefill_think: bool
    source: dict[str, Any]


class PromptSetError(AuralError):
    """A prompt line that cannot be read: ``FILE:LINE: FIELD: message``."""


def read_prompt_set(path: str | Path) -> list[PromptRecord]:
    """Every prompt in `path`, checked; ids must be unique."""
    path = Path(path)
    records, seen = [], set()
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = parse_prompt(json.loads(text), path.parent)
            except json.JSONDecodeError as error:
                raise PromptSetError(f"invalid JSON: {error.msg}", line_of(path, number), "line") from None
            except FieldError as error:
                raise PromptSetError(error.message, line_of(path, number), error.field) from None
            if record.id in seen:
                raise PromptSetError(f"{record.id!r} appears twice", line_of(path, number), "id")
            seen.add(record.id)
            records.append(record)
    return records


def parse_prompt(line: Any, folder: Path) -> PromptRecord:
    """One prompt line, its relative audio paths taken from `folder`; raises `FieldError`."""
    if not isinstance(line, dict):
        raise FieldError("line", "expected a JSON object")
    if not isinstance(line.get("id"), str) or not line["id"]:
        raise FieldError("id", "expected a non-empty string")
    if "label" not in line:
        raise FieldError("label", "missing")
    Label.parse(line["label"])  # a bad label fails here, not after sampling
    source = dict(line)
    if "messages" in line:
        messages = source["messages"] = _messages(line["messages"], folder)
    elif isinstance(line.get("question"), str):
        audio = line.get("audio", [])
        paths = [audio] if isinstance(audio, str) else audio
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise FieldError("audio", "expected a path or a list of paths")
        resolved = [_path(p, folder, "audio") for p in paths]
        if "audio" in line:
            source["audio"] = resolved[0] if isinstance(audio, str) else resolved
        content = [{"type": "audio", "audio": path} for path in resolved]
        content.append({"type": "text", "text": line["question"]})
        system = [{"role": "system", "content": line["system"]}] if line.get("system") else []
        messages = system + [{"role": "user", "content": content}]
    else:
        raise FieldError("question", "expected a question (string) or messages")
    modality = line.get("modality", "audio" if audio_parts(messages) else "text")
    if modality not in ("audio", "text"):
        raise FieldError("modality", f"expected audio or text, got {modality!r}")
    return PromptRecord(line["id"], messages, line["label"], modality, bool(line.get("prefill_think", True)), source)


def _messages(messages: Any, folder: Path) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise FieldError("messages", "expected a list of chat messages")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise FieldError(f"messages[{i}]", "expected {role, content}")
        content = message["content"]
        if isinstance(content, list):
            content = [
                {**part, "audio": _path(part.get("audio"), folder, f"messages[{i}].content")} if is_audio(part) else part
                for part in content
            ]
        out.append({**message, "content": content})
    return out


def _path(value: Any, folder: Path, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"expected an audio path, got {value!r}")
    path = (folder / value).absolute()  # absolute whatever folder it was read from (an absolute value stays as is)
    if not path.is_file():
        raise FieldError(field, f"no such audio file {path}")
    return str(path)
