"""``python -m aural.training.launch FLAGS…``: OpenRLHF's `train_ppo_ray`, with Aural's
audio plug-in installed in this process and in every Ray worker.

Ray is started here (or joined, where ``RAY_ADDRESS`` names a cluster) with a
``worker_process_setup_hook`` that installs the plug-in before a worker builds
a model, and with the ``AURAL_*`` settings passed to the workers; OpenRLHF then
finds Ray running and uses it. The flags are `train_ppo_ray`'s own.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Sequence

from .openrlhf_audio import install

PLUGIN_HOOK = "aural.training.openrlhf_audio.install"
# What OpenRLHF sets for its workers when it starts Ray itself.
OPENRLHF_DEFAULTS = {"TOKENIZERS_PARALLELISM": "true", "NCCL_DEBUG": "WARN", "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}


def worker_environment() -> dict[str, str]:
    """The variables Ray workers get: OpenRLHF's defaults (unless set here) and every ``AURAL_*``."""
    settings = {name: os.environ.get(name, value) for name, value in OPENRLHF_DEFAULTS.items()}
    settings.update({name: value for name, value in os.environ.items() if name.startswith("AURAL_")})
    return settings


def runtime_environment() -> dict:
    """Ray's runtime environment for the run: the plug-in's setup hook and `worker_environment()`."""
    return {"worker_process_setup_hook": PLUGIN_HOOK, "env_vars": worker_environment()}


def main(argv: Sequence[str] | None = None) -> None:
    """Start Ray with the plug-in, then run `train_ppo_ray` with `argv`."""
    import ray

    install()
    ray.init(runtime_env=runtime_environment())
    sys.argv = ["train_ppo_ray", *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
