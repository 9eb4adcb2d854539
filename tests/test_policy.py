"""The tiny offline policy, loaded with transformers: prompts, sampling, log-probabilities, errors, sharding."""

import hashlib
import json
import types
from functools import partial

import numpy as np
import pytest
import torch

from aural.cli import main
from aural.policy.checkpoint import save_policy
from aural.policy.model import AudioPolicy
from aural.policy.sharding import Cluster, ShardingError, plan_sharding
from aural.policy.tiny import tiny_policy, write_tiny_policy


@pytest.fixture(scope="module")
def policy():
    return AudioPolicy.from_pretrained(tiny_policy())


def tone(frequency, seconds=1.0, rate=16_000):
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_tiny_policy_is_the_same_for_a_seed_and_differs_across_seeds(tmp_path, capsys):
    assert main(["tiny-policy", str(tmp_path / "a")]) == 0
    write_tiny_policy(tmp_path / "b", seed=0)
    write_tiny_policy(tmp_path / "c", seed=1)
    a, b, c = (digests(tmp_path / name) for name in "abc")
    assert a == b
    assert a["model.safetensors"] != c["model.safetensors"] and a["tokenizer.json"] == c["tokenizer.json"]
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    for part in ("text_config", "audio_config"):
        sizes = config[part]
        heads = sizes.get("num_attention_heads") or sizes["encoder_attention_heads"]
        assert (sizes.get("hidden_size") or sizes["d_model"]) // heads >= 64  # vLLM's CPU attention needs it


def test_the_tiny_policy_cache_keeps_no_partial_build(tmp_path, monkeypatch):
    from aural.policy import tiny

    monkeypatch.setenv("AURAL_CACHE", str(tmp_path))

    def fails_midway(folder, seed):
        (folder / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(tiny, "write_tiny_policy", fails_midway)
    with pytest.raises(OSError, match="disk full"):
        tiny.tiny_policy(seed=7)
    assert list(tmp_path.iterdir()) == []

    def loses_a_race(folder, seed):
        (folder / "model.safetensors").write_text("mine")
        winner = tmp_path / f"tiny-policy-v{tiny.VERSION}-seed{seed}"
        winner.mkdir()
        (winner / "model.safetensors").write_text("theirs")

    monkeypatch.setattr(tiny, "write_tiny_policy", loses_a_race)
    folder = tiny.tiny_policy(seed=7)
    assert list(tmp_path.iterdir()) == [folder] and (folder / "model.safetensors").read_text() == "theirs"


def test_prompts_render_the_template_with_one_placeholder_per_clip(policy):
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440), system="Listen carefully.", prefill_think=True)
    assert prompt.text.startswith("<|im_start|>system\nListen carefully.<|im_end|>\n<|im_start|>user\n")
    assert prompt.text.count("<|AUDIO|>") == 1
    assert prompt.text.endswith("<|im_start|>assistant\n<think>\n")
    two = policy.prompt_builder.build(
        [
            {
                "role": "user",
                "content": [
                    {"type": "audio", "audio": tone(440)},
                    {"type": "audio", "audio": tone(220, rate=8_000), "sampling_rate": 8_000},
                    {"type": "text", "text": "Which is higher?"},
                ],
            }
        ]
    )
    assert two.text.count("<|AUDIO|>") == 2 and [len(a) for a in two.audios] == [16_000, 16_000]
    assert not policy.prompt_builder.question("2+2?").audios


