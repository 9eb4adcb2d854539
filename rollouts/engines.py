"""Sampling engines: the same prompts in, the same `Generation` records out.

`VLLMEngine` drives vLLM's `LLM.generate` with the audio as ``multi_modal_data``
(the GPU build, or vLLM's CPU build with its CPU settings); `HFEngine` drives
transformers through `AudioPolicy.generate`. Defaults follow Step-Audio-R1:
16 samples per prompt, up to 10,240 new tokens, temperature 1.0.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from aural.errors import AuralError
from aural.policy.messages import vllm_audio
from aural.policy.model import AudioPolicy, Generation
from aural.policy.prompt import Prompt, PromptBuilder

CPU_KV_CACHE_GIB = "2"


@dataclass(frozen=True)
class SamplingSettings:
    """How to sample: `n` responses per prompt of at most `max_new_tokens`.
    `ignore_eos` samples every response to full length (for benchmarks)."""

    n: int = 16
    max_new_tokens: int = 10_240
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    ignore_eos: bool = False


class Engine(Protocol):
    """What a rollout worker needs of an engine."""

    name: str
    prompt_builder: PromptBuilder

    def sample(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Generation]]:
        """`settings.n` generations for each prompt, in order."""
        ...

    def close(self) -> None:
        """Release the model and whatever runs it; the engine samples no more."""
        ...


class HFEngine:
    """transformers: `AudioPolicy.generate`, one prompt at a time."""

    name = "hf"

    def __init__(self, policy: str | Path, dtype: str = "float32", device: str = "cpu", trust_remote_code: bool = False):
        self.policy = AudioPolicy.from_pretrained(policy, dtype=dtype, device=device, trust_remote_code=trust_remote_code)
        self.prompt_builder = self.policy.prompt_builder

    def sample(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Generation]]:
        return self.policy.generate(
            prompts, settings.n, settings.max_new_tokens, settings.temperature, settings.top_p, settings.seed, settings.ignore_eos
        )

    def close(self) -> None:
        """Release the model (and the GPU memory it held)."""
        del self.policy
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class VLLMEngine:
    """vLLM: all prompts of a call batched together, audio passed as ``multi_modal_data``.

    On a CPU build it asks for half the memory for the engine and a
    ``VLLM_CPU_KVCACHE_SPACE`` of 2 GiB unless set (the defaults ask for most of
    the machine), runs eagerly, and prefills each prompt whole: the CPU build
    crashes on a seeded request whose prefill is split in chunks.
    """

    name = "vllm"

    def __init__(self, policy: str | Path, tensor_parallel: int = 1, max_model_len: int = 12_288, **llm_options: Any):
        from vllm import LLM
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
            llm_options = {"gpu_memory_utilization": 0.5, "enforce_eager": True, "enable_chunked_prefill": False, **llm_options}
        self.prompt_builder = PromptBuilder.from_pretrained(policy)
        self.llm = LLM(model=str(policy), tensor_parallel_size=tensor_parallel, max_model_len=max_model_len, **llm_options)

    def sample(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Generation]]:
        from vllm import SamplingParams

        # fmt: off
        params = SamplingParams(
            n=settings.n, max_tokens=settings.max_new_tokens, temperature=settings.temperature, top_p=settings.top_p,
            seed=settings.seed, ignore_eos=settings.ignore_eos
        )
        # fmt: on
        requests = [
            {"prompt": p.text, "multi_modal_data": audio}
            if (audio := vllm_audio(p.audios, self.prompt_builder.sampling_rate))
            else {"prompt": p.text}
            for p in prompts
        ]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [
            [
                Generation(o.text, tuple(o.token_ids), len(out.prompt_token_ids), "stop" if o.finish_reason == "stop" else "length")
                for o in out.outputs
            ]
            for out in outputs
        ]

    def close(self) -> None:
        """Stop the engine's processes now rather than at interpreter exit."""
        self.llm.llm_engine.engine_core.shutdown()


def make_engine(kind: str, policy: str | Path, **options: Any) -> Engine:
    """An engine by name: ``vllm`` or ``hf``."""
    engines = {"vllm": VLLMEngine, "hf": HFEngine}
    if kind not in engines:
        raise AuralError(f"unknown engine {kind!r}; expected one of {', '.join(engines)}")
    return engines[kind](policy, **options)
