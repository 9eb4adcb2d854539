"""Aural's reward inside verl 0.9.1: its reward loop builds Aural's manager from a verl
config and scores `DataProto`s of real token ids; `compute_score` through verl's loader."""

import asyncio
import json
import re
import shlex
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
import verl
from omegaconf import OmegaConf
from verl import DataProto
from verl.experimental.reward_loop import RewardLoopWorker
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl.utils import hf_tokenizer

import aural.rewards.verl as verl_adapter
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rewards.openrlhf_samples import score_openrlhf
from aural.rewards.recipe import load_recipe
from aural.rewards.verl_manager import AuralRewardManager

VERL_CONFIG = Path(verl.__file__).parent / "trainer" / "config" / "_generated_ppo_trainer.yaml"
EXAMPLES = resources.files("aural.examples") / "rollouts.jsonl"
MCQ = {"answer": "B", "choices": ["the first tone", "the second tone"]}
COLUMNS = ["score", "accuracy", "format"]


def verl_config(*overrides):
    """verl's PPO trainer config as its command line composes it, with `overrides` (key=value)."""
    return OmegaConf.merge(OmegaConf.load(VERL_CONFIG), OmegaConf.from_dotlist(list(overrides)))


MANAGER = [
    "reward.reward_manager.source=importlib",
    "reward.reward_manager.name=AuralRewardManager",
    "reward.reward_manager.module.path=pkg://aural.rewards.verl_manager",
    "reward.num_workers=1",
]


@pytest.fixture(scope="module")
def worker():
    """verl's reward-loop worker (the class its Ray actors run), built from a verl config."""
    return RewardLoopWorker(verl_config(*MANAGER, f"actor_rollout_ref.model.path={tiny_policy()}"))


@pytest.fixture(scope="module")
def tokenizer():
    return hf_tokenizer(str(tiny_policy()))


def audio_prompt(tokenizer, question, prefill_think):
    """The prompt text the policy's chat template renders for an audio question."""
    messages = [{"role": "user", "content": [{"type": "audio", "audio": "clip.wav"}, {"type": "text", "text": question}]}]
    return PromptBuilder(tokenizer).render(messages, prefill_think)[0]