@pytest.mark.slow
def test_generate_samples_n_responses_with_counts_and_finish_reasons(policy):
    prompts = [policy.prompt_builder.question("How many beeps?", tone(880)), policy.prompt_builder.question("What is 2+2?")]
    batches = policy.generate(prompts, n=16, max_new_tokens=24, temperature=1.0, seed=0)
    assert [len(b) for b in batches] == [16, 16]
    audio_tokens = policy.inputs(prompts[0])["input_ids"].shape[1]
    for batch, prompt_tokens in zip(batches, (audio_tokens, policy.inputs(prompts[1])["input_ids"].shape[1])):
        for g in batch:
            assert g.prompt_tokens == prompt_tokens
            assert 1 <= g.response_tokens <= 24
            assert g.finish_reason == ("stop" if g.token_ids[-1] in policy.eos_token_ids else "length")
            assert (g.finish_reason == "length") == (g.response_tokens == 24 and g.token_ids[-1] not in policy.eos_token_ids)
    assert audio_tokens > prompts[0].text.count("<|im_start|>") + 25  # the clip became ~25 audio tokens a second
    again = policy.generate(prompts[:1], n=16, max_new_tokens=24, seed=0)
    assert [g.token_ids for g in again[0]] == [g.token_ids for g in batches[0]]
    other = policy.generate(prompts[:1], n=16, max_new_tokens=24, seed=1)
    assert [g.token_ids for g in other[0]] != [g.token_ids for g in batches[0]]


def test_greedy_decoding_is_deterministic_without_a_seed(policy):
    prompt = policy.prompt_builder.question("Which tone?", tone(440))
    first, second = (policy.generate([prompt], n=2, max_new_tokens=12, temperature=0.0)[0] for _ in range(2))
    assert first[0].token_ids == first[1].token_ids == second[0].token_ids


def test_logprobs_see_the_audio(policy):
    response = "<think>The second tone is higher.</think>The answer is (B)."
    with_tone = policy.logprobs(policy.prompt_builder.question("Which tone is higher?", tone(440), prefill_think=True), response)
    with_silence = policy.logprobs(
        policy.prompt_builder.question("Which tone is higher?", np.zeros(16_000, np.float32), prefill_think=True), response
    )
    assert with_tone.shape == with_silence.shape == (len(policy.tokenizer(response, add_special_tokens=False)["input_ids"]),)
    assert (with_tone <= 0).all() and torch.isfinite(with_tone).all()
    assert not torch.allclose(with_tone, with_silence)


def test_logprobs_match_the_sampler(policy):
    """Teacher-forced log-probabilities equal the generator's own, token by token."""
    prompt = policy.prompt_builder.question("Count the beeps.", tone(660))
    inputs = policy.inputs(prompt)
    out = policy.model.generate(**inputs, do_sample=False, max_new_tokens=8, output_scores=True, return_dict_in_generate=True)
    tokens = out.sequences[0, inputs["input_ids"].shape[1] :]
    from_scores = torch.stack([torch.log_softmax(s[0].float(), -1)[t] for s, t in zip(out.scores, tokens)])
    torch.testing.assert_close(policy.logprobs(prompt, tokens.tolist()), from_scores, atol=1e-4, rtol=1e-4)


def test_sampling_draws_from_the_whole_distribution(policy):
    """No top-k: tokens outside the 50 likeliest are drawn as often as their mass says
    (transformers keeps only 50 unless told; PPO's log-probabilities assume the whole)."""
    prompt = policy.prompt_builder.question("What is 2+2?")
    with torch.no_grad():
        probabilities = torch.softmax(policy.model(**policy.inputs(prompt)).logits[0, -1].float(), -1)
    top = set(probabilities.topk(50).indices.tolist())
    tail = 1 - float(probabilities.topk(50).values.sum())
    (batch,) = policy.generate([prompt], n=128, max_new_tokens=1, temperature=1.0, seed=0)
    drawn = sum(g.token_ids[0] not in top for g in batch) / len(batch)
    assert tail > 0.5 and abs(drawn - tail) < 0.15


@pytest.mark.slow
def test_a_10240_token_generation_completes(policy):
    (batch,) = policy.generate(
        [policy.prompt_builder.question("Think at length.", tone(440))], n=1, max_new_tokens=10_240, seed=0, ignore_eos=True
    )
    assert (batch[0].response_tokens, batch[0].finish_reason) == (10_240, "length")


def test_loading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        AudioPolicy.from_pretrained(tmp_path / "nothing")
    with pytest.raises(ValueError, match="dtype must be one of"):
        AudioPolicy.from_pretrained(tiny_policy(), dtype="float8")
    folder = tmp_path / "text_only"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 1}))
    with pytest.raises(ValueError, match="pass trust_remote_code=True"):
        AudioPolicy.from_pretrained(folder)


