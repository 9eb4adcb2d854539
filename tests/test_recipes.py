"""The recipe scripts end to end on the tiny policy and the bundled examples (small K, budgets and steps)."""

import importlib.util
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from aural.policy.model import AudioPolicy
from aural.rollouts.store import RolloutStore
from aural.training import self_cognition

pytestmark = pytest.mark.slow  # whole recipes in subprocesses: tens of seconds each


RECIPES = Path(__file__).parents[1] / "recipes"
EXAMPLES = str(resources.files("aural.examples") / "prompts.jsonl")


def run(script, *args, cwd=None):
    done = subprocess.run([sys.executable, str(RECIPES / script), *args], capture_output=True, text=True, timeout=900, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def load(script):
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), RECIPES / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mgrd_round_end_to_end(tmp_path):
    """Run as the README shows: from the project root, prompts relative to it, output elsewhere."""
    out = tmp_path / "mgrd"
    prompts = str(Path(EXAMPLES).relative_to(RECIPES.parent))
    printed = run(
        "mgrd.py", prompts, "-o", str(out), "--engine", "hf", "-k", "2", "--max-new-tokens", "16", "--no-progress", cwd=RECIPES.parent
    )
    report = json.loads((out / "report.json").read_text())
    assert report["candidates"] == 24 * 2
    assert report["kept"] == len((out / "sft.jsonl").read_text().splitlines())
    for name, count in report["rejected_by"].items():
        assert count == sum(report["reasons"][name].values()) <= report["candidates"]
    assert "rejected by grounding" in printed
    assert len(RolloutStore(out / "candidates.jsonl").blocks()) == 24


def test_mgrd_keeps_only_grounded_coherent_correct_chains(tmp_path):
    from aural import load_recipe
    from aural.rewards.batch import score_batch
    from aural.rewards.scored_jsonl import scored_record
    from aural.rollouts import mgrd
    from aural.verifiers import Sample

    source = json.loads(Path(EXAMPLES).read_text().splitlines()[0])  # pitch-0: answer A
    source["audio"] = str(Path(EXAMPLES).parent / source["audio"])
    prompt = "<|im_start|>assistant\n<think>\n"
    chains = [
        ("The first tone is higher in pitch, an octave above the second, which sounds lower.</think>(A)", True),
        ("The transcript says first, so the first tone is higher in pitch.</think>(A)", False),  # surrogate
        ("The first tone is higher in pitch, an octave above the second, which sounds lower.</think>(B)", False),  # wrong
        ("pitch pitch pitch pitch " * 30 + "</think>(A)", False),  # degenerate
    ]
    recipe = load_recipe("mgrd")
    lines = [
        {
            "id": f"pitch-0-s{i}",
            "prompt_id": "pitch-0",
            "sample_index": i,
            "samples": len(chains),
            "prompt": prompt,
            "response": text,
            "modality": "audio",
            "label": source["label"],
            "finish_reason": "stop",
            "source": source,
        }
        for i, (text, _) in enumerate(chains)
    ]
    results = score_batch(recipe, [Sample(line["response"], line["label"], "audio", prompt, "stop") for line in lines])
    store = RolloutStore(tmp_path / "candidates.jsonl")
    store.append([scored_record(line, result) for line, result in zip(lines, results)])
    report = mgrd.distill(store.path, tmp_path / "sft.jsonl", "<thinking>")
    assert (report["candidates"], report["kept"]) == (4, 1)
    assert report["reasons"]["grounding"] == {"transcript_reasoning": 1, "no_acoustic_evidence": 1}
    assert report["reasons"]["accuracy"] == {"wrong": 1} and report["reasons"]["coherence"] == {"repetitive": 1}
    (example,) = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    user, assistant = example["messages"]
    assert user["content"][0] == {"type": "audio", "audio": source["audio"]}
    assert assistant == {"role": "assistant", "content": "<thinking>\n" + chains[0][0]}


def test_self_cognition_dpo_end_to_end(tmp_path):
    """Run from another folder, every path relative to it."""
    out = tmp_path / "dpo"
    run(
        "self_cognition_dpo.py",
        os.path.relpath(EXAMPLES, tmp_path),
        "-o",
        "dpo",
        "--engine",
        "hf",
        "-k",
        "2",
        "--max-new-tokens",
        "16",
        "--steps",
        "4",
        "--lr",
        "1e-3",
        cwd=tmp_path,
    )
    report = json.loads((out / "report.json").read_text())
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert report["pairs"] == len(pairs) > 0 and report["held_out_prompts"] == 6
    assert {p["id"] for p in pairs}.isdisjoint({json.loads(text)["id"] for text in Path(EXAMPLES).read_text().splitlines()[:6]})
    assert all(self_cognition.refuses(p["rejected"]) and not self_cognition.refuses(p["chosen"]) for p in pairs)
    assert 0.0 <= report["before"]["refusal_rate"] <= 1.0 and 0.0 <= report["after"]["refusal_rate"] <= 1.0
    assert report["after"]["refusal_margin"] < report["before"]["refusal_margin"]  # the refusal became less likely
    trained = AudioPolicy.from_pretrained(out / "model")  # the saved policy loads and samples
    prompt = trained.prompt_builder.question("Which tone is higher?", Path(EXAMPLES).parent / "prompts" / "pitch-0.flac")
    assert len(trained.generate([prompt], n=2, max_new_tokens=4)[0]) == 2


