"""The demo's parts: the audio tasks and their scripted teacher, the SFT collator and stop rule,
the whole pipeline at quick sizes (`aural demo --quick`), and at full size its bars (marked
``demo``: about eight minutes, left out of `make test`, run by ``pytest -m demo``)."""

import json
import random
from collections import Counter

import numpy as np
import pytest
import soundfile
import torch

from aural import Sample, load_recipe
from aural.cli import main
from aural.demo import DemoSettings, run_demo
from aural.examples.tasks import CHAIN_KINDS, CLIP_SECONDS, RATE, count_example, pitch_example, teacher_chains, write_task_set
from aural.policy.model import AudioPolicy
from aural.policy.tiny import write_tiny_policy
from aural.rollouts.prompt_set import read_prompt_set
from aural.training.sft import IGNORED, AudioSFTCollator, SFTSettings, train_sft


@pytest.fixture(scope="module")
def short_window(tmp_path_factory):
    return AudioPolicy.from_pretrained(write_tiny_policy(tmp_path_factory.mktemp("policy") / "tiny", audio_window_s=2))


def test_task_sets_have_fixed_length_clips_balanced_answers_and_read_as_prompt_sets(tmp_path):
    prompts = write_task_set(tmp_path / "tasks", per_task=6, seed=3)
    records = read_prompt_set(prompts)
    assert [r.id.split("-")[0] for r in records] == ["pitch", "count"] * 6
    answers = Counter((r.id.split("-")[0], r.label["answer"] if isinstance(r.label, dict) else r.label) for r in records)
    assert answers == {("pitch", "A"): 3, ("pitch", "B"): 3, ("count", "2"): 3, ("count", "3"): 3}
    for record in records:
        clip, rate = soundfile.read(record.messages[0]["content"][0]["audio"])
        assert rate == RATE and len(clip) == int(CLIP_SECONDS * RATE) and np.abs(clip).max() > 0.05
    again = read_prompt_set(write_task_set(tmp_path / "again", per_task=6, seed=3))
    assert [r.label for r in again] == [r.label for r in records]  # the same seed, the same set