def test_a_sharded_checkpoint_is_renamed_in_every_shard_and_in_its_index(tmp_path):
    from safetensors.torch import load_file
    from transformers import Qwen2AudioForConditionalGeneration

    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_policy())
    in_shards = partial(model.save_pretrained, max_shard_size="1MB")
    folder = save_policy(types.SimpleNamespace(config=model.config, save_pretrained=in_shards), tmp_path / "sharded")
    shards = {path.name: set(load_file(path)) for path in folder.glob("*.safetensors")}
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert len(shards) > 1 and not list(folder.glob(".*"))
    assert weight_map == {name: shard for shard, names in shards.items() for name in names}
    assert all(name.startswith(("audio_tower.", "multi_modal_projector.", "language_model.")) for name in weight_map)
    reloaded = Qwen2AudioForConditionalGeneration.from_pretrained(folder).state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(reloaded[name], tensor), name


def test_sharding_plans_and_impossible_shapes():
    plan = plan_sharding(tiny_policy(), Cluster(nodes=2, gpus_per_node=4))
    assert (plan.tensor_parallel, plan.vllm_engines) == (1, 8)
    args = plan.openrlhf_args()
    assert args["--ds.zero_stage"] == 3 and args["--vllm.num_engines"] == 8 and args["--actor.num_nodes"] == 2
    assert plan_sharding(tiny_policy(), Cluster(1, 8), tensor_parallel=2).vllm_engines == 4
    for tp, message in [(3, "does not divide the cluster's 8 GPUs"), (16, "more than the 8 GPUs of a node"), (0, ">= 1")]:
        with pytest.raises(ShardingError, match=message):
            plan_sharding(tiny_policy(), Cluster(1, 8), tensor_parallel=tp)
    with pytest.raises(ShardingError, match="does not divide the 2 attention heads"):
        plan_sharding(tiny_policy(), Cluster(1, 4), tensor_parallel=4)
    with pytest.raises(ShardingError, match="at least one node"):
        plan_sharding(tiny_policy(), Cluster(0, 8))


def test_a_large_policy_gets_enough_tensor_parallelism():
    from transformers import Qwen2AudioConfig

    step_audio_sized = Qwen2AudioConfig(
        text_config={
            "hidden_size": 5120,
            "intermediate_size": 27648,
            "num_hidden_layers": 64,
            "num_attention_heads": 40,
            "num_key_value_heads": 8,
            "vocab_size": 152064,
        }
    )
    plan = plan_sharding(step_audio_sized, Cluster(nodes=2, gpus_per_node=8, gpu_memory_gb=80))
    assert 30e9 < plan.parameters < 40e9
    assert plan.tensor_parallel == 2 and plan.vllm_engines == 8  # 62.2 GB of bf16 weights, 31.1 GB a GPU
    with pytest.raises(
        ShardingError,
        match=r"do not fit: at tensor-parallel size 2, .* each GPU holds 31\.1 GB of bf16 weights, more than 40% of its 24 GB",
    ):
        plan_sharding(step_audio_sized, Cluster(nodes=1, gpus_per_node=2, gpu_memory_gb=24))


def test_our_inputs_equal_the_qwen2_audio_processor(policy):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_policy())
    prompt = policy.prompt_builder.build(
        [
            {
                "role": "user",
                "content": [
                    {"type": "audio", "audio": tone(440, seconds=2.5)},
                    {"type": "audio", "audio": tone(880, seconds=0.3)},
                    {"type": "text", "text": "Which clip is higher?"},
                ],
            }
        ]
    )
    ours = policy.inputs(prompt)
    theirs = processor(text=[prompt.text], audio=list(prompt.audios), sampling_rate=16_000, return_tensors="pt")
    assert ours.keys() == {"input_ids", "attention_mask", "input_features", "feature_attention_mask"}
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), key
    with pytest.raises(ValueError, match="1 <\\|AUDIO\\|> placeholders for 2 clips"):
        policy.make_inputs("<|AUDIO|>", prompt.audios)