def test_self_cognition_pairs_and_answers_use_only_audio_answers_of_the_prompts_asked_for(tmp_path, monkeypatch):
    refusal = "I can only read text, sorry."
    blocks = {  # prompt id: (response, reward) of each rollout
        "train": [(refusal, 1.0), ("A rising tone.</think>(A)", 0.5), ("", 0.9)],
        "text": [("4", 1.0)],
        "held": [(refusal, 1.0), ("A low hum.</think>(B)", 0.2)],
        "held-refusing": [(refusal, 1.0)],
    }
    store = RolloutStore(tmp_path / "rollouts.jsonl")
    for prompt_id, rollouts in blocks.items():
        store.append(
            [
                {
                    "prompt_id": prompt_id,
                    "sample_index": i,
                    "samples": len(rollouts),
                    "prompt": "p",
                    "response": text,
                    "reward": reward,
                    "source": {"id": prompt_id},
                }
                for i, (text, reward) in enumerate(rollouts)
            ]
        )
    checked = []

    def refuses(response):
        checked.append(response)
        return "only read text" in response

    monkeypatch.setattr(self_cognition, "refuses", refuses)
    pairs, counts = self_cognition.build_pairs(store.path, {"train"})
    assert [(p["id"], p["chosen"], p["rejected"]) for p in pairs] == [("train", "A rising tone.</think>(A)", refusal)]
    assert counts == {"prompts": 1, "rejected_from_rollouts": 1, "rejected_canonical": 0, "no_chosen": 0}
    assert len(checked) == 3  # once per response
    answers = self_cognition.preferred_answers(store.path, {"held", "held-refusing", "missing"})
    assert answers == {"held": "A low hum.</think>(B)"}


def test_self_cognition_dpo_needs_audio_prompts(tmp_path, monkeypatch, capsys):
    prompts = tmp_path / "text.jsonl"
    prompts.write_text('{"id": "t", "question": "2+2?", "label": "4"}\n')
    monkeypatch.setattr(sys, "argv", ["self_cognition_dpo.py", str(prompts), "-o", str(tmp_path / "out")])
    assert load("self_cognition_dpo.py").main() == 2
    assert f"{prompts}: no audio prompts" in capsys.readouterr().err


def test_eval_scaling_end_to_end(tmp_path):
    out = tmp_path / "scaling"
    printed = run(
        "eval_scaling.py", EXAMPLES, "-o", str(out), "--engine", "hf", "--budgets", "32", "0", "8", "-n", "1", "--answer-tokens", "8"
    )
    rows = json.loads((out / "scaling.json").read_text())["rows"]
    assert [r["budget"] for r in rows] == [0, 8, 32]
    assert rows[0]["mean_reasoning_tokens"] == 0
    for row in rows:
        assert row["samples"] == 24 and 0.0 <= row["accuracy"] <= 1.0 and row["mean_reasoning_tokens"] <= row["budget"]
    assert rows[1]["mean_reasoning_tokens"] <= rows[2]["mean_reasoning_tokens"]
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "test-time scaling" in printed


def test_eval_scaling_closes_its_engine_and_the_hf_engine_releases_its_model(tmp_path, monkeypatch):
    from aural.rollouts.engines import HFEngine

    scaling = load("eval_scaling.py")
    prompts = tmp_path / "one.jsonl"
    prompts.write_text(json.dumps({"id": "q", "question": "Which? (A) x (B) y", "label": "A"}) + "\n")
    engines = []

    def make_engine(kind, policy):
        engines.append(HFEngine(policy))
        return engines[-1]

    monkeypatch.setattr(scaling, "make_engine", make_engine)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "eval_scaling.py",
            str(prompts),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            "hf",
            "--budgets",
            "0",
            "-n",
            "1",
            "--answer-tokens",
            "1",
        ],
    )
    assert scaling.main() == 0
    assert not hasattr(engines[0], "policy")


@pytest.mark.slow
def test_the_three_recipes_take_a_step_audio_2_policy(tmp_path):
    """Step-Audio-R1's family through the recipes: its prompts, inputs, a DPO step on its audio, and budget forcing."""
    from aural.policy.tiny import write_tiny_step_audio2

    policy = str(write_tiny_step_audio2(tmp_path / "policy"))
    small = ["--policy", policy, "--engine", "hf", "-k", "1", "--max-new-tokens", "8"]
    run("mgrd.py", EXAMPLES, "-o", str(tmp_path / "mgrd"), *small, "--no-progress")
    assert json.loads((tmp_path / "mgrd" / "report.json").read_text())["candidates"] == 24
    run("self_cognition_dpo.py", EXAMPLES, "-o", str(tmp_path / "dpo"), *small, "--steps", "2", "--lr", "1e-3")
    report = json.loads((tmp_path / "dpo" / "report.json").read_text())
    assert report["pairs"] > 0 and report["after"]["refusal_margin"] < report["before"]["refusal_margin"]
    assert AudioPolicy.from_pretrained(tmp_path / "dpo" / "model").model.config.model_type == "step_audio_2"
    budgets = ["--budgets", "8", "0", "-n", "1", "--answer-tokens", "4"]
    run("eval_scaling.py", EXAMPLES, "-o", str(tmp_path / "scaling"), "--policy", policy, "--engine", "hf", *budgets)
    scaling = json.loads((tmp_path / "scaling" / "scaling.json").read_text())
    assert scaling["policy"] == policy and [r["budget"] for r in scaling["rows"]] == [0, 8]
    assert all(r["samples"] == 24 and 0.0 <= r["accuracy"] <= 1.0 for r in scaling["rows"])
    assert scaling["rows"][0]["mean_reasoning_tokens"] == 0 < scaling["rows"][1]["mean_reasoning_tokens"] <= 8
