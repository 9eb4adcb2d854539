"""The tiny policy loads in vLLM (the CPU build) and agrees with transformers on what the audio means."""

import os

import numpy as np
import pytest
import torch

from aural.policy.model import AudioPolicy
from aural.policy.tiny import tiny_policy


@pytest.fixture(scope="module")
def engine():
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; the default takes 5+
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    from vllm import LLM

    llm = LLM(model=str(tiny_policy()), dtype="float32", gpu_memory_utilization=0.5, max_model_len=12_288, enforce_eager=True, seed=0)
    yield llm
    del llm


def test_vllm_samples_the_tiny_policy_with_audio_and_agrees_with_transformers(engine):
    from vllm import SamplingParams

    policy = AudioPolicy.from_pretrained(tiny_policy())
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)
    prompt = policy.prompts.question("Which tone is higher?", tone, prefill_think=True)
    request = {"prompt": prompt.text, "multi_modal_data": {"audio": [(a, 16_000) for a in prompt.audios]}}
    (output,) = engine.generate(request, SamplingParams(n=4, max_tokens=16, temperature=1.0, seed=0, logprobs=0))
    assert len(output.outputs) == 4
    assert len(output.prompt_token_ids) == policy.inputs(prompt)["input_ids"].shape[1]  # same audio expansion
    for sample in output.outputs:
        assert 1 <= len(sample.token_ids) <= 16 and sample.finish_reason in ("stop", "length")
        sampled = torch.tensor([entry[token].logprob for entry, token in zip(sample.logprobs, sample.token_ids)])
        torch.testing.assert_close(policy.logprobs(prompt, list(sample.token_ids)), sampled, atol=2e-3, rtol=2e-3)