@pytest.fixture(scope="module")
def omni_thinker(tmp_path_factory):
    from aural.policy.tiny import write_tiny_omni_thinker

    return write_tiny_omni_thinker(tmp_path_factory.mktemp("omni_thinker"))


def test_the_qwen2_5_omni_thinker_samples_and_hears(omni_thinker):
    thinker = AudioPolicy.from_pretrained(omni_thinker)
    prompt = thinker.prompt_builder.question("Which tone is higher?", tone(440), prefill_think=True)
    (batch,) = thinker.generate([prompt], n=4, max_new_tokens=8, seed=0)
    assert len(batch) == 4 and all(g.prompt_tokens == thinker.inputs(prompt)["input_ids"].shape[1] for g in batch)
    silent = thinker.prompt_builder.question("Which tone is higher?", np.zeros(16_000, np.float32), prefill_think=True)
    response = "The answer is (B)."
    assert not torch.allclose(thinker.logprobs(prompt, response), thinker.logprobs(silent, response))


def test_the_thinker_loads_out_of_a_full_omni_checkpoint(omni_thinker, tmp_path):
    from safetensors.torch import load_file, save_file

    full = tmp_path / "omni"
    full.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "preprocessor_config.json"):
        (full / name).write_bytes((omni_thinker / name).read_bytes())
    thinker_config = json.loads((omni_thinker / "config.json").read_text())
    (full / "config.json").write_text(
        json.dumps(
            {"model_type": "qwen2_5_omni", "architectures": ["Qwen2_5OmniForConditionalGeneration"], "thinker_config": thinker_config}
        )
    )
    weights = load_file(omni_thinker / "model.safetensors")
    save_file({f"thinker.{name}": tensor for name, tensor in weights.items()}, full / "model.safetensors", metadata={"format": "pt"})
    alone, inside = AudioPolicy.from_pretrained(omni_thinker), AudioPolicy.from_pretrained(full)
    prompt = alone.prompt_builder.question("Which tone?", tone(440))
    torch.testing.assert_close(alone.logprobs(prompt, "(B)"), inside.logprobs(prompt, "(B)"))


def test_sharding_plans_a_full_omni_checkpoint_for_its_thinker(omni_thinker):
    from transformers import AutoConfig, Qwen2_5OmniConfig

    full = Qwen2_5OmniConfig(thinker_config=AutoConfig.from_pretrained(omni_thinker).to_dict())
    assert plan_sharding(full, Cluster(1, 2)).parameters == plan_sharding(omni_thinker, Cluster(1, 2)).parameters


def write_step_audio_style(folder):
    """A tiny model in Step-Audio-R1's shape that ships its own code (tests/step_audio_style)."""
    import shutil
    from pathlib import Path

    from transformers import Qwen2Config
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    source = Path(__file__).parent / "step_audio_style"
    folder.mkdir()
    for code in source.glob("*.py"):
        shutil.copy(code, folder / code.name)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(tiny_policy() / name, folder / name)
    features = json.loads((tiny_policy() / "processor_config.json").read_text())["feature_extractor"]
    (folder / "preprocessor_config.json").write_text(json.dumps(features))
    (folder / "processor_config.json").write_text(
        json.dumps(
            {
                "processor_class": "StepAudioStyleProcessor",
                "auto_map": {"AutoProcessor": "processing_step_audio_style.StepAudioStyleProcessor"},
            }
        )
    )
    vocab = json.loads((tiny_policy() / "config.json").read_text())["text_config"]["vocab_size"]
    # fmt: off
    text = Qwen2Config(
        vocab_size=vocab, hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, eos_token_id=2, pad_token_id=0
    )
    # fmt: on
    auto_map = {
        "AutoConfig": "configuration_step_audio_style.StepAudioStyleConfig",
        "AutoModelForCausalLM": "modeling_step_audio_style.StepAudioStyleForCausalLM",
    }
    config_class = get_class_from_dynamic_module(auto_map["AutoConfig"], str(folder))
    model_class = get_class_from_dynamic_module(auto_map["AutoModelForCausalLM"], str(folder))
    config = config_class(
        text_config=text.to_dict(),
        audio_token_id=json.loads((tiny_policy() / "config.json").read_text())["audio_token_index"],
        eos_token_id=2,
        auto_map=auto_map,
    )
    torch.manual_seed(0)
    model_class(config).save_pretrained(folder)
    return folder