def padded_batch(tokenizer, rows, response_length):
    """A `DataProto` as verl's trainer holds a batch: prompts left-padded, responses right-padded
    to `response_length`, one attention mask over both; labels in ``reward_model.ground_truth``."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompts = [encode(prompt) for prompt, *_ in rows]
    responses = [encode(response) for _, response, _ in rows]
    assert all(len(r) <= response_length for r in responses)
    width = max(map(len, prompts))
    pad = tokenizer.pad_token_id
    prompt_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    response_ids = torch.tensor([r + [pad] * (response_length - len(r)) for r in responses])
    mask = torch.tensor(
        [[0] * (width - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (response_length - len(r)) for p, r in zip(prompts, responses)]
    )
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_ids,
            "responses": response_ids,
            "input_ids": torch.cat([prompt_ids, response_ids], dim=1),
            "attention_mask": mask,
            "position_ids": torch.clamp(mask.cumsum(dim=1) - 1, min=0),
        },
        non_tensors={
            "data_source": np.array(["aural"] * len(rows), dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": label} for *_, label in rows], dtype=object),
        },
    )


def score_with_verl(worker, data):
    """verl's reward loop on `data`: the worker's per-sample results, then the manager class's
    `assemble_rm_scores` and the extra-info columns, as `RewardLoopManager.compute_rm_score` builds them."""
    outputs = asyncio.run(worker.compute_score_batch(data))
    manager_class = resolve_reward_manager_cls(worker.config)
    reward_tensor = manager_class.assemble_rm_scores(data, [o["reward_score"] for o in outputs])
    keys = list(outputs[0]["reward_extra_info"])
    return reward_tensor, {key: [o["reward_extra_info"][key] for o in outputs] for key in keys}


def test_verl_builds_aurals_manager_from_its_config(worker):
    assert isinstance(worker.reward_manager, AuralRewardManager)
    assert worker.reward_manager.recipe.name == "step-audio-r1"


def token_cases(tokenizer):
    """A padded batch of the cases the manager must read from tokens, and its response length."""
    plain = audio_prompt(tokenizer, "Which tone is higher?", prefill_think=False)
    prefilled = audio_prompt(tokenizer, "Which tone is higher?", prefill_think=True)
    answer = "The second tone rises.</think>The answer is (B).<|im_end|>"
    long_answer = "<think>" + "The second tone rises and the first stays low. " * 3 + "</think>The answer is (B)."
    rows = [
        (prefilled, answer, json.dumps(MCQ)),  # the template opened the think block: well formed
        (plain, answer, json.dumps(MCQ)),  # the same tokens after a plain prompt: no think block opened
        (plain, long_answer, json.dumps(MCQ)),  # fills the response length, no end token: truncated
        (plain, "<think>Short.</think>(B)", json.dumps(MCQ)),  # no end token but room left: a stop string ended it
        (plain, "<think>叫声很高，像猫。</think>猫<|im_end|><|endoftext|>", json.dumps({"answer": "猫", "modality": "audio"})),
        (plain, "<think>Four.</think>4<|im_end|>", '{"answer": "4", "modality": "text"}'),
        (plain, "(B)<|im_end|>", '{"choices": ["no answer field"]}'),  # unreadable label
    ]
    length = len(tokenizer(long_answer, add_special_tokens=False)["input_ids"])
    return padded_batch(tokenizer, rows, response_length=length), length


def test_the_manager_reads_prefill_truncation_cjk_and_bad_labels_from_tokens(worker, tokenizer):
    data, length = token_cases(tokenizer)
    reward_tensor, columns = score_with_verl(worker, data)

    assert list(columns) == COLUMNS
    assert columns["score"] == pytest.approx([1.0, 0.8, 0.0, 1.0, 1.0, 1.0, 0.0])
    assert columns["accuracy"] == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    assert columns["format"] == pytest.approx([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])  # think_format: truncated
    valid = data.batch["attention_mask"][:, data.batch["prompts"].shape[1] :].sum(dim=1)
    for i, score in enumerate(columns["score"]):
        expected = torch.zeros(length)
        expected[valid[i] - 1] = score  # the reward sits on the last valid response token, nowhere else
        assert torch.equal(reward_tensor[i], expected), i


def unpadded(tokenizer, prompt, response, label):
    """One trajectory as verl's agent loop hands it to the reward loop: unpadded, mask all ones."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return padded_batch(tokenizer, [(prompt, response, label)], len(response_ids)), prompt_ids + response_ids


def test_the_held_in_examples_score_as_the_openrlhf_adapter_scores_them(worker, tokenizer, monkeypatch):
    records = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    batches, queries, prompts, labels = [], [], [], []
    for r in records:
        response = r["response"] + ("<|im_end|>" if r["finish_reason"] == "stop" else "")
        fields = r["label"] if isinstance(r["label"], dict) else {"answer": r["label"]}
        label = json.dumps({**fields, "modality": r["modality"]})
        data, ids = unpadded(tokenizer, r["prompt"], response, label)
        batches.append(data)
        queries.append(tokenizer.decode(ids, skip_special_tokens=False))  # OpenRLHF's query: prompt and response, decoded
        prompts.append(r["prompt"])
        labels.append(label)
    sizes = []
    score_each = verl_adapter.score_each
    monkeypatch.setattr(verl_adapter, "score_each", lambda recipe, items, **kw: sizes.append(len(items)) or score_each(recipe, items, **kw))

    async def stream():  # the agent loop calls the worker once per finished trajectory
        return await asyncio.gather(*(worker.compute_score(data) for data in batches))

    outputs = asyncio.run(stream())
    expected = score_openrlhf(load_recipe(), queries, prompts, labels)
    assert sizes == [len(records)]  # the trajectories that arrived together were scored in one batch
    assert [o["reward_score"] for o in outputs] == pytest.approx(expected.rewards)
    for name, values in expected.extra_logs.items():
        assert [o["reward_extra_info"][name] for o in outputs] == pytest.approx(values), name
    assert 0 < sum(expected.rewards) < len(records)  # the examples hold right, wrong and truncated answers


