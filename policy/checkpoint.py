"""Saving a policy so that both transformers and vLLM load it."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

# What transformers may write (it has written each of these) -> the layout of the released
# Qwen2-Audio checkpoints, the only one vLLM reads.
_RELEASED_PREFIXES = (
    ("model.language_model.", "language_model.model."),
    ("language_model.model.model.", "language_model.model."),
    ("model.audio_tower.", "audio_tower."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
    ("lm_head.", "language_model.lm_head."),
)


def save_policy(model: torch.nn.Module, folder: str | Path) -> Path:
    """`model.save_pretrained(folder)`, then Qwen2-Audio weights renamed to the released layout
    (``audio_tower.*``, ``multi_modal_projector.*``, ``language_model.model.*``, ``language_model.lm_head.*``)."""
    folder = Path(folder)
    model.save_pretrained(folder)
    if model.config.model_type == "qwen2_audio":
        for path in folder.glob("*.safetensors"):
            renamed = {}
            for name, tensor in load_file(path).items():
                for old, new in _RELEASED_PREFIXES:
                    if name.startswith(old):
                        name = new + name[len(old) :]
                        break
                renamed[name] = tensor.contiguous()
            save_file(renamed, path, metadata={"format": "pt"})
    return folder
