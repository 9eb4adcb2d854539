"""The rollout engines' side of OpenRLHF's weight sync, for audio policies.

After each PPO step OpenRLHF 0.11.2 broadcasts the actor's weights to its vLLM
engines under their names in the transformers model in memory
(``model.language_model.…``, ``model.audio_tower.…`` for Qwen2-Audio), while
vLLM's audio models load weights by their checkpoint names
(``language_model.model.…``, ``audio_tower.…``). `AudioWorkerExtension` is the
worker extension Aural's plug-in gives OpenRLHF's engines (in place of its
``WorkerWrap``): every received weight is loaded under the engine's name for it.
"""

from __future__ import annotations

from typing import Any

from openrlhf.trainer.ray.vllm_worker_wrap import WorkerWrap

from aural.policy.checkpoint import engine_weight_name

WORKER_EXTENSION = "aural.training.vllm_weights.AudioWorkerExtension"


class AudioWorkerExtension(WorkerWrap):
    """OpenRLHF's vLLM worker extension, loading each synced weight under the engine's name."""

    def engine_name(self, name: str) -> str:
        """The engine model's name for the trainer's weight `name`."""
        return engine_weight_name(self.model_config.hf_config.model_type, name)

    def update_weight(self, name: str, dtype: Any, shape: Any, empty_cache: bool = False) -> None:
        """OpenRLHF's broadcast receive, loaded under the engine's name."""
        super().update_weight(self.engine_name(name), dtype, shape, empty_cache)

    def update_weight_cuda_ipc(self, name: str, dtype: Any, shape: Any, ipc_handles: Any = None, empty_cache: bool = False) -> None:
        """OpenRLHF's CUDA-IPC receive (colocated engines), loaded under the engine's name."""
        super().update_weight_cuda_ipc(self.engine_name(name), dtype, shape, ipc_handles, empty_cache)
