"""Sharding a policy over a cluster: vLLM tensor parallelism for rollouts and
DeepSpeed ZeRO-3 for training through OpenRLHF.

`plan_sharding` reads the model's config, checks that the tensor-parallel size
divides what vLLM splits (attention heads, key-value heads, MLP width) and fits
in a node, sizes it from the weights when not given, and returns the engine
count and the OpenRLHF flags. Impossible shapes are `ShardingError`s that say
which number does not divide which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig

from aural.errors import AuralError

from .model import BUILT_IN

BYTES_PER_PARAMETER = 2  # bf16 weights, as trained and served on GPUs
GB = 2**30  # the unit of `Cluster.gpu_memory_gb`, as GPUs are sold: an "80 GB" GPU holds 80 GiB
WEIGHT_SHARE = 0.4  # at most this share of a GPU's memory for weights; the rest is KV cache and activations


class ShardingError(AuralError):
    """A cluster shape or parallel size the model cannot be split into."""


@dataclass(frozen=True)
class Cluster:
    """How many nodes, GPUs on each, and memory per GPU (in `GB`)."""

    nodes: int = 1
    gpus_per_node: int = 8
    gpu_memory_gb: float = 80.0

    @property
    def gpus(self) -> int:
        """All GPUs."""
        return self.nodes * self.gpus_per_node


@dataclass(frozen=True)
class ShardingPlan:
    """vLLM engines of `tensor_parallel` GPUs each over the whole cluster, and
    ZeRO-3 training on the same GPUs (OpenRLHF's colocated mode)."""

    cluster: Cluster
    tensor_parallel: int
    parameters: int

    @property
    def vllm_engines(self) -> int:
        """How many vLLM engines the cluster holds."""
        return self.cluster.gpus // self.tensor_parallel

    def openrlhf_args(self) -> dict[str, Any]:
        """The `train_ppo_ray` flags for this plan (flags without a value map to True)."""
        shape = {"num_nodes": self.cluster.nodes, "num_gpus_per_node": self.cluster.gpus_per_node}
        return {
            "--vllm.num_engines": self.vllm_engines,
            "--vllm.tensor_parallel_size": self.tensor_parallel,
            "--vllm.enable_sleep": True,
            "--train.colocate_all": True,
            "--ds.zero_stage": 3,
            **{f"--actor.{k}": v for k, v in shape.items()},
            **{f"--ref.{k}": v for k, v in shape.items()},
            **{f"--critic.{k}": v for k, v in shape.items()},
        }


def plan_sharding(
    model: str | Path | PretrainedConfig, cluster: Cluster, tensor_parallel: int | None = None, trust_remote_code: bool = False
) -> ShardingPlan:
    """Plan rollouts and training of `model` (a local folder or its config) on `cluster`.

    A full Qwen2.5-Omni checkpoint is planned for its thinker, the part trained
    and served. Without `tensor_parallel`, the smallest size that divides the
    model and keeps each GPU's share of the bf16 weights under 40% of its memory.
    `trust_remote_code` lets a model that ships its own code be read and counted.
    """
    if cluster.nodes < 1 or cluster.gpus_per_node < 1:
        raise ShardingError(f"a cluster needs at least one node and one GPU per node, got {cluster}")
    if not isinstance(model, PretrainedConfig):
        model = AutoConfig.from_pretrained(str(model), local_files_only=True, trust_remote_code=trust_remote_code)
    config = model.thinker_config if model.model_type == "qwen2_5_omni" else model
    text = getattr(config, "text_config", None) or config
    parameters = _count_parameters(config, trust_remote_code)
    if tensor_parallel is None:
        tensor_parallel = _smallest_fitting(text, cluster, parameters)
    _check(text, cluster, tensor_parallel)
    return ShardingPlan(cluster, tensor_parallel, parameters)


def _check(text: PretrainedConfig, cluster: Cluster, tp: int) -> None:
    if tp < 1:
        raise ShardingError(f"tensor_parallel must be >= 1, got {tp}")
    if tp > cluster.gpus_per_node:
        raise ShardingError(f"tensor_parallel {tp} is more than the {cluster.gpus_per_node} GPUs of a node")
    if cluster.gpus % tp:
        raise ShardingError(f"tensor_parallel {tp} does not divide the cluster's {cluster.gpus} GPUs")
    heads, kv_heads = text.num_attention_heads, getattr(text, "num_key_value_heads", None) or text.num_attention_heads
    if heads % tp:
        raise ShardingError(f"tensor_parallel {tp} does not divide the {heads} attention heads")
    if kv_heads % tp and tp % kv_heads:
        raise ShardingError(f"tensor_parallel {tp} and the {kv_heads} key-value heads: neither divides the other")
    if text.intermediate_size % tp:
        raise ShardingError(f"tensor_parallel {tp} does not divide the MLP width {text.intermediate_size}")


def _smallest_fitting(text: PretrainedConfig, cluster: Cluster, parameters: int) -> int:
    budget = cluster.gpu_memory_gb * GB * WEIGHT_SHARE
    largest = 1  # always valid
    for tp in range(1, cluster.gpus_per_node + 1):
        try:
            _check(text, cluster, tp)
        except ShardingError:
            continue
        largest = tp
        if parameters * BYTES_PER_PARAMETER / tp <= budget:
            return tp
    raise ShardingError(
        f"{parameters / 1e9:.1f}B parameters do not fit: at tensor-parallel size {largest}, the largest valid on a node of "
        f"{cluster.gpus_per_node} GPUs, each GPU holds {parameters * BYTES_PER_PARAMETER / largest / GB:.1f} GB of bf16 "
        f"weights, more than {WEIGHT_SHARE:.0%} of its {cluster.gpu_memory_gb:g} GB"
    )


def _count_parameters(config: PretrainedConfig, trust_remote_code: bool) -> int:
    """Exact parameter count, from the model built on the meta device (no memory, no weights)."""
    with torch.device("meta"):
        built_in = BUILT_IN.get(config.model_type)
        model = built_in(config) if built_in else AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    return sum(p.numel() for p in model.parameters())