def test_compute_score_through_verls_loader():
    config = verl_config(
        "reward.custom_reward_function.path=pkg://aural.rewards.verl",
        "reward.custom_reward_function.name=compute_score",
        "reward.custom_reward_function.reward_kwargs.prompt_tail=<think>",
    )
    compute_score = get_custom_reward_fn(config)
    label = json.dumps(MCQ)
    right = compute_score(data_source="aural", solution_str="It rises.</think>(B)", ground_truth=label, extra_info={})
    wrong = compute_score(data_source="aural", solution_str="It falls.</think>(A)", ground_truth=label, extra_info={})
    text = compute_score(
        data_source="aural", solution_str="Two and two.</think>4", ground_truth='{"answer": "4", "modality": "text"}', extra_info={}
    )
    bad = compute_score(data_source="aural", solution_str="(B)", ground_truth='{"choices": ["x"]}', extra_info={})
    assert (right, wrong) == ({"score": 1.0, "accuracy": 1.0, "format": 1.0}, {"score": 0.2, "accuracy": 0.0, "format": 1.0})
    assert text == {"score": 1.0, "accuracy": 1.0, "format": 0.0}  # the text route has no format component: 0
    assert bad == {"score": 0.0, "accuracy": 0.0, "format": 0.0}


def test_compute_score_settings(tmp_path):
    recipe = tmp_path / "grounded.toml"
    recipe.write_text(
        'name = "grounded"\n[route.default]\naccuracy = { verifier = "answer" }\ngrounding = { verifier = "acoustic_grounding", weight = 0.5 }\n'
    )
    label = json.dumps(MCQ)
    scored = verl_adapter.compute_score("aural", "<think>The pitch rises.</think>(B)", label, {}, recipe=str(recipe))
    assert scored == {"score": 1.5, "accuracy": 1.0, "grounding": 1.0}
    cut = verl_adapter.compute_score("aural", "<think>It rises.</think>(B)", label, {}, eos_tokens=["<|im_end|>"])
    ended = verl_adapter.compute_score("aural", "<think>It rises.</think>(B)<|im_end|>", label, {}, eos_tokens=["<|im_end|>"])
    assert (cut["score"], ended["score"]) == (0.0, 1.0)
    assert verl_adapter.compute_score("aural", "4", "4", {}, default_modality="text")["score"] == 1.0
    collides = tmp_path / "score.toml"
    collides.write_text('[route.default]\nscore = { verifier = "answer" }\n')
    with pytest.raises(ValueError, match="collides"):
        verl_adapter.compute_score("aural", "4", "4", {}, recipe=str(collides))


@pytest.mark.slow
def test_verls_reward_loop_manager_scores_over_ray(worker, tokenizer):
    """The whole of verl's path: `RewardLoopManager` starts the worker as a Ray actor, which
    loads the manager by its config; `extract_reward` reads what the trainer reads."""
    import ray
    from verl.experimental.reward_loop import RewardLoopManager
    from verl.trainer.ppo.reward import extract_reward

    data, _ = token_cases(tokenizer)
    in_process = score_with_verl(worker, data)
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        reward_tensor, columns = extract_reward(RewardLoopManager(worker.config).compute_rm_score(data))
    finally:
        ray.shutdown()
    assert torch.equal(reward_tensor, in_process[0])
    assert list(columns) == COLUMNS
    assert {key: list(values) for key, values in columns.items()} == in_process[1]


def readme_overrides():
    """The verl overrides of the README's "Use with verl" blocks, as a shell hands them to verl (Hydra's `+` dropped)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use with verl", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    words = [shlex.split(block.replace("\\\n", " "), comments=True) for block in blocks]
    return [[w.lstrip("+") for w in block if w.lstrip("+").startswith("reward.")] for block in words]


def test_the_readme_config_lines_load_aurals_reward():
    manager_lines, function_lines = readme_overrides()
    worker = RewardLoopWorker(verl_config(*manager_lines, f"actor_rollout_ref.model.path={tiny_policy()}"))
    assert isinstance(worker.reward_manager, AuralRewardManager)
    compute_score = get_custom_reward_fn(verl_config(*function_lines))
    assert compute_score(data_source="aural", solution_str="It rises.</think>(B)", ground_truth=json.dumps(MCQ), extra_info={}) == {
        "score": 1.0,
        "accuracy": 1.0,
        "format": 1.0,  # the README's prompt_tail reads the pre-filled think
    }
