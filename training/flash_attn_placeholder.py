"""An import placeholder for flash-attn, so OpenRLHF's model code imports on a machine
without a GPU.

OpenRLHF imports flash-attn's padding helpers at module level, for sequence
packing and ring attention only. Where flash-attn is not installed, this puts
empty ``flash_attn.bert_padding`` and ``flash_attn.utils.distributed`` modules in
place whose functions raise if called: packing needs the real package on a GPU.
Nothing else changes: ``flash_attn.ops`` still fails to import, so OpenRLHF takes
its plain-torch log-probability path, and transformers still finds no flash-attn.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from typing import Any, NoReturn

PLACEHOLDERS = {
    "flash_attn.bert_padding": ("index_first_axis", "pad_input", "rearrange", "unpad_input"),
    "flash_attn.utils.distributed": ("all_gather",),
}


def install_flash_attn_placeholder() -> bool:
    """Put the placeholder modules in place unless flash-attn is installed; True if it did.

    >>> _ = install_flash_attn_placeholder()
    >>> install_flash_attn_placeholder()  # in place already (or flash-attn is installed): nothing to do
    False
    >>> import flash_attn.bert_padding  # imports either way
    """
    if "flash_attn" in sys.modules or importlib.util.find_spec("flash_attn") is not None:
        return False
    for name in ("flash_attn", "flash_attn.utils", *PLACEHOLDERS):
        module = types.ModuleType(name, "placeholder: flash-attn is not installed")
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        module.__path__ = []
        for function in PLACEHOLDERS.get(name, ()):
            setattr(module, function, _unavailable(f"{name}.{function}"))
        sys.modules[name] = module
    return True


def _unavailable(name: str) -> Any:
    def unavailable(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(f"{name} needs flash-attn (a GPU build): sequence packing and ring attention are GPU-only")

    return unavailable
