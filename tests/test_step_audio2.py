"""StepAudio2 (Step-Audio 2 mini, Step-Audio-R1) written for Aural: features, token counts,
chat template, the model's cache, batching and chunking, the tiny checkpoint, sharding.

What is checked against the releases, and how (the release's formulas are written out
here from numpy and torch primitives; nothing is loaded from the releases):

- log-mels: ``log_mel_spectrogram`` in ``utils.py`` of github.com/stepfun-ai/Step-Audio-R1
  (479 samples of right padding, centred reflect-padded STFT 400/160 with a periodic Hann
  window, last frame dropped, librosa's Slaney mel bank, log10 floored at 1e-10, clamp to
  max - 8, (x + 4) / 4) -> `release_log_mel` below, in float64 numpy;
- placeholder counts: ``compute_token_num`` in the same file -> `release_token_count`;
- encoder and adaptor: the ``AudioEncoder`` / ``Adaptor`` forward of the release's
  ``modeling_step_audio_2.py`` (key mask from ``wav_lens = frames - 2`` as a -1e10 bias,
  q and k each scaled by head_dim ** -0.25, softmax in float32) -> `release_audio_embeddings`;
- chunking: ``stepaudio2.py`` of github.com/stepfun-ai/Step-Audio2 (25-second slices);
- chat template: the ``--chat-template`` of the Step-Audio-R1 README, rendered here by hand
  into the expected strings; multiple-choice wording: ``examples-vllm_r1.py``;
- configs: the nested Step-Audio 2 mini layout and the flat 32B layout of
  ``configuration_step_audio_2.py``.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer

from aural.cli import main
from aural.policy.model import AudioPolicy
from aural.policy.prompt import PromptBuilder
from aural.policy.sharding import Cluster, ShardingError, plan_sharding
from aural.policy.step_audio2 import StepAudio2Config, StepAudio2ForCausalLM
from aural.policy.step_audio2_audio import StepAudio2Inputs, audio_token_count, log_mel, mel_filters, pad_features
from aural.policy.step_audio2_template import CHAT_TEMPLATE, choice_question
from aural.policy.tiny import write_tiny_step_audio2

RATE = 16_000


def tone(frequency, seconds=1.0):
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def noise(seconds, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


# ---- the release's formulas, written out ----------------------------------------------------


def slaney_mel_bank(rate=16_000, n_fft=400, n_mels=128):
    """librosa.filters.mel's default: Slaney mel scale, triangles normalised to equal area."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0

    def hz_to_mel(hz):
        return hz / f_sp if hz < min_log_hz else min_log_mel + math.log(hz / min_log_hz) / logstep

    def mel_to_hz(mel):
        return np.where(mel < min_log_mel, f_sp * mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)))

    fft_hz = np.linspace(0, rate / 2, n_fft // 2 + 1)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(rate / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    bank = np.maximum(0, np.minimum(-ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]))
    return bank * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]


