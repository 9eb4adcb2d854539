"""Supervised fine-tuning of an audio policy on chat examples (MGRD's ``sft.jsonl``), with
TRL's `SFTTrainer`, the clips' features in every forward pass, and a stop rule.

An example is ``{"id", "messages"}``: the question (with its audio parts) and the assistant's
answer; an answer that opens with the think tag answers a prompt that pre-fills it. The
loss is on the answer's tokens (and the end-of-turn token) only. `FormatStop` ends training
once the policy writes the think format on a validation batch (sampled as RL samples, at
temperature 1), checked every few steps: RL then starts from a policy that writes the
format, not after a fixed step count.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from aural.policy.audio import load_audio
from aural.policy.model import AudioPolicy
from aural.policy.prompt import Prompt
from aural.rollouts.prompt_set import PromptRecord
from aural.verifiers import Sample, make_verifier

IGNORED = -100  # label of a token the loss leaves out


@dataclass(frozen=True)
class SFTSettings:
    """How to fine-tune: AdamW at `lr`, batches of `batch_size`, at most `max_steps`; every
    `check_every` steps the format rate on the validation prompts, sampled at `check_temperature`
    (RL samples at 1: a greedy format can hide a sampled one that breaks), stopping at `stop_at_format`."""

    lr: float = 1e-3  # 2e-3 learns the audio sooner, then loses it again (measured on the demo's tasks)
    batch_size: int = 32
    max_steps: int = 400
    check_every: int = 10
    stop_at_format: float = 0.95
    check_temperature: float = 1.0
    max_new_tokens: int = 40
    seed: int = 0


def read_examples(path: str | Path) -> list[dict[str, Any]]:
    """The chat examples of an SFT JSONL file (``{"id", "messages"}`` a line)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class AudioSFTCollator:
    """Chat examples as a batch for the policy's forward pass: prompt and answer tokens
    (padded on the right), labels only on the answer, and the clips' features."""

    def __init__(self, policy: AudioPolicy):
        self.policy = policy

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        sequences, labels, features = [], [], []
        for row in rows:
            prompt, answer = self.split(json.loads(row["messages"]))
            inputs = self.policy.make_inputs(prompt.text, list(prompt.audios))
            prompt_ids = inputs["input_ids"][0].tolist()
            answer_ids = self.policy.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.policy.tokenizer.eos_token_id]
            sequences.append(prompt_ids + answer_ids)
            labels.append([IGNORED] * len(prompt_ids) + answer_ids)
            features.append({k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")})
        width = max(map(len, sequences))
        pad = self.policy.tokenizer.pad_token_id
        return {
            "input_ids": torch.tensor([s + [pad] * (width - len(s)) for s in sequences]),
            "attention_mask": torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences]),
            "labels": torch.tensor([row + [IGNORED] * (width - len(row)) for row in labels]),
            **{key: torch.cat([f[key] for f in features]) for key in features[0]},
        }

    def split(self, messages: Sequence[dict[str, Any]]) -> tuple[Prompt, str]:
        """The prompt (clips loaded) and the answer to learn of one example's messages."""
        *question, answer = messages
        opening = self.policy.prompt_builder.think_open + "\n"
        content = answer["content"]
        prefilled = content.startswith(opening)
        text, parts = self.policy.prompt_builder.render(question, prefilled)
        clips = tuple(load_audio(part["audio"], self.policy.prompt_builder.sampling_rate) for part in parts)
        return Prompt(text, clips), content[len(opening) :] if prefilled else content


def format_rate(
    policy: AudioPolicy, records: Sequence[PromptRecord], max_new_tokens: int, temperature: float = 0.0, seed: int = 0
) -> float:
    """The share of answers to `records` (one each, at `temperature`: greedy at 0) that pass
    the ``think_format`` verifier."""
    check = make_verifier("think_format")
    prompts = [policy.prompt_builder.build(r.messages, r.prefill_think) for r in records]
    answers = policy.generate(prompts, n=1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    verdicts = [check(Sample(g.text, r.label, r.modality, p.text, g.finish_reason)) for r, p, (g,) in zip(records, prompts, answers)]
    return sum(v.score for v in verdicts) / max(len(verdicts), 1)


class FormatStop(TrainerCallback):
    """Stops training once the format rate on `records` reaches the settings' bar; keeps each check."""

    def __init__(self, policy: AudioPolicy, records: Sequence[PromptRecord], settings: SFTSettings):
        self.policy, self.records, self.settings = policy, records, settings
        self.checks: list[dict[str, float]] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step % self.settings.check_every == 0 or state.global_step >= self.settings.max_steps:
            training = self.policy.model.training
            self.policy.model.eval()
            rate = format_rate(self.policy, self.records, self.settings.max_new_tokens, self.settings.check_temperature, state.global_step)
            self.policy.model.train(training)
            self.checks.append({"step": state.global_step, "format": rate})
            if rate >= self.settings.stop_at_format:  # else the trainer's own stop (its last step) stands
                control.should_training_stop = True
        return control


def train_sft(
    policy: AudioPolicy, examples: Sequence[dict[str, Any]], validation: Sequence[PromptRecord], settings: SFTSettings
) -> FormatStop:
    """Fine-tune `policy` in place on `examples` with TRL's `SFTTrainer` until `FormatStop`
    stops it (or `settings.max_steps`); returns the stop rule with its checks."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = Dataset.from_list([{"id": e["id"], "messages": json.dumps(e["messages"])} for e in examples])
    stop = FormatStop(policy, validation, settings)
    with tempfile.TemporaryDirectory(prefix="aural-sft-") as scratch:
        config = SFTConfig(
            output_dir=scratch,
            use_cpu=True,
            per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.lr,
            max_steps=settings.max_steps,
            num_train_epochs=1_000,
            lr_scheduler_type="constant",
            warmup_steps=0,
            logging_steps=settings.check_every,
            report_to=[],
            save_strategy="no",
            seed=settings.seed,
            data_seed=settings.seed,
            remove_unused_columns=False,
            dataset_kwargs={"skip_prepare_dataset": True},
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=policy.model,
            args=config,
            train_dataset=rows,
            data_collator=AudioSFTCollator(policy),
            processing_class=policy.tokenizer,
            callbacks=[stop],
        )
        trainer.train()
    policy.model.eval()
    return stop
