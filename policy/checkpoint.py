"""Saving a policy so that both transformers and vLLM load it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from aural.files import atomic_write

# What transformers may write (it has written each of these) -> the layout of the released
# Qwen2-Audio checkpoints, the only one vLLM reads.
_RELEASED_PREFIXES = (
    ("model.language_model.", "language_model.model."),
    ("language_model.model.model.", "language_model.model."),
    ("model.audio_tower.", "audio_tower."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
    ("lm_head.", "language_model.lm_head."),
)
INDEX = "model.safetensors.index.json"


def released_name(name: str) -> str:
    """The name a Qwen2-Audio weight has in the released checkpoints.

    >>> released_name("model.audio_tower.conv1.weight"), released_name("audio_tower.conv1.weight")
    ('audio_tower.conv1.weight', 'audio_tower.conv1.weight')
    """
    for old, new in _RELEASED_PREFIXES:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


# vLLM's Qwen2.5-Omni thinker reads the weights of a full Omni checkpoint (``thinker.*``).
_OMNI_THINKER_TYPES = ("qwen2_5_omni_thinker", "qwen2_5_omni")


def engine_weight_name(model_type: str, name: str) -> str:
    """The name vLLM's model of `model_type` loads a weight by, from its name in the
    transformers model in memory (what a trainer holds and broadcasts).

    >>> engine_weight_name("qwen2_audio", "model.language_model.layers.0.mlp.up_proj.weight")
    'language_model.model.layers.0.mlp.up_proj.weight'
    >>> engine_weight_name("qwen2_5_omni_thinker", "model.norm.weight")
    'thinker.model.norm.weight'
    >>> engine_weight_name("qwen2", "model.norm.weight")
    'model.norm.weight'
    """
    if model_type == "qwen2_audio":
        return released_name(name)
    if model_type in _OMNI_THINKER_TYPES:
        return "thinker." + name
    return name


def save_policy(model: torch.nn.Module, folder: str | Path) -> Path:
    """`model.save_pretrained(folder)`, then Qwen2-Audio weights renamed to the released layout
    (``audio_tower.*``, ``multi_modal_projector.*``, ``language_model.model.*``, ``language_model.lm_head.*``)
    in every shard and in the shard index. Each file is replaced whole."""
    folder = Path(folder)
    model.save_pretrained(folder)
    if model.config.model_type == "qwen2_audio":
        for path in folder.glob("*.safetensors"):
            renamed = {released_name(name): tensor.contiguous() for name, tensor in load_file(path).items()}
            partial = path.with_name(f".{path.name}.partial")
            try:
                save_file(renamed, partial, metadata={"format": "pt"})
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
        index_path = folder / INDEX
        if index_path.exists():
            index = json.loads(index_path.read_text(encoding="utf-8"))
            index["weight_map"] = {released_name(name): shard for name, shard in index["weight_map"].items()}
            with atomic_write(index_path) as out:
                json.dump(index, out, indent=2, sort_keys=True)
    return folder


def save_trained(model: torch.nn.Module, base: str | Path, folder: str | Path) -> Path:
    """A trained copy of the policy in `base` as a policy folder: `model`'s weights (`save_policy`)
    with `base`'s tokenizer, feature extractor and chat template beside them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in Path(base).iterdir():
        if path.is_file() and not path.name.endswith(".safetensors") and path.name != INDEX:
            shutil.copyfile(path, folder / path.name)
    return save_policy(model, folder)
