"""Rollouts: both engines, the Ray pool (with a worker killed mid-run), the store's resume, pass@k, selection."""

import itertools
import json
import os
import select
import signal
import subprocess
import sys
from importlib import resources
from math import comb
from pathlib import Path

import pytest

from aural.cli import main
from aural.policy.tiny import tiny_policy
from aural.rollouts.engines import SamplingSettings
from aural.rollouts.pool import RolloutPool
from aural.rollouts.prompt_set import PromptSetError, read_prompt_set
from aural.rollouts.select import select_prompts
from aural.rollouts.stats import pass_at_k
from aural.rollouts.store import RolloutStore, StoreError

EXAMPLES = resources.files("aural.examples") / "prompts.jsonl"


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance for the pool tests, stopped when they are done."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_a_pool_of_two_workers_survives_a_worker_killed_mid_run(local_ray):
    records = read_prompt_set(EXAMPLES)
    pool = RolloutPool("hf", str(tiny_policy()), workers=2, prompts_per_task=1)
    try:
        settings = SamplingSettings(n=2, max_new_tokens=48, seed=0)
        victim = pool.worker_pids()[0]
        seen = []
        for completed in pool.run(records, settings):
            seen.append(completed.record.id)
            if len(seen) == 3:
                os.kill(victim, signal.SIGKILL)
            assert len(completed.generations) == 2
        assert sorted(seen) == sorted(r.id for r in records)  # every prompt exactly once
        assert victim not in pool.worker_pids() and len(pool.workers) == 2
    finally:
        pool.close()


def rollout_command(store, *extra):
    return [
        sys.executable,
        "-m",
        "aural",
        "rollout",
        "--engine",
        "hf",
        "-n",
        "3",
        "--max-new-tokens",
        "32",
        "--prompts-per-task",
        "1",
        "--no-progress",
        "-o",
        str(store),
        *extra,
    ]


def blocks_in(store):
    return [b[0]["prompt_id"] for b in RolloutStore(store).blocks()]


@pytest.mark.slow
def test_killed_run_resumes_with_every_rollout_exactly_once(tmp_path):
    store = tmp_path / "rollouts.jsonl"
    command = [part for part in rollout_command(store) if part != "--no-progress"]  # its progress bar is the event waited on
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not store.exists() or len(blocks_in(store)) < 4:  # woken by each progress write, not on a timer
        ready, _, _ = select.select([run.stderr], [], [], 300)
        if not ready or not run.stderr.read1(65536):
            break  # silent for 5 minutes, or ended: the assertions below say which
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    before = blocks_in(store)
    assert 4 <= len(before) < 24
    with open(store, "ab") as handle:  # as if the kill had landed in the middle of writing a prompt
        handle.write(b'{"prompt_id": "digit-7", "sample_index": 0, "samples": 3, "response": "torn"}\n{"prompt_id": "dig')
    done = subprocess.run(rollout_command(store), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = RolloutStore(store).blocks()
    ids = [b[0]["prompt_id"] for b in after]
    assert sorted(ids) == sorted(r.id for r in read_prompt_set(EXAMPLES)) and ids[: len(before)] == before
    for block in after:
        assert [line["sample_index"] for line in block] == [0, 1, 2]
        assert all(line["response"] != "torn" and "reward" in line for line in block)
    again = subprocess.run(rollout_command(store), capture_output=True, text=True, timeout=600)
    assert "prompts (sampled this run / in the store)  0 / 24 of 24" in again.stdout


def test_store_recovery_cuts_only_a_torn_tail(tmp_path):
    store = RolloutStore(tmp_path / "store.jsonl")
    block = lambda pid: [{"prompt_id": pid, "sample_index": i, "samples": 2} for i in range(2)]  # noqa: E731
    store.append(block("a"))
    store.append(block("b"))
    with open(store.path, "ab") as handle:
        handle.write(b'{"prompt_id": "c", "sample_index": 0, "samples": 2}\n{"prompt_')
    assert store.recover() == {"a", "b"}
    assert [b[0]["prompt_id"] for b in store.blocks()] == ["a", "b"]
    store.append(block("c"))
    assert store.recover() == {"a", "b", "c"}
    lines = store.path.read_text().splitlines(keepends=True)
    store.path.write_text(lines[0] + "not json\n" + "".join(lines[2:]))
    with pytest.raises(StoreError, match=r"store.jsonl:2: .*damaged"):
        store.recover()


def test_pass_at_k_matches_counting_subsets():
    for n, correct in [(4, 0), (4, 1), (5, 2), (6, 6), (8, 3)]:
        outcomes = [True] * correct + [False] * (n - correct)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(outcomes, k))
            expected = sum(any(s) for s in subsets) / len(subsets)
            assert pass_at_k(n, correct, k) == pytest.approx(expected)
            assert pass_at_k(n, correct, k) == pytest.approx(1 - comb(n - correct, k) / comb(n, k))
    with pytest.raises(ValueError, match="k must be between 1 and n=4"):
        pass_at_k(4, 1, 5)