def test_the_clips_hold_their_answer():
    rng = random.Random(0)
    for first_is_higher in (True, False):
        clip, _ = pitch_example(rng, first_is_higher)
        spectrum = lambda part: np.abs(np.fft.rfft(part))  # noqa: E731
        halves = np.split(clip, 2)
        peaks = [np.argmax(spectrum(h)) for h in halves if np.abs(h).max() > 0]
        assert len(peaks) == 2 and (peaks[0] > peaks[1]) == first_is_higher
    for count in (2, 3):
        clip, _ = count_example(rng, count)
        loud = np.abs(clip) > 0.02
        onsets = np.flatnonzero(loud[1:] & ~loud[:-1])
        assert len(onsets[np.diff(onsets, prepend=-RATE) > RATE // 20]) == count  # separate beeps


@pytest.mark.parametrize("seed", range(20))
def test_mgrd_keeps_only_the_teachers_grounded_chains_and_the_reward_pays_them(seed):
    rng = random.Random(seed)
    fields = (pitch_example if seed % 2 else count_example)(rng, True if seed % 2 else 2 + seed % 4 // 2)[1]
    mgrd, reward = load_recipe("mgrd"), load_recipe("step-audio-r1")
    chains = teacher_chains(fields, rng)
    assert [kind for kind, _ in chains] == list(CHAIN_KINDS)
    for kind, response in chains:
        sample = Sample(response, fields["label"], "audio", "<|im_start|>assistant\n<think>\n", "stop")
        assert (mgrd.score(sample).total == 1.0) == (kind == "grounded"), (kind, response)
        assert reward.score(sample).total == (0.2 if kind == "wrong" else 1.0), (kind, response)


def test_the_sft_collator_learns_the_answer_only_and_hands_the_clips_over(short_window, tmp_path):
    prompts = write_task_set(tmp_path / "tasks", per_task=1, seed=0)
    record = read_prompt_set(prompts)[0]
    answer = "The first tone is higher in pitch.</think>The answer is (A)."
    messages = [*record.messages, {"role": "assistant", "content": "<think>\n" + answer}]
    batch = AudioSFTCollator(short_window)(
        [{"messages": json.dumps(messages)}, {"messages": json.dumps(messages[:1] + [{"role": "assistant", "content": "(A)"}])}]
    )
    tokenizer = short_window.tokenizer
    learnt = batch["labels"][0][batch["labels"][0] != IGNORED].tolist()
    assert tokenizer.decode(learnt) == answer + tokenizer.eos_token
    prompt = short_window.prompt_builder.build(record.messages, prefill_think=True)
    expanded = short_window.inputs(prompt)["input_ids"][0].tolist()
    assert batch["input_ids"][0, : len(expanded)].tolist() == expanded  # the prefilled prompt, placeholders expanded
    short = batch["attention_mask"][1].sum()
    assert batch["attention_mask"][1, short:].sum() == 0 and (batch["labels"][1, short:] == IGNORED).all()
    assert batch["input_features"].shape == (2, 128, 200) and batch["feature_attention_mask"].shape == (2, 200)


def test_sft_stops_at_the_format_bar_and_changes_the_weights(tmp_path):
    policy = AudioPolicy.from_pretrained(write_tiny_policy(tmp_path / "tiny", audio_window_s=2))
    records = read_prompt_set(write_task_set(tmp_path / "tasks", per_task=4, seed=0))
    examples = [
        {
            "id": r.id,
            "messages": [*r.messages, {"role": "assistant", "content": "<think>\n" + teacher_chains(r.source, random.Random(0))[0][1]}],
        }
        for r in records
    ]
    before = {name: p.detach().clone() for name, p in policy.model.named_parameters()}
    never = train_sft(
        policy, examples, records[:2], SFTSettings(batch_size=4, max_steps=3, check_every=1, stop_at_format=1.01, max_new_tokens=8)
    )
    assert [c["step"] for c in never.checks] == [1, 2, 3]  # a bar above 1 never stops it: the last step does
    assert any(not torch.equal(p, before[name]) for name, p in policy.model.named_parameters())
    met = train_sft(
        policy, examples, records[:2], SFTSettings(batch_size=4, max_steps=5, check_every=1, stop_at_format=0.0, max_new_tokens=8)
    )
    assert [c["step"] for c in met.checks] == [1]  # any rate meets a bar of 0: it stops at the first check


@pytest.mark.slow
def test_the_quick_demo_connects_every_stage(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "-o", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    for stage in ("init", "sft", "ppo"):
        for decoding in ("greedy", "temperature 1"):
            conditions = report["evaluation"][stage][decoding]
            assert set(conditions) == {"audio", "silence", "shuffled"}
            assert all(0.0 <= value <= 1.0 for c in conditions.values() for value in c.values())
    mgrd = report["mgrd"]  # the teacher's four kinds: one grounded chain kept per training question
    assert mgrd["candidates"] == 4 * mgrd["kept"] and mgrd["rejected_by"]["accuracy"] == mgrd["kept"]
    assert len((out / "mgrd" / "sft.jsonl").read_text().splitlines()) == mgrd["kept"]
    selection = report["selection"]
    assert selection["below"] + selection["inside"] + selection["above"] == selection["prompts"]
    assert len((out / "select" / "prompts.jsonl").read_text().splitlines()) == selection["inside"]
    assert [row["step"] for row in report["ppo"]["steps"]] == [1, 2]
    assert len((out / "ppo" / "log.jsonl").read_text().splitlines()) == 2
    weights = [
        AudioPolicy.from_pretrained(out / stage / "model" if stage != "init" else out / "init").model.state_dict()
        for stage in ("init", "sft", "ppo")
    ]
    name = next(n for n in weights[0] if "audio_tower" in n and n.endswith("weight"))
    assert not torch.equal(weights[0][name], weights[1][name]) and not torch.equal(weights[1][name], weights[2][name])
    assert set(report["bars"]) == set(report["settings"]["bars"]) and all(isinstance(b["holds"], bool) for b in report["bars"].values())
    assert (out / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "held-out clips, after each stage" in printed and "ppo - sft accuracy" in printed
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["demo", "--quick", "-o", str(tmp_path / "mine")]) == 2  # a folder of someone else's is never cleared
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me" and "not empty" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.demo
def test_the_demo_holds_its_bars(tmp_path):
    report = run_demo(tmp_path / "demo", DemoSettings(), say=lambda text: None)
    assert {name: bar["value"] for name, bar in report["bars"].items() if not bar["holds"]} == {}
