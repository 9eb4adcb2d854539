"""Self-cognition correction: DPO pairs that prefer using the audio over "I can only read text".

An audio LLM trained mostly on text can come to deny that it hears anything. From a
prompt set's rollouts, `build_pairs` makes one preference pair per audio prompt --
chosen: the best of the policy's own answers that uses the audio (highest reward);
rejected: one of its rollouts that the `self_cognition` verifier flags, or, for a
prompt with none, the canonical `REFUSAL` -- `train` runs TRL's `DPOTrainer` on them
(`AudioPreferenceCollator` puts each prompt's audio in the forward pass), and `measure`
gives, on held-out prompts, the refusal rate of sampled answers and how much more likely
the refusal is than an answer that uses the audio. ``recipes/self_cognition_dpo.py``
runs the whole correction.

>>> refuses("I'm sorry, but I can only read text."), refuses("A rising tone.</think>(A)")
(True, False)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from aural.policy.audio import load_audio
from aural.policy.checkpoint import save_policy
from aural.policy.inputs import FEATURE_KEYS
from aural.policy.messages import audio_parts
from aural.policy.model import AudioPolicy
from aural.policy.prompt import Prompt
from aural.rollouts.prompt_set import PromptRecord, parse_prompt
from aural.rollouts.store import RolloutStore
from aural.verifiers import Sample, make_verifier

REFUSAL = "I'm sorry, but I can only read text; I cannot listen to audio.</think>I cannot answer questions about audio."
FLAGS = make_verifier("self_cognition")


def refuses(response: str) -> bool:
    """Whether the `self_cognition` verifier flags `response`."""
    return not FLAGS(Sample(response, "-", "audio")).passed


def split_block(block: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A prompt's rollouts that `refuses` flags, and its best answer that uses the audio: the
    highest-reward rollout of those neither flagged nor empty (None when there is none)."""
    flagged, usable = [], []
    for line in block:
        if refuses(line["response"]):
            flagged.append(line)
        elif line["response"].strip():
            usable.append(line)
    return flagged, max(usable, key=lambda line: line.get("reward") or 0.0, default=None)


def build_pairs(store: Path, train_ids: set[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One pair per prompt of `train_ids` (the audio prompts trained on) whose rollouts include an answer that uses the audio."""
    pairs, counts = [], {"prompts": 0, "rejected_from_rollouts": 0, "rejected_canonical": 0, "no_chosen": 0}
    for block in RolloutStore(store).blocks():
        if block[0]["prompt_id"] not in train_ids:
            continue
        counts["prompts"] += 1
        flagged, chosen = split_block(block)
        if chosen is None:
            counts["no_chosen"] += 1
            continue
        rejected = flagged[0]["response"] if flagged else REFUSAL
        counts["rejected_from_rollouts" if flagged else "rejected_canonical"] += 1
        pairs.append(
            {
                "id": block[0]["prompt_id"],
                "prompt": chosen["prompt"],
                "chosen": chosen["response"],
                "rejected": rejected,
                "source": block[0]["source"],
            }
        )
    return pairs, counts


def preferred_answers(store: Path, ids: set[str]) -> dict[str, str]:
    """The best answer that uses the audio of each prompt of `ids` that has one in `store`."""
    answers = {}
    for block in RolloutStore(store).blocks():
        if block[0]["prompt_id"] in ids:
            _, best = split_block(block)
            if best is not None:
                answers[block[0]["prompt_id"]] = best["response"]
    return answers


class AudioPreferenceCollator:
    """TRL's preference batches ([chosen…, rejected…]) with each prompt's audio, built by the
    policy's own input builder (any family): the placeholders expanded as the model reads
    them and the clips' features added for the forward pass."""

    def __init__(self, policy: AudioPolicy):
        self.policy, self.tokenizer = policy, policy.tokenizer

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        prompts, features = [], []
        for example in examples:
            clips = tuple(load_audio(path, self.policy.prompt_builder.sampling_rate) for path in example["audio"])
            inputs = self.policy.inputs(Prompt(example["prompt"], clips))
            # TRL may cut the prompt's last tokens into the completions; cut the expanded prompt alike.
            cut = len(self.tokenizer(example["prompt"], add_special_tokens=False)["input_ids"]) - len(example["prompt_ids"])
            expanded = inputs["input_ids"][0].tolist()
            prompts.append(expanded[: len(expanded) - cut])
            features.append({k: inputs[k] for k in FEATURE_KEYS})
        sequences, completions = [], []
        for side in ("chosen_ids", "rejected_ids"):
            for prompt, example in zip(prompts, examples):
                sequences.append(prompt + example[side])
                completions.append([0] * len(prompt) + [1] * len(example[side]))
        width = max(map(len, sequences))
        pad = self.tokenizer.pad_token_id
        return {
            "input_ids": torch.tensor([s + [pad] * (width - len(s)) for s in sequences]),
            "attention_mask": torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences]),
            "completion_mask": torch.tensor([c + [0] * (width - len(c)) for c in completions]),
            **{key: torch.cat([f[key] for f in features] * 2) for key in FEATURE_KEYS},
        }


