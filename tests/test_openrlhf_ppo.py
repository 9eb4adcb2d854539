"""OpenRLHF's own PPO trainer with Aural's plug-in: the three places it failed (the ZeRO-3
critic, the critic's audio inside Ray, the weight-sync names), the version check, and
`train_ppo_ray` end to end on the tiny audio policy (slow: a few minutes a run)."""

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aural.policy.checkpoint import engine_weight_name
from aural.policy.inputs import FEATURE_KEYS
from aural.policy.model import AudioPolicy, load_audio_model
from aural.policy.tiny import tiny_policy, write_tiny_step_audio2
from aural.training.openrlhf_audio import OPENRLHF_VERSION, check_openrlhf_version, install
from aural.training.ppo_config import load_ppo_config
from aural.training.smoke import SYNC_GAP_LIMIT, run_smoke

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "recipes" / "configs" / "step_audio_r1.toml"
RATE = 16_000


@pytest.mark.slow
def test_the_zero3_critic_loads_with_its_value_head_partitioned(tmp_path):
    """Under ZeRO-3 the value head's local shape is empty; its width is `ds_shape`."""
    script = textwrap.dedent(f"""
        import os, torch, deepspeed
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533", RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")
        deepspeed.init_distributed("gloo")
        from aural.training.audio_critic import load_audio_critic
        config = {{"zero_optimization": {{"stage": 3}}, "train_micro_batch_size_per_gpu": 1, "bf16": {{"enabled": True}}}}
        critic = load_audio_critic({str(tiny_policy())!r}, torch.bfloat16, "sdpa", config)
        head = critic.score.weight
        local = tuple(head.shape)
        with deepspeed.zero.GatheredParameters([head]):
            print(json.dumps({{"ds_shape": list(head.ds_shape), "local": list(local), "std": float(head.float().std())}}))
    """)
    done = subprocess.run([sys.executable, "-c", "import json\n" + script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    head = json.loads(done.stdout.strip().splitlines()[-1])
    hidden = AudioPolicy.from_pretrained(tiny_policy()).model.config.text_config.hidden_size
    assert head["ds_shape"] == [1, hidden] and head["local"] != [1, hidden]  # partitioned
    assert 0.5 / (hidden + 1) < head["std"] < 2 / (hidden + 1)  # initialised as OpenRLHF does: std 1/(hidden+1)


def tone(seconds=1.0, hz=440.0):
    t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.slow
def test_the_live_critic_actor_values_each_sample_with_its_audio():
    """Ray wraps an actor class's methods when it decorates it: the plug-in must patch the class
    Ray built, or the critic actor never takes the samples' audio (OpenRLHF's `execute_batch`
    then fails with an unexpected keyword `mm_train_inputs_list`)."""
    import ray

    from aural.training.launch import runtime_environment

    install()
    from openrlhf.trainer.ray import ppo_critic

    policy = AudioPolicy.from_pretrained(tiny_policy())
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(), prefill_think=True)
    silent = policy.prompt_builder.question("Which tone is higher?", np.zeros(RATE, dtype=np.float32), prefill_think=True)
    inputs = policy.inputs(prompt)
    response = policy.tokenizer("the first tone", add_special_tokens=False)["input_ids"]
    sequence = torch.cat([inputs["input_ids"], torch.tensor([response])], dim=1)
    action_mask, attention_mask = torch.ones(1, len(response)), torch.ones_like(sequence)
    heard = [{k: v for k, v in inputs.items() if k in FEATURE_KEYS}]
    silence = [{k: v for k, v in policy.inputs(silent).items() if k in FEATURE_KEYS}]

    def load_critic(self):
        from types import SimpleNamespace

        from aural.training.audio_critic import load_audio_critic

        self.critic = load_audio_critic(tiny_policy(), torch.float32, "sdpa")
        self.strategy = SimpleNamespace(ring_attn_group=None, is_rank_0=lambda: True)

    ray.init(num_cpus=1, num_gpus=1, include_dashboard=False, runtime_env=runtime_environment())  # a logical GPU for the actor
    try:
        critic = ppo_critic.CriticModelActor.remote(1, 0, None, None)
        ray.get(critic.__ray_call__.remote(load_critic))
        batch = {
            "sequences": [sequence] * 2,
            "action_mask": [action_mask] * 2,
            "attention_mask": [attention_mask] * 2,
            "mm_train_inputs_list": [heard, silence],
        }
        values = ray.get(critic.execute_batch.remote("forward", batch, 0, 2))  # how OpenRLHF's experience maker calls it
        from aural.training.audio_critic import load_audio_critic

        local = load_audio_critic(tiny_policy(), torch.float32, "sdpa")
        local.score.load_state_dict(ray.get(critic.__ray_call__.remote(lambda self: self.critic.score.state_dict())))
    finally:
        ray.shutdown()
    with torch.no_grad():
        expected = local(sequence, action_mask, attention_mask, **heard[0])
    torch.testing.assert_close(values[0], expected, atol=1e-5, rtol=1e-5)
    assert (values[0] - values[1]).abs().max() > 1e-4  # silence is valued differently


def test_synced_weights_go_by_the_names_vllm_loads():
    """OpenRLHF broadcasts the trainer's in-memory names; vLLM's Qwen2-Audio loads the released
    checkpoint's names as they are. (vLLM's Omni thinker cannot be built here: it needs torchvision.)"""
    from transformers import AutoConfig

    model = load_audio_model(tiny_policy(), AutoConfig.from_pretrained(tiny_policy()))
    released = set(load_file(next(Path(tiny_policy()).glob("*.safetensors"))))
    trainer_names = [name for name, _ in model.named_parameters()]
    assert not set(trainer_names) <= released  # what OpenRLHF sends is not what vLLM loads
    assert {engine_weight_name("qwen2_audio", name) for name in trainer_names} <= released


def test_the_plug_in_refuses_another_openrlhf(monkeypatch):
    import importlib.metadata

    check_openrlhf_version()  # the installed release
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.12.0")
    with pytest.raises(RuntimeError, match=f"openrlhf=={OPENRLHF_VERSION}, found 0.12.0"):
        check_openrlhf_version()


@pytest.fixture
def shipped():
    """The shipped config, on the bundled prompt set."""
    return load_ppo_config(SHIPPED)


@pytest.mark.slow
def test_openrlhfs_trainer_runs_the_shipped_plan_with_audio_and_syncs_the_rollout_engines(shipped, tmp_path):
    """ZeRO-3, colocated (the shipped plan): two steps of `train_ppo_ray`, then a control run whose
    engines keep their first weights: after the first update the rollout/trainer gap is small only
    when the weights were synced."""
    report = run_smoke(shipped, tiny_policy(), tmp_path / "synced")
    print(report.table())
    assert report.passed, report.table()
    control = run_smoke(shipped, tiny_policy(), tmp_path / "control", ("--aural.no_weight_sync",))
    print(control.table())
    synced_gap, kept_gap = report.summary.sync_gaps[-1]["gap"], control.summary.sync_gaps[-1]["gap"]
    assert synced_gap < SYNC_GAP_LIMIT < kept_gap, (synced_gap, kept_gap)


@pytest.mark.slow
def test_openrlhfs_trainer_runs_a_tiny_step_audio_2_zero2_colocated_with_a_reference_model_and_kl(shipped, tmp_path):
    """Step-Audio-R1's own family (its inputs in the agent, its model as actor, reference and critic,
    its vLLM model loading the synced weights) under ZeRO-2 with a KL term to a reference model."""
    config = dataclasses.replace(shipped, ppo={**shipped.ppo, "kl_coef": 0.05}, openrlhf={**shipped.openrlhf, "--ds.zero_stage": 2})
    report = run_smoke(config, write_tiny_step_audio2(tmp_path / "policy"), tmp_path / "kl")
    print(report.table())
    assert report.passed, report.table()
    first, second = report.summary.steps
    assert first["kl"] == 0 and second["kl"] != 0  # the actor moved away from the reference model
    trainers = {f["pid"] for f in report.summary.forwards if f["model"] == "actor" and f["training"]}
    reference = [f for f in report.summary.forwards if f["model"] == "actor" and f["pid"] not in trainers]
    assert reference and all(f["with_audio"] == f["samples"] for f in reference)  # the reference model heard the clips
