"""Shared helpers for the test suite."""

import os

import pytest
from hypothesis import settings

# CI replays the same examples every run; locally each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from aural.verifiers import Sample

CHOICES = ["a dog barking", "a cat meowing", "rain on a roof", "a car engine"]


def audio(response, label, **fields):
    """An audio sample."""
    return Sample(response, label, "audio", **fields)


@pytest.fixture
def choice_label():
    return {"answer": "B", "choices": CHOICES}


@pytest.fixture(scope="session")
def vllm_engine():
    """One vLLM (CPU build) engine on the tiny policy, shared by every test that needs one: it takes ~30 s to start."""
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    from aural.policy.tiny import tiny_policy
    from aural.rollouts.engines import VLLMEngine

    engine = VLLMEngine(tiny_policy(), dtype="float32", seed=0)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray instance for the rollout-pool tests, stopped at the end of the session."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
