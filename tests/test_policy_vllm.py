"""The tiny policy loads in vLLM (the CPU build) and agrees with transformers on what the audio means."""

import numpy as np
import torch

from aural.policy.model import AudioPolicy
from aural.policy.tiny import tiny_policy


def test_vllm_samples_the_tiny_policy_with_audio_and_agrees_with_transformers(vllm_engine):
    from vllm import SamplingParams

    policy = AudioPolicy.from_pretrained(tiny_policy())
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)
    prompt = policy.prompts.question("Which tone is higher?", tone, prefill_think=True)
    request = {"prompt": prompt.text, "multi_modal_data": {"audio": [(a, 16_000) for a in prompt.audios]}}
    (output,) = vllm_engine.llm.generate(request, SamplingParams(n=4, max_tokens=16, temperature=1.0, seed=0, logprobs=0))
    assert len(output.outputs) == 4
    assert len(output.prompt_token_ids) == policy.inputs(prompt)["input_ids"].shape[1]  # same audio expansion
    for sample in output.outputs:
        assert 1 <= len(sample.token_ids) <= 16 and sample.finish_reason in ("stop", "length")
        sampled = torch.tensor([entry[token].logprob for entry, token in zip(sample.logprobs, sample.token_ids)])
        torch.testing.assert_close(policy.logprobs(prompt, list(sample.token_ids)), sampled, atol=2e-3, rtol=2e-3)
