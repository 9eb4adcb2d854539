"""The rollout engines' worker extension on CPU (part of the layer `aural.training.cpu_device`
describes): the weight-sync group is gloo and each weight the trainer broadcasts lands in a
CPU buffer, where OpenRLHF's `WorkerWrap` joins an NCCL group and receives on CUDA."""

from __future__ import annotations

from typing import Any

import torch

from aural.errors import AuralError

from .cpu_device import gloo_weight_sync_group
from .vllm_weights import AudioWorkerExtension


class CPUWorkerExtension(AudioWorkerExtension):
    """`AudioWorkerExtension` over a gloo weight-sync group, receiving into CPU memory."""

    def init_process_group(
        self,
        master_address: str,
        master_port: int,
        rank_offset: int,
        world_size: int,
        group_name: str,
        backend: str = "gloo",
        use_ray: bool = False,
    ) -> None:
        """Join the trainer's rank 0 in the gloo weight-sync group, as this engine's rank `rank_offset` + local rank."""
        if use_ray:
            raise AuralError("on CPU the weight sync runs over gloo: leave --vllm.sync_with_ray off")
        self._model_update_with_ray = False
        self._model_update_group = gloo_weight_sync_group(
            master_address, master_port, torch.distributed.get_rank() + rank_offset, world_size
        )

    def update_weight(self, name: str, dtype: torch.dtype, shape: Any, empty_cache: bool = False) -> None:
        """Receive one weight from the trainer's rank 0 and load it into the engine's model."""
        if dtype != self.model_config.dtype:
            raise AuralError(f"the trainer sends {dtype}, the engine runs {self.model_config.dtype}", field=f"weight {name}")
        weight = torch.empty(shape, dtype=dtype)
        self._model_update_group.broadcast(weight, src=0)
        self.model_runner.model.load_weights(weights=[(self.engine_name(name), weight)])
