"""``python -m aural.training.launch [--aural.record DIR] [--aural.no_weight_sync] FLAGS…``:
OpenRLHF's `train_ppo_ray`, with Aural's audio plug-in installed in this process and in
every Ray worker.

Ray is started here (or joined, where ``RAY_ADDRESS`` names a cluster) with a
``worker_process_setup_hook`` that installs the plug-in before a worker builds
a model, and with the ``AURAL_*`` settings passed to the workers; OpenRLHF then
finds Ray running and uses it. FLAGS are `train_ppo_ray`'s own. ``--aural.record DIR``
writes what the run does (`aural.training.run_record`); ``--aural.no_weight_sync`` is
the control run whose rollout engines keep their first weights. On a machine without
CUDA, Ray gets logical GPUs for OpenRLHF's placement groups and the workers the CPU
layer's settings (`aural.training.cpu_device`).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence

from .cpu_device import CPU_WORKER_ENVIRONMENT, on_cpu
from .openrlhf_audio import NO_WEIGHT_SYNC_VARIABLE, install
from .run_record import RECORD_VARIABLE

PLUGIN_HOOK = "aural.training.openrlhf_audio.install"
# What OpenRLHF sets for its workers when it starts Ray itself.
OPENRLHF_DEFAULTS = {"TOKENIZERS_PARALLELISM": "true", "NCCL_DEBUG": "WARN", "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}
LOGICAL_GPUS = 8  # on CPU: enough for every actor, critic, reference and engine of a smoke run


def worker_environment() -> dict[str, str]:
    """The variables Ray workers get: OpenRLHF's defaults (unless set here), the CPU layer's
    settings on a machine without CUDA, and every ``AURAL_*``."""
    settings = {name: os.environ.get(name, value) for name, value in OPENRLHF_DEFAULTS.items()}
    if on_cpu():
        settings.update({name: os.environ.get(name, value) for name, value in CPU_WORKER_ENVIRONMENT.items()})
    settings.update({name: value for name, value in os.environ.items() if name.startswith("AURAL_")})
    return settings


def runtime_environment() -> dict:
    """Ray's runtime environment for the run: the plug-in's setup hook and `worker_environment()`."""
    return {"worker_process_setup_hook": PLUGIN_HOOK, "env_vars": worker_environment()}


def split_arguments(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Aural's own launch options, and the rest (`train_ppo_ray`'s flags).

    >>> options, flags = split_arguments(["--aural.record", "run", "--train.seed", "3"])
    >>> options.record, options.no_weight_sync, flags
    ('run', False, ['--train.seed', '3'])
    """
    parser = argparse.ArgumentParser(prog="python -m aural.training.launch", add_help=False)
    parser.add_argument("--aural.record", dest="record", default=None)
    parser.add_argument("--aural.no_weight_sync", dest="no_weight_sync", action="store_true")
    return parser.parse_known_args(list(argv))


def main(argv: Sequence[str] | None = None) -> None:
    """Start Ray with the plug-in, then run `train_ppo_ray` with the flags of `argv`."""
    import ray

    options, flags = split_arguments(sys.argv[1:] if argv is None else argv)
    if options.record:
        os.makedirs(options.record, exist_ok=True)
        os.environ[RECORD_VARIABLE] = os.path.abspath(options.record)
    if options.no_weight_sync:
        os.environ[NO_WEIGHT_SYNC_VARIABLE] = "1"
    install()
    local_cpu = on_cpu() and not os.environ.get("RAY_ADDRESS")
    resources = (
        {"num_cpus": max(os.cpu_count() or 1, LOGICAL_GPUS), "num_gpus": LOGICAL_GPUS, "include_dashboard": False} if local_cpu else {}
    )
    ray.init(runtime_env=runtime_environment(), **resources)
    sys.argv = ["train_ppo_ray", *flags]
    runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