def test_select_keeps_the_middle_band(tmp_path, capsys):
    store = RolloutStore(tmp_path / "rollouts.jsonl")
    for prompt, right in [("easy", 16), ("medium", 4), ("hard", 0), ("rare", 1)]:
        store.append(
            [
                {
                    "prompt_id": prompt,
                    "sample_index": i,
                    "samples": 16,
                    "reward": 1.0 if i < right else 0.0,
                    "components": {"accuracy": {"score": 1.0 if i < right else 0.0, "reason": "ok", "extracted": None}},
                    "source": {"id": prompt, "question": "?", "label": "B"},
                }
                for i in range(16)
            ]
        )
    out = tmp_path / "selected.jsonl"
    chosen = select_prompts(store.path, k=8, low=0.2, high=0.99, out=out)
    # pass@8: easy 1.0, medium ~0.96, hard 0.0, rare 0.5
    assert (chosen.below, chosen.inside, chosen.above) == (1, 2, 1) and chosen.kept == ["medium", "rare"]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["medium", "rare"]
    assert main(["select", str(store.path), "--k", "8", "--band", "0.2", "0.99", "-o", str(out)]) == 0
    assert "kept 2 prompts" in capsys.readouterr().out
    with pytest.raises(ValueError, match="fewer than k=32"):
        select_prompts(store.path, k=32, low=0.0, high=1.0, out=out)


def test_prompt_set_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "prompts.jsonl"
    cases = [
        ('{"id": "a", "question": "q", "label": "B"}\n{"id": "a", "question": "q", "label": "B"}', ":2: id: 'a' appears twice"),
        ('{"id": "a", "question": "q"}', ":1: label: missing"),
        ('{"id": "a", "question": "q", "label": {"choices": ["x"]}}', ":1: label.answer: missing"),
        ('{"id": "a", "question": "q", "audio": "gone.wav", "label": "B"}', ":1: audio: no such audio file"),
        ('{"id": "a", "label": "B"}', ":1: question: expected a question"),
        ('{"id": "a", "question": "q", "label": "B", "modality": "video"}', ":1: modality"),
        ("[1]", ":1: line: expected a JSON object"),
        ('{"id": ', ":1: line: invalid JSON"),
    ]
    for text, message in cases:
        path.write_text(text + "\n")
        with pytest.raises(PromptSetError, match=str(path) + message.replace("(", r"\(").replace(")", r"\)")):
            read_prompt_set(path)
    records = read_prompt_set(EXAMPLES)
    assert len(records) == 24 and all(os.path.isabs(r.source["audio"]) for r in records)


def test_a_prompt_set_read_by_a_relative_path_names_its_clips_absolutely(tmp_path, monkeypatch):
    """A derived prompt file written elsewhere must still find its clips."""
    monkeypatch.chdir(Path(EXAMPLES).parents[1])
    records = read_prompt_set(os.path.relpath(EXAMPLES))
    clips = [
        part["audio"]
        for r in records
        for m in r.messages
        for part in m["content"]
        if isinstance(part, dict) and part.get("type") == "audio"
    ]
    assert len(clips) == 24 and all(os.path.isabs(c) and os.path.isfile(c) for c in clips)
    assert all(os.path.isabs(r.source["audio"]) for r in records)