def _audio_paths(source: dict[str, Any]) -> list[str]:
    return [part["audio"] for part in audio_parts(parse_prompt(source, Path("/")).messages)]


def measure(policy: AudioPolicy, records: list[PromptRecord], k: int, max_new_tokens: int, answers: dict[str, str]) -> dict[str, float]:
    """On `records`: the share of `k` sampled answers that deny the audio, and the mean
    log-likelihood margin of the canonical refusal over an answer that uses the audio."""
    prompts = [policy.prompt_builder.build(r.messages, prefill_think=True) for r in records]
    sampled = policy.generate(prompts, n=k, max_new_tokens=max_new_tokens, seed=0)
    refusal_rate = sum(refuses(g.text) for group in sampled for g in group) / (k * len(records))
    margins = [float(policy.logprobs(p, REFUSAL).sum() - policy.logprobs(p, answers[r.id]).sum()) for p, r in zip(prompts, records)]
    return {"refusal_rate": refusal_rate, "refusal_margin": sum(margins) / len(margins)}


def train(policy_dir: str, pairs: list[dict[str, Any]], out: Path, steps: int, beta: float, lr: float, gpu: bool) -> AudioPolicy:
    """Run TRL's DPOTrainer on `pairs`; returns the trained policy (saved to `out`)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    policy = AudioPolicy.from_pretrained(policy_dir, dtype="bfloat16" if gpu else "float32", device="cuda" if gpu else "cpu")
    args = DPOConfig(
        output_dir=tempfile.mkdtemp(prefix="aural-dpo-"),
        use_cpu=not gpu,
        bf16=gpu,
        per_device_train_batch_size=min(4, len(pairs)),
        max_steps=steps,
        learning_rate=lr,
        beta=beta,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        remove_unused_columns=False,  # the collator reads each pair's audio paths
    )
    rows = [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"], "audio": _audio_paths(p["source"])} for p in pairs]
    dataset = Dataset.from_list(rows)
    # The reference loads as the policy does (TRL would look the class up by name, which fails for
    # models transformers does not ship, and would load a full Omni checkpoint whole).
    reference = AudioPolicy.from_pretrained(policy_dir, dtype="bfloat16" if gpu else "float32", device="cuda" if gpu else "cpu")
    trainer = DPOTrainer(
        model=policy.model,
        ref_model=reference.model,
        args=args,
        train_dataset=dataset,
        processing_class=policy.tokenizer,
        data_collator=AudioPreferenceCollator(policy),
    )
    trainer.train()
    policy.model.eval()
    save_policy(policy.model, out)
    policy.tokenizer.save_pretrained(out)
    for name in ("processor_config.json", "preprocessor_config.json", "chat_template.jinja"):
        if (Path(policy_dir) / name).is_file():
            (out / name).write_bytes((Path(policy_dir) / name).read_bytes())
    return policy
