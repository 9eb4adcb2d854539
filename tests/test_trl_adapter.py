"""Aural's recipes as TRL reward functions, run by TRL's own GRPOTrainer on CPU."""

import json
import math

import pytest
from datasets import Dataset
from transformers import AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from aural import Sample, load_recipe
from aural.errors import AuralError
from aural.rewards.trl import reward_funcs
from tiny_lm import build_tiny_lm

MCQ = '{"answer": "B", "choices": ["a dog barking", "a cat meowing"]}'


def test_weighted_sum_of_the_functions_is_the_recipe_total():
    rewards = reward_funcs("step-audio-r1", eos_token_ids=[7])
    recipe = load_recipe("step-audio-r1")
    completions = ["<think>Meow.</think>(B)", "<think></think>(B)", "(A)", "<think>Meow.</think>(B)", "4"]
    labels = [MCQ, MCQ, MCQ, MCQ, "4"]
    modalities = ["audio", "audio", "audio", "audio", "text"]
    ids = [[5, 7], [5, 7], [5, 7], [5, 5], [5, 7]]  # the fourth ends without EOS: truncated
    per_function = [
        f(prompts=[""] * 5, completions=completions, completion_ids=ids, label=labels, modality=modalities) for f in rewards.funcs
    ]
    for i, (completion, label, modality) in enumerate(zip(completions, labels, modalities)):
        finish = "length" if i == 3 else "stop"
        parsed = json.loads(label) if label.startswith("{") else label
        expected = recipe.score(Sample(completion, parsed, modality, finish_reason=finish)).total
        total = sum(w * scores[i] for w, scores in zip(rewards.weights, per_function) if scores[i] is not None)
        assert math.isclose(total, expected), (completion, total, expected)


def test_conversational_completions_and_uncovered_samples():
    audio_only = load_recipe({"name": "a", "route": {"audio": {"accuracy": {"verifier": "answer"}}}})
    (accuracy,) = reward_funcs(audio_only).funcs
    completions = [[{"role": "assistant", "content": [{"type": "text", "text": "(B)"}]}], [{"role": "assistant", "content": "(B)"}]]
    assert accuracy(prompts=[[], []], completions=completions, label=[MCQ, MCQ], modality=["audio", "text"]) == [1.0, None]
    with pytest.raises(AuralError, match="'answer_key'"):
        reward_funcs(audio_only, label_column="answer_key").funcs[0](prompts=[""], completions=["(B)"], label=[MCQ])


def test_combined_function_returns_the_total():
    rewards = reward_funcs("step-audio-r1", combined=True)
    assert (rewards.names, rewards.weights) == (["step-audio-r1"], [1.0])
    assert rewards.funcs[0](prompts=[""], completions=["<think></think>(B)"], label=[MCQ], modality=["audio"]) == [0.8]


def test_grpo_trainer_runs_with_aural_rewards_and_logs_each_component(tmp_path):
    model_dir = build_tiny_lm(tmp_path / "model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rewards = reward_funcs("step-audio-r1", eos_token_ids=[tokenizer.eos_token_id])
    rows = [
        {"prompt": "Which animal? (A) a dog barking (B) a cat meowing", "label": MCQ, "modality": "audio"},
        {"prompt": "How many beeps?", "label": "4", "modality": "audio"},
        {"prompt": "What is 2+2?", "label": "4", "modality": "text"},
        {"prompt": "Which sound? (A) a dog barking (B) a cat meowing", "label": MCQ, "modality": "text"},
    ]
    args = GRPOConfig(
        output_dir=str(tmp_path / "run"),
        use_cpu=True,
        per_device_train_batch_size=16,  # four prompts of four completions: both modalities every step
        num_generations=4,
        max_completion_length=12,
        max_steps=2,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        reward_weights=rewards.weights,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=str(model_dir), reward_funcs=rewards.funcs, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logged) == 2
    for entry in logged:
        for name in rewards.names:
            assert isinstance(entry[f"rewards/{name}/mean"], float), (name, entry)
        assert 0.0 <= entry["rewards/format/mean"] <= 1.0
        assert 0.0 <= entry["reward"] <= 1.0


def test_the_functions_pickle_share_one_scoring_and_log_reasons(caplog):
    import pickle

    rewards = pickle.loads(pickle.dumps(reward_funcs("step-audio-r1")))  # as TRL's rollout workers take them
    completions, labels = ["<think>Meow.</think>(B)", "(B)", "(A)"], [MCQ, MCQ, '{"choices": ["a", "b"]}']
    logged = {}
    scores = [
        f(prompts=[""] * 3, completions=list(completions), label=labels, modality=["audio"] * 3, log_extra=logged.__setitem__)
        for f in rewards.funcs
    ]
    assert scores[rewards.names.index("audio/accuracy")] == [1.0, 1.0, None]
    assert scores[rewards.names.index("format")] == [1.0, 0.0, None]
    assert logged["format reason"][:2] == ["ok", "no_think"]
    assert logged["format reason"][2] == logged["audio/accuracy reason"][2] == "rejected: label.answer: missing"
    assert caplog.text.count("no reward: label.answer: missing") == 1  # scored once for every function: logged once
    assert logged["overrides reason"][:2] == ["", ""]  # the step-audio-r1 recipe gates nothing and truncation scores 0 only at length


def test_the_overrides_function_says_which_gates_failed():
    rewards = reward_funcs("mgrd")  # every constraint a gate
    completions = ["<think>The transcript says B.</think>(B)", "<think>I hear a high, rising meow with a soft pitch, a cat.</think>(B)"]
    logged = {}
    scores = [
        f(prompts=[""] * 2, completions=completions, label=[MCQ] * 2, modality=["audio"] * 2, log_extra=logged.__setitem__)
        for f in rewards.funcs
    ]
    assert logged["overrides reason"] == ["gate grounding failed, gate coherence failed", ""]
    assert scores[rewards.names.index("overrides")] == [-1.0, 0.0]  # the gated total is 0, the weighted sum 1