def test_a_model_with_its_own_code_loads_through_trust_remote_code(tmp_path):
    folder = write_step_audio_style(tmp_path / "step_audio_style")
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        AudioPolicy.from_pretrained(folder)
    remote = AudioPolicy.from_pretrained(folder, trust_remote_code=True)
    prompt = remote.prompt_builder.question("Which tone is higher?", tone(440, seconds=2.0), prefill_think=True)
    assert remote.inputs(prompt)["input_ids"].eq(remote.model.config.audio_token_id).sum() == 25  # 2 s at 12.5 Hz
    (batch,) = remote.generate([prompt], n=3, max_new_tokens=6, seed=0)
    assert len(batch) == 3 and all(1 <= g.response_tokens <= 6 for g in batch)
    silent = remote.prompt_builder.question("Which tone is higher?", np.zeros(32_000, np.float32), prefill_think=True)
    assert not torch.allclose(remote.logprobs(prompt, "(B)"), remote.logprobs(silent, "(B)"))


def test_sharding_counts_a_model_with_its_own_code_through_trust_remote_code(tmp_path):
    from transformers import AutoModelForCausalLM

    folder = write_step_audio_style(tmp_path / "step_audio_style")
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        plan_sharding(folder, Cluster(1, 2))
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    assert plan_sharding(folder, Cluster(1, 2), trust_remote_code=True).parameters == sum(p.numel() for p in model.parameters())


def test_prompts_of_the_same_shapes_decode_together_as_alone(policy):
    clips = [tone(f) for f in (220, 330, 440)] + [tone(550, seconds=1.5)]  # the last one's inputs are longer
    prompts = [policy.prompt_builder.question("Which tone is higher?", clip) for clip in clips]
    together = policy.generate(prompts, n=2, max_new_tokens=8, temperature=0.0)
    alone = [policy.generate([prompt], n=2, max_new_tokens=8, temperature=0.0)[0] for prompt in prompts]
    assert [[g.token_ids for g in group] for group in together] == [[g.token_ids for g in group] for group in alone]
    sampled = policy.generate(prompts, n=3, max_new_tokens=8, seed=5)
    assert [len(group) for group in sampled] == [3] * 4 and sampled == policy.generate(prompts, n=3, max_new_tokens=8, seed=5)


def test_the_audio_placeholder_is_never_sampled(tmp_path):
    folder = write_tiny_policy(tmp_path / "tiny")
    policy = AudioPolicy.from_pretrained(folder)
    placeholder = policy.model.config.audio_token_index
    with torch.no_grad():
        policy.model.lm_head.bias = torch.nn.Parameter(torch.zeros(policy.model.config.text_config.vocab_size))
        policy.model.lm_head.bias[placeholder] = 1e4  # the model wants nothing else
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440))
    for temperature in (0.0, 1.0):
        (group,) = policy.generate([prompt], n=4, max_new_tokens=6, temperature=temperature, seed=0)
        assert all(len(g.token_ids) == 6 and placeholder not in g.token_ids for g in group)


def test_a_short_audio_window_reads_a_short_clip_and_hears_it(tmp_path):
    assert main(["tiny-policy", str(tmp_path / "short"), "--audio-window", "2"]) == 0
    policy = AudioPolicy.from_pretrained(tmp_path / "short")
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440))
    inputs = policy.inputs(prompt)
    assert inputs["input_features"].shape[-1] == 200 and int(inputs["feature_attention_mask"].sum()) == 100
    silent = policy.prompt_builder.question("Which tone is higher?", np.zeros(16_000, np.float32))
    assert not torch.allclose(policy.logprobs(prompt, "The answer is (A)."), policy.logprobs(silent, "The answer is (A)."))
    with pytest.raises(ValueError, match="audio window"):
        write_tiny_policy(tmp_path / "none", audio_window_s=0)