def release_log_mel(chunk):
    audio = np.concatenate([chunk.astype(np.float64), np.zeros(479)])
    audio = np.pad(audio, 200, mode="reflect")  # torch.stft's centring
    frames = 1 + (len(audio) - 400) // 160
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    stack = np.stack([audio[i * 160 : i * 160 + 400] * window for i in range(frames)], axis=1)
    power = np.abs(np.fft.rfft(stack, axis=0)[:, :-1]) ** 2
    log_spec = np.log10(np.maximum(slaney_mel_bank() @ power, 1e-10))
    return (np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0


def release_token_count(frames):
    encoded = (frames - 2 + 1) // 2 // 2
    return (encoded + 2 * 1 - 3) // 2 + 1


def release_audio_embeddings(model, mel):
    """One chunk through the release's encoder and adaptor, as it runs a chunk alone."""
    encoder, adapter = model.encoder, model.adapter
    frames = mel.shape[1]
    lens = frames - 2
    x = F.gelu(encoder.conv1(mel[None]))
    x = F.gelu(encoder.conv2(x)).permute(0, 2, 1)
    valid = (torch.arange(frames) < lens)[(frames + 1) % 2 :: 2]
    bias = (1.0 - valid.float()) * -1.0e10
    x = x + encoder.positional_embedding.weight[: x.shape[1]]
    for block in encoder.blocks:
        attn, h = block.attn, block.attn_ln(x)
        heads = attn.heads
        scale = (h.shape[-1] // heads) ** -0.25
        q = attn.query(h).view(1, -1, heads, h.shape[-1] // heads).permute(0, 2, 1, 3) * scale
        k = attn.key(h).view(1, -1, heads, h.shape[-1] // heads).permute(0, 2, 3, 1) * scale
        v = attn.value(h).view(1, -1, heads, h.shape[-1] // heads).permute(0, 2, 1, 3)
        w = torch.softmax((q @ k + bias).float(), dim=-1)
        x = x + attn.out((w @ v).permute(0, 2, 1, 3).flatten(2))
        x = x + block.mlp(block.mlp_ln(x))
    x = encoder.after_norm(torch.nn.functional.avg_pool1d(x.permute(0, 2, 1), 2, 2).permute(0, 2, 1))
    encoded = (lens + 1) // 2 // 2
    x = F.gelu(adapter.conv(x.permute(0, 2, 1))).permute(0, 2, 1)
    x = adapter.linear2(torch.relu(adapter.linear1(x)))
    return x[0, : (encoded - 1) // 2 + 1]


# ---- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_step_audio2(tmp_path_factory.mktemp("step-audio-2") / "tiny")


@pytest.fixture(scope="module")
def policy(tiny):
    return AudioPolicy.from_pretrained(tiny)


@pytest.fixture(scope="module")
def tokenizer(tiny):
    return AutoTokenizer.from_pretrained(tiny, local_files_only=True)


def small_model(seed=0, layers=2):
    config = StepAudio2Config(
        audio_encoder_config={"n_audio_state": 64, "n_audio_head": 2, "n_audio_layer": layers, "llm_dim": 64},
        text_config={
            "vocab_size": 64,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "eos_token_id": 1,
        },
        audio_start_token_id=60,
        audio_patch_token_id=61,
    )
    torch.manual_seed(seed)
    return StepAudio2ForCausalLM(config).eval()


def prompt_ids(counts, before=(5, 6), after=(7, 8)):
    """Token ids: text, then per chunk <audio_start>(60) + patches(61) + <audio_end>(62), then text."""
    ids = list(before)
    for count in counts:
        ids += [60] + [61] * count + [62]
    return torch.tensor([ids + list(after)])


# ---- features and counts -------------------------------------------------------------------


def test_the_mel_bank_is_librosas_slaney_bank():
    assert torch.allclose(mel_filters().double(), torch.from_numpy(slaney_mel_bank()), atol=1e-7)


@pytest.mark.parametrize("clip", [tone(440, 1.0), noise(2.37, seed=1), tone(3000, 0.05), np.zeros(8000, np.float32)])
def test_log_mels_equal_the_release_formula(clip):
    ours = log_mel(clip)
    theirs = torch.from_numpy(release_log_mel(clip)).float()
    assert ours.shape == theirs.shape == (128, (len(clip) + 479) // 160)
    assert torch.allclose(ours, theirs, atol=2e-4)


def test_token_counts_equal_the_release_formula():
    frames = np.arange(3, 3000)
    assert [audio_token_count(int(f)) for f in frames] == release_token_count(frames).tolist()
    assert audio_token_count(log_mel(np.zeros(25 * RATE, np.float32)).shape[1]) == 313


def test_a_sixty_second_clip_is_three_chunks_with_their_placeholders(tokenizer):
    batch = StepAudio2Inputs(tokenizer)("<|BOT|>human\nCount.<audio_patch><|EOT|>", [noise(60.0)])
    frames = batch["feature_attention_mask"].sum(-1).tolist()
    assert frames == [2502, 2502, 1002] and batch["input_features"].shape == (3, 128, 2502)
    text = tokenizer.decode(batch["input_ids"][0])
    chunks = text.split("<audio_start>")[1:]
    assert [chunk.split("<audio_end>")[0].count("<audio_patch>") for chunk in chunks] == [313, 313, 125]
    assert text.startswith("<|BOT|>human\nCount.<audio_start>") and text.endswith("<audio_end><|EOT|>")


def test_placeholders_must_match_the_clips(tokenizer):
    with pytest.raises(ValueError, match="1 <audio_patch> placeholders for 2 clips"):
        StepAudio2Inputs(tokenizer)("<audio_patch>", [tone(440), tone(880)])


# ---- chat template ------------------------------------------------------------------------


def render(tokenizer, messages, **options):
    return tokenizer.apply_chat_template(messages, tokenize=False, chat_template=CHAT_TEMPLATE, **options)


def test_system_prompt_question_and_clip_render_as_the_release(tokenizer):
    messages = [
        {"role": "system", "content": "You are an audio expert."},
        {"role": "user", "content": [{"type": "text", "text": "What is heard?"}, {"type": "audio", "audio": "a.wav"}]},
    ]
    assert render(tokenizer, messages, add_generation_prompt=True) == (
        "<|BOT|>system\nYou are an audio expert.<|EOT|><|BOT|>human\nWhat is heard?<audio_patch><|EOT|><|BOT|>assistant\n<think>\n"
    )


def test_several_clips_turns_and_a_prefilled_think_render_as_the_release(tokenizer):
    messages = [
        {"role": "human", "content": [{"type": "audio"}, {"type": "text", "text": "then"}, {"type": "audio"}]},
        {"role": "assistant", "content": "Two tones."},
        {"role": "user", "content": "Which is higher?<audio_patch>\n"},
        {"role": "assistant", "content": "<think>\n"},
    ]
    assert render(tokenizer, messages) == (
        "<|BOT|>human\n<audio_patch>then<audio_patch><|EOT|>"
        "<|BOT|>assistant\nTwo tones.<|EOT|>"
        "<|BOT|>human\nWhich is higher?<audio_patch><|EOT|>"
        "<|BOT|>assistant\n<think>\n"
    )


def test_other_roles_and_a_later_system_message_render_as_turns(tokenizer):
    messages = [
        {"role": "user", "content": {"type": "text", "value": "Hi"}},
        {"role": "function_output", "content": "dropped"},
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": None},
    ]
    assert render(tokenizer, messages) == "<|BOT|>human\nHi<|EOT|><|BOT|>system\nBe brief.<|EOT|><|BOT|>assistant\n"


def test_tools_open_the_system_turn(tokenizer):
    tools = [{"type": "function", "function": {"name": "search"}}]
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    assert render(tokenizer, messages, tools=tools) == (
        '<|BOT|>system\nS<|EOT|><|BOT|>tool_json_schemas\n[{"type": "function", "function": {"name": "search"}}]<|EOT|>'
        "<|BOT|>human\nQ<|EOT|>"
    )


def test_multiple_choice_puts_the_question_and_options_before_the_audio(policy):
    question = choice_question("Which of the following best describes the male vocal in the audio?", ["Soft and melodic", "Whispering"])
    prompt = policy.prompt_builder.question(question, tone(440), prefill_think=True)
    assert prompt.text == (
        "<|BOT|>human\nWhich of the following best describes the male vocal in the audio?\n"
        "Please choose the answer from the following options, do not provide any additional explanations or content: \n"
        "A. Soft and melodic\nB. Whispering\n<audio_patch><|EOT|><|BOT|>assistant\n<think>\n"
    )
    assert policy.prompt_builder.question("Q?", tone(440)).text == prompt.text.replace(question, "Q?")  # the think is always open


# ---- the model -----------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1.0, 1.01, 2.37])  # even and odd frame counts
def test_a_chunk_alone_is_encoded_as_the_release_encodes_it(seconds):
    model = small_model()
    mel = log_mel(noise(seconds))
    features, mask = pad_features([mel])
    with torch.no_grad():
        ours = model.embed_audio(features, mask)[0]
        theirs = release_audio_embeddings(model, mel)
    assert ours.shape == theirs.shape == (audio_token_count(mel.shape[1]), 64)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_chunks_of_different_lengths_batched_equal_each_alone():
    model = small_model()
    mels = [log_mel(noise(s, seed=i)) for i, s in enumerate([2.37, 1.0, 1.01, 0.03, 0.02])]
    with torch.no_grad():
        batched = model.embed_audio(*pad_features(mels))
        alone = [model.embed_audio(*pad_features([mel]))[0] for mel in mels]
    for one, other in zip(batched, alone):
        assert one.shape == other.shape and torch.allclose(one, other, atol=1e-5)
    assert [len(chunk) for chunk in batched[-2:]] == [1, 0]  # a tail under 20 ms takes no placeholders


def test_a_batch_of_two_prompts_equals_each_alone():
    model = small_model()
    short, long = log_mel(noise(1.0)), log_mel(noise(2.37, seed=3))
    rows = [prompt_ids([audio_token_count(short.shape[1])]), prompt_ids([audio_token_count(long.shape[1])], before=(5, 6, 9))]
    width = max(r.shape[1] for r in rows)
    ids = torch.cat([F.pad(r, (0, width - r.shape[1])) for r in rows])
    attention = torch.cat([F.pad(torch.ones_like(r), (0, width - r.shape[1])) for r in rows])
    with torch.no_grad():
        batched = model(
            input_ids=ids,
            attention_mask=attention,
            input_features=pad_features([short, long])[0],
            feature_attention_mask=pad_features([short, long])[1],
        ).logits
        for i, (row, mel) in enumerate(zip(rows, [short, long])):
            alone = model(input_ids=row, input_features=mel[None]).logits[0]
            assert torch.allclose(batched[i, : row.shape[1]], alone, atol=1e-4)


def test_cached_generation_equals_the_uncached_forwards_greedy_tokens():
    model = small_model(seed=1)
    mel = log_mel(tone(440))
    ids = prompt_ids([audio_token_count(mel.shape[1])])
    features, mask = pad_features([mel])
    with torch.no_grad():
        greedy = {"input_features": features, "feature_attention_mask": mask, "max_new_tokens": 12, "do_sample": False}
        cached = model.generate(ids, **greedy, eos_token_id=None, pad_token_id=0)[0, ids.shape[1] :].tolist()
        uncached = model.generate(ids, **greedy, eos_token_id=None, pad_token_id=0, use_cache=False)[0, ids.shape[1] :].tolist()
        sequence = ids
        for _ in range(12):
            logits = model(input_ids=sequence, input_features=features, feature_attention_mask=mask).logits[0, -1]
            sequence = torch.cat([sequence, logits.argmax().view(1, 1)], dim=1)
    assert cached == uncached == sequence[0, ids.shape[1] :].tolist()


def test_sampling_several_responses_repeats_each_rows_chunks_with_the_row():
    model = small_model()
    rows = torch.cat([prompt_ids([1, 1]), prompt_ids([1, 1], before=(5, 9))])
    features = torch.arange(4.0).view(4, 1, 1).expand(4, 128, 20)  # row 0: chunks 0, 1; row 1: chunks 2, 3
    ids, kwargs = model._expand_inputs_for_generation(2, input_ids=rows, input_features=features, feature_attention_mask=torch.ones(4, 20))
    assert ids[:, 2].tolist() == [60, 60, 60, 60] and ids[:, 1].tolist() == [6, 6, 9, 9]
    assert kwargs["input_features"][:, 0, 0].tolist() == [0, 1, 0, 1, 2, 3, 2, 3]


def test_the_logits_hear_the_audio():
    model = small_model()
    ids = prompt_ids([audio_token_count(log_mel(tone(440)).shape[1])])
    with torch.no_grad():
        heard = model(input_ids=ids, input_features=log_mel(tone(440))[None]).logits
        silent = model(input_ids=ids, input_features=log_mel(np.zeros(RATE, np.float32))[None]).logits
        text_only = model(input_ids=ids).logits
    assert not torch.allclose(heard, silent, atol=1e-3) and not torch.allclose(heard, text_only, atol=1e-3)
    assert torch.equal(heard[0, :2], silent[0, :2])  # text before the clip cannot see it


def test_gradient_checkpointing_gives_the_same_gradients():
    mel = log_mel(noise(1.0))
    ids = prompt_ids([audio_token_count(mel.shape[1])])
    grads = []
    for checkpointing in (False, True):
        model = small_model().train()
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model(input_ids=ids, input_features=mel[None], labels=ids).loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert model.encoder.blocks[0].gradient_checkpointing and model.model.layers[0].gradient_checkpointing
    assert torch.allclose(grads[0], grads[1], atol=1e-6) and grads[0].abs().sum() > 0


def test_mismatched_audio_is_a_clear_error():
    model = small_model()
    mel = log_mel(tone(440))
    with pytest.raises(ValueError, match="1 <audio_start> tokens for 2 audio chunks"):
        model(input_ids=prompt_ids([13]), input_features=torch.stack([mel, mel]))
    with pytest.raises(ValueError, match="needs 13 placeholders"):
        model(input_ids=prompt_ids([2], after=()), input_features=mel[None])


def test_a_response_that_writes_audio_start_stays_text():
    model = small_model()
    mel = log_mel(tone(440))
    ids = prompt_ids([audio_token_count(mel.shape[1])])
    with torch.no_grad():
        prompt = model(input_ids=ids, input_features=mel[None]).logits
        answered = model(input_ids=torch.cat([ids, torch.tensor([[60, 9, 60]])], 1), input_features=mel[None]).logits
    assert torch.allclose(answered[:, : ids.shape[1]], prompt, atol=1e-5)


# ---- the tiny checkpoint through AudioPolicy ------------------------------------------------


def test_the_tiny_checkpoint_has_the_released_layout(tiny, tmp_path, tokenizer):
    config = json.loads((tiny / "config.json").read_text())
    assert config["model_type"] == "step_audio_2" and config["architectures"] == ["StepAudio2ForCausalLM"]
    assert set(config["audio_encoder_config"]) >= {
        "n_mels",
        "n_audio_ctx",
        "n_audio_state",
        "n_audio_head",
        "n_audio_layer",
        "llm_dim",
        "kernel_size",
        "adapter_stride",
    }
    ids = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "<|EOT|>", "<audio_start>"])
    assert ids == sorted(ids) and config["eos_token_id"] == ids[:3] and config["audio_start_token_id"] == ids[3]
    assert main(["tiny-policy", str(tmp_path / "again"), "--arch", "step-audio-2"]) == 0
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (tiny / "model.safetensors").read_bytes()


def test_the_tiny_checkpoint_loads_samples_and_scores_through_audio_policy(policy):
    assert isinstance(policy.model, StepAudio2ForCausalLM)
    assert policy.eos_token_ids == set(policy.tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "<|EOT|>"]))
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440), system="Listen carefully.")
    (greedy,) = policy.generate([prompt], n=2, max_new_tokens=12, temperature=0.0)
    assert greedy[0] == greedy[1] and greedy[0].prompt_tokens == policy.inputs(prompt)["input_ids"].shape[1]
    (sampled,) = policy.generate([prompt], n=3, max_new_tokens=12, temperature=1.0, seed=0)
    assert len(sampled) == 3 and all(0 < g.response_tokens <= 12 for g in sampled)
    response = list(greedy[0].token_ids)
    logprobs = policy.logprobs(prompt, response)
    assert logprobs.shape == (len(response),) and bool((logprobs <= 0).all())
    silent = policy.logprobs(
        policy.prompt_builder.question("Which tone is higher?", np.zeros(RATE, np.float32), system="Listen carefully."), response
    )
    assert not torch.allclose(logprobs, silent, atol=1e-4)


def test_a_released_config_with_remote_code_entries_loads_without_it(tiny, tmp_path):
    folder = tmp_path / "released"
    folder.mkdir()
    for path in tiny.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    config = json.loads((tiny / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "configuration_step_audio_2.StepAudio2Config",
        "AutoModelForCausalLM": "modeling_step_audio_2.StepAudio2ForCausalLM",
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").unlink()  # a release tokenizer without a template gets the release's
    loaded = AudioPolicy.from_pretrained(folder)
    assert isinstance(loaded.model, StepAudio2ForCausalLM)
    assert loaded.prompt_builder.question("Q?").text == "<|BOT|>human\nQ?<|EOT|><|BOT|>assistant\n<think>\n"


def test_long_clips_are_accepted_and_chunked(policy):
    prompt = policy.prompt_builder.question("Summarise.", noise(26.0))
    inputs = policy.inputs(prompt)
    assert inputs["feature_attention_mask"].sum(-1).tolist() == [2502, (RATE + 479) // 160]


def test_the_format_verifier_reads_the_templates_open_think_as_prefilled(policy):
    from aural.verifiers import Sample, make_verifier

    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440)).text
    think_format = make_verifier("think_format")
    assert think_format(Sample("The first rises.</think>(A)", "A", "audio", prompt=prompt)).reason == "ok"
    assert think_format(Sample("<think>The first rises.</think>(A)", "A", "audio", prompt=prompt)).reason == "nested_think"


def test_a_template_that_opens_the_think_is_not_prefilled_twice(tokenizer):
    builder = PromptBuilder(tokenizer)
    assert builder.max_seconds == 30.0 and builder.audio_first
    assert builder.render([{"role": "user", "content": "Q"}], prefill_think=True)[0].endswith("<|BOT|>assistant\n<think>\n")


# ---- configs and sharding ------------------------------------------------------------------

MINI = {  # Step-Audio 2 mini (7B): nested
    "architectures": ["StepAudio2ForCausalLM"],
    "model_type": "step_audio_2",
    "audio_encoder_config": {
        "n_mels": 128,
        "n_audio_ctx": 1500,
        "n_audio_state": 1280,
        "n_audio_head": 20,
        "n_audio_layer": 32,
        "llm_dim": 3584,
        "kernel_size": 3,
        "adapter_stride": 2,
    },
    "text_config": {
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_attention_heads": 28,
        "num_attention_groups": 4,
        "num_key_value_heads": 4,
        "num_hidden_layers": 28,
        "max_seq_len": 16384,
        "vocab_size": 158720,
        "rms_norm_eps": 1e-06,
        "eos_token_id": 151643,
        "pad_token_id": 151643,
        "rope_theta": 1000000.0,
    },
}
R1 = {  # Step-Audio-R1 (33B): flat, no hidden_act
    "architectures": ["StepAudio2ForCausalLM"],
    "model_type": "step_audio_2",
    "audio_encoder_config": {**MINI["audio_encoder_config"], "llm_dim": 5120},
    "hidden_size": 5120,
    "intermediate_size": 27648,
    "num_attention_heads": 40,
    "num_attention_groups": 8,
    "num_key_value_heads": 8,
    "num_hidden_layers": 64,
    "max_seq_len": 65536,
    "vocab_size": 158720,
    "rms_norm_eps": 1e-05,
    "rope_theta": 1000000.0,
    "pad_token_id": 151643,
}


def config_folder(tmp_path, name, config):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_nested_and_flat_configs_read_the_same_way(tmp_path):
    mini = StepAudio2Config(**MINI)
    r1 = StepAudio2Config(**R1)
    assert (r1.text_config.num_hidden_layers, r1.text_config.hidden_size, r1.text_config.hidden_act) == (64, 5120, "silu")
    assert r1.text_config.eos_token_id == mini.eos_token_id == [151643, 151645, 151665]
    assert mini.audio_start_token_id == 151688 and mini.audio_encoder_config.llm_dim == 3584
    reloaded = StepAudio2Config.from_pretrained(r1.save_pretrained(tmp_path) or tmp_path)
    assert reloaded.text_config.to_dict() == r1.text_config.to_dict()


def test_sharding_plans_the_33b_and_the_7b_mini(tmp_path):
    r1 = plan_sharding(config_folder(tmp_path, "r1", R1), Cluster(nodes=2, gpus_per_node=8, gpu_memory_gb=80))
    assert 32e9 < r1.parameters < 34e9 and r1.tensor_parallel == 2 and r1.vllm_engines == 8  # 31.2 GiB of bf16 each
    assert r1.openrlhf_args()["--ds.zero_stage"] == 3
    mini = plan_sharding(config_folder(tmp_path, "mini", MINI), Cluster(gpus_per_node=8, gpu_memory_gb=80))
    assert 7.5e9 < mini.parameters < 9e9 and mini.tensor_parallel == 1 and mini.vllm_engines == 8
    assert plan_sharding(config_folder(tmp_path, "mini2", MINI), Cluster(gpu_memory_gb=24)).tensor_parallel == 2
    with pytest.raises(ShardingError, match="tensor_parallel 3 does not divide the 40 attention heads"):
        plan_sharding(config_folder(tmp_path, "r1b", R1), Cluster(gpus_per_node=6), tensor_parallel=3)
    with pytest.raises(ShardingError, match="tensor_parallel 8 does not divide the 28 attention heads"):
        plan_sharding(config_folder(tmp_path, "mini3", MINI), Cluster(gpus_per_node=8), tensor_parallel=8)


# ---- the README's example ------------------------------------------------------------------


@pytest.mark.slow
def test_the_readme_example_runs_on_the_tiny_checkpoint(tiny, tmp_path):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "choice_question(" in b]
    for real, offline in [('"Step-Audio-R1.1"', repr(str(tiny))), ('"bfloat16"', '"float32"'), ('"cuda"', '"cpu"'), ("10_240", "8")]:
        assert real in example
        example = example.replace(real, offline)
    soundfile.write(tmp_path / "clip.wav", tone(440), RATE)
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert printed[0].split()[0] in {"stop", "length"} and "--vllm.tensor_parallel_size" in printed[2]


# ---- vLLM, through the aural_step_audio2 plug-in -----------------------------------------


@pytest.mark.slow
def test_vllm_samples_the_tiny_checkpoint_with_the_transformers_log_probs(tiny, policy):
    from vllm import SamplingParams

    from aural.rollouts.engines import SamplingSettings, VLLMEngine

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    engine = VLLMEngine(tiny, dtype="float32", seed=0)
    try:
        prompts = [
            policy.prompt_builder.question("Which tone is higher?", tone(440, 27.0), system="Listen carefully."),  # two chunks
            policy.prompt_builder.question("Count the beeps.", noise(1.3)),
        ]
        requests = [{"prompt": p.text, "multi_modal_data": {"audio": [(a, RATE) for a in p.audios]}} for p in prompts]
        outputs = engine.llm.generate(requests, SamplingParams(n=2, max_tokens=12, temperature=1.0, seed=0, logprobs=0))
        for prompt, output in zip(prompts, outputs):
            assert output.prompt_token_ids == policy.inputs(prompt)["input_ids"][0].tolist()  # same chunks and placeholders
            for sample in output.outputs:
                sampled = torch.tensor([entry[token].logprob for entry, token in zip(sample.logprobs, sample.token_ids)])
                torch.testing.assert_close(policy.logprobs(prompt, list(sample.token_ids)), sampled, atol=2e-3, rtol=2e-3)
        batches = engine.sample(prompts, SamplingSettings(n=3, max_new_tokens=6, seed=0))
        assert [len(batch) for batch in batches] == [3, 3]
        assert all(1 <= g.response_tokens <= 6 and g.finish_reason in ("stop", "length") for batch in batches for g in batch)
    finally:
        engine.close()


# ---- `aural rollout`, both engines --------------------------------------------------------


@pytest.mark.slow
def test_aural_rollout_samples_and_scores_the_tiny_checkpoint_with_both_engines(tiny, tmp_path):
    examples = Path(str(resources.files("aural.examples") / "prompts.jsonl"))
    chosen = {"pitch-0", "beeps-3", "digit-3"}
    lines = [json.loads(line) for line in examples.read_text().splitlines()]
    lines = [{**line, "audio": str(examples.parent / line["audio"])} for line in lines if line["id"] in chosen]
    lines.append({"id": "text-0", "question": "What is 2 + 2? Answer with a number.", "label": "4"})
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    prompt_tokens = {}
    for engine in ("hf", "vllm"):
        store = tmp_path / f"{engine}.jsonl"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "aural",
                "rollout",
                str(prompts),
                "--policy",
                str(tiny),
                "--engine",
                engine,
                "-n",
                "2",
                "--max-new-tokens",
                "8",
                "--seed",
                "0",
                "--no-progress",
                "-o",
                str(store),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "prompts (sampled this run / in the store)  4 / 4 of 4" in done.stdout
        records = [json.loads(line) for line in store.read_text().splitlines()]
        samples = sorted((r["prompt_id"], r["sample_index"]) for r in records)
        assert samples == sorted((p, i) for p in [*chosen, "text-0"] for i in range(2))  # every prompt once, n=2 each
        for record in records:
            assert record["engine"] == engine and record["finish_reason"] in ("stop", "length")
            assert 1 <= record["response_tokens"] <= 8 and (record["finish_reason"] == "stop" or record["response_tokens"] == 8)
            assert "<|EOT|>" not in record["response"]  # a stop token ends the text, it is not written out
            assert record["prompt"].startswith("<|BOT|>human\n") and record["prompt"].endswith("<|EOT|><|BOT|>assistant\n<think>\n")
            assert record["prompt"].count("<audio_patch>") == (record["modality"] == "audio")
            expected = {"accuracy", "format"} if record["modality"] == "audio" else {"accuracy"}
            assert isinstance(record["reward"], float) and expected <= set(record["components"])
            prompt_tokens.setdefault(record["prompt_id"], set()).add(record["prompt_tokens"])
    assert all(len(counts) == 1 for counts in prompt_tokens.values())  # both engines expand the clips to the same placeholders


# ---- PPO: the prompt file and the stops --------------------------------------------------


def test_the_ppo_prompt_file_holds_the_release_template_with_the_think_prefilled(tiny, tmp_path):
    from aural.rollouts.prompt_set import read_prompt_set
    from aural.training.openrlhf_prompts import write_openrlhf_prompts

    examples = Path(__file__).parents[1] / "examples" / "prompts.jsonl"
    records = read_prompt_set(examples)
    written = write_openrlhf_prompts(records, PromptBuilder.from_pretrained(tiny), tmp_path / "p.jsonl")
    lines = [json.loads(text) for text in written.read_text().splitlines()]
    assert len(lines) == len(records)
    for line in lines:
        assert line["input"].startswith("<|BOT|>") and line["input"].endswith("<|BOT|>assistant\n<think>\n")
        assert line["input"].count("<audio_patch>") == 1 and "<|BOT|>human\n" in line["input"]


def test_every_stop_of_the_family_ends_a_response_when_the_folder_lists_fewer(tiny, tmp_path):
    from transformers import AutoConfig, GenerationConfig

    from aural.policy.model import stop_token_ids
    from aural.training.openrlhf_agent import AgentExecutor

    folder = tmp_path / "one-stop"
    shutil.copytree(tiny, folder)
    generation = json.loads((folder / "generation_config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    eot = tokenizer.convert_tokens_to_ids("<|EOT|>")
    three = set(generation["eos_token_id"])
    generation["eos_token_id"] = [tokenizer.convert_tokens_to_ids("<|endoftext|>")]  # the folder lists one
    (folder / "generation_config.json").write_text(json.dumps(generation))
    stops = stop_token_ids(AutoConfig.from_pretrained(folder), GenerationConfig.from_pretrained(folder), tokenizer)
    assert stops == three and eot in stops
    assert AudioPolicy.from_pretrained(folder).eos_token_ids == three
    assert AgentExecutor().stops(tokenizer) == three  # the rollout engine is told each


def test_synced_weights_go_by_the_checkpoint_names_the_vllm_model_loads(tiny):
    """OpenRLHF broadcasts the trainer's in-memory names: for StepAudio2 they are the released
    checkpoint's (which the vLLM plug-in model loads, as the log-prob test shows), unchanged."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from aural.policy.checkpoint import engine_weight_name
    from aural.policy.model import load_audio_model

    model = load_audio_model(tiny, AutoConfig.from_pretrained(tiny))
    released = set(load_file(next(Path(tiny).glob("*.safetensors"))))
    synced = {engine_weight_name("step_audio_2", name) for name, _ in model.named_parameters()}
    assert synced <= released and {name.split(".")[0] for name in synced} == {"model", "encoder", "adapter", "lm_head"}


def test_a_checkpoint_with_the_flat_33b_config_layout_loads_and_scores_the_same(tiny, policy, tmp_path):
    folder = tmp_path / "flat"
    shutil.copytree(tiny, folder)
    config = json.loads((folder / "config.json").read_text())
    text = config.pop("text_config")
    config.update(
        {  # the decoder's keys at the top, as Step-Audio-R1's config writes them
            "hidden_size": text["hidden_size"],
            "intermediate_size": text["intermediate_size"],
            "num_attention_heads": text["num_attention_heads"],
            "num_attention_groups": text["num_key_value_heads"],
            "num_key_value_heads": text["num_key_value_heads"],
            "num_hidden_layers": text["num_hidden_layers"],
            "max_seq_len": text["max_position_embeddings"],
            "vocab_size": text["vocab_size"],
            "rms_norm_eps": text["rms_norm_eps"],
            "rope_theta": text["rope_parameters"]["rope_theta"],
        }
    )
    (folder / "config.json").write_text(json.dumps(config))
    flat = AudioPolicy.from_pretrained(folder)
    prompt = policy.prompt_builder.question("Which tone is higher?", tone(440))
    torch.testing.assert_close(flat.logprobs(prompt, "The first tone."), policy.logprobs(prompt, "The first tone."))
