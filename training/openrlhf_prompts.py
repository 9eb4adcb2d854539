"""An Aural prompt set as OpenRLHF's prompt file: one JSON line per prompt with the
rendered prompt (``input``) and a JSON label (``label``) that carries the answer,
the modality and the prompt's audio paths, for the agent executor to load.

    {"input": "<|im_start|>system…Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>…<think>\\n",
     "label": "{\\"answer\\": \\"A\\", …, \\"modality\\": \\"audio\\", \\"audio\\": [\\"/data/q1.flac\\"], \\"id\\": \\"q1\\"}"}

Train with ``--data.input_key input --data.label_key label`` and no chat template:
the prompt is rendered here, by the policy's own template, once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aural.files import atomic_write
from aural.policy.prompt import PromptBuilder
from aural.rollouts.prompt_set import PromptRecord

INPUT_KEY = "input"
LABEL_KEY = "label"


def openrlhf_line(record: PromptRecord, builder: PromptBuilder) -> dict[str, str]:
    """The OpenRLHF prompt line of `record`, rendered by `builder` (audio is not loaded)."""
    text, audio_parts = builder.render(record.messages, record.prefill_think)
    label: dict[str, Any] = dict(record.label) if isinstance(record.label, dict) else {"answer": record.label}
    label.update(modality=record.modality, audio=[part["audio"] for part in audio_parts], id=record.id)
    return {INPUT_KEY: text, LABEL_KEY: json.dumps(label, ensure_ascii=False)}


def write_openrlhf_prompts(records: Sequence[PromptRecord], builder: PromptBuilder, path: str | Path) -> Path:
    """Write every record's OpenRLHF line to `path` (whole or not at all); returns it."""
    with atomic_write(path) as out:
        for record in records:
            out.write(json.dumps(openrlhf_line(record, builder), ensure_ascii=False) + "\n")
    return Path(path)
