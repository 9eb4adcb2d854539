"""vLLM (the CPU build) on the tiny policy: it samples like the transformers engine, and agrees with
transformers on what the audio means. One engine serves the module: it takes ~30 s to start."""

import os
from importlib import resources

import numpy as np
import pytest
import torch

from aural.policy.model import AudioPolicy
from aural.policy.tiny import tiny_policy
from aural.rollouts.engines import HFEngine, SamplingSettings, VLLMEngine
from aural.rollouts.prompt_set import read_prompt_set

pytestmark = pytest.mark.slow  # one vLLM engine for the module, ~30 s to start


EXAMPLES = resources.files("aural.examples") / "prompts.jsonl"


@pytest.fixture(scope="module")
def vllm_engine():
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    engine = VLLMEngine(tiny_policy(), dtype="float32", seed=0)
    yield engine
    engine.close()


def test_vllm_samples_the_tiny_policy_with_audio_and_agrees_with_transformers(vllm_engine):
    from vllm import SamplingParams

    policy = AudioPolicy.from_pretrained(tiny_policy())
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)
    prompt = policy.prompt_builder.question("Which tone is higher?", tone, prefill_think=True)
    request = {"prompt": prompt.text, "multi_modal_data": {"audio": [(a, 16_000) for a in prompt.audios]}}
    (output,) = vllm_engine.llm.generate(request, SamplingParams(n=4, max_tokens=16, temperature=1.0, seed=0, logprobs=0))
    assert len(output.outputs) == 4
    assert len(output.prompt_token_ids) == policy.inputs(prompt)["input_ids"].shape[1]  # same audio expansion
    for sample in output.outputs:
        assert 1 <= len(sample.token_ids) <= 16 and sample.finish_reason in ("stop", "length")
        sampled = torch.tensor([entry[token].logprob for entry, token in zip(sample.logprobs, sample.token_ids)])
        torch.testing.assert_close(policy.logprobs(prompt, list(sample.token_ids)), sampled, atol=2e-3, rtol=2e-3)


def check_generations(batches, prompts, n, max_tokens, eos_ids):
    assert len(batches) == len(prompts)
    for batch in batches:
        assert len(batch) == n
        for g in batch:
            assert 1 <= g.response_tokens <= max_tokens and g.prompt_tokens > 0
            stopped = g.token_ids[-1] in eos_ids
            assert g.finish_reason == ("stop" if stopped else "length")
            if g.finish_reason == "length":
                assert g.response_tokens == max_tokens


@pytest.mark.parametrize("ignore_eos", [False, True])
def test_both_engines_sample_n_per_prompt_with_counts_and_finish_reasons(vllm_engine, ignore_eos):
    hf = HFEngine(tiny_policy())
    records = read_prompt_set(EXAMPLES)[::8]  # one prompt of each kind
    settings = SamplingSettings(n=4, max_new_tokens=12, seed=0, ignore_eos=ignore_eos)
    eos = hf.policy.eos_token_ids
    for engine in (hf, vllm_engine):
        prompts = [engine.prompt_builder.build(r.messages, r.prefill_think) for r in records]
        batches = engine.sample(prompts, settings)
        check_generations(batches, prompts, 4, 12, eos)
        if ignore_eos:
            assert all(g.response_tokens == 12 for batch in batches for g in batch)
    hf_prompt_tokens = [
        b[0].prompt_tokens for b in hf.sample([hf.prompt_builder.build(r.messages, r.prefill_think) for r in records], settings)
    ]
    vllm_prompt_tokens = [
        b[0].prompt_tokens
        for b in vllm_engine.sample([vllm_engine.prompt_builder.build(r.messages, r.prefill_think) for r in records], settings)
    ]
    assert hf_prompt_tokens == vllm_prompt_tokens  # the same audio expansion in both
