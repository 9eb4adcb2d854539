"""Self-cognition correction: DPO pairs that prefer using the audio over "I can only read text".

An audio LLM trained mostly on text can come to deny that it hears anything.
This recipe builds preference pairs for the audio questions of a prompt set --
chosen: the best of the policy's own answers that uses the audio (highest
reward); rejected: one of its rollouts that the `self_cognition` verifier flags,
or, for a prompt with none, a canonical refusal -- trains the policy with TRL's
`DPOTrainer` (the audio reaches the forward pass through a collator that adds
its features), and measures on held-out prompts (those whose rollouts include
an answer that uses the audio), before and after, the refusal rate of sampled
answers and how much more likely the refusal is than that answer.

    python recipes/self_cognition_dpo.py PROMPTS.jsonl -o OUT [--policy DIR] [--rollouts STORE]
        [-k 4] [--steps 20] [--beta 0.1] [--lr 5e-6] [--held-out 0.25] [--gpu]

Without `--rollouts`, K candidates per prompt are sampled first (OUT/rollouts.jsonl,
resumable). Writes OUT/pairs.jsonl, OUT/model (transformers and vLLM load it)
and OUT/report.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from aural import load_recipe
from aural.policy.audio import load_audio
from aural.policy.checkpoint import save_policy
from aural.policy.inputs import FEATURE_KEYS
from aural.policy.model import AudioPolicy
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rewards.recipe import DEFAULT_RECIPE
from aural.rewards.table import plain_table
from aural.rollouts.engines import SamplingSettings
from aural.rollouts.pool import pool_factory
from aural.rollouts.prompt_set import PromptRecord, parse_prompt, read_prompt_set
from aural.rollouts.recipe_args import recipe_parser
from aural.rollouts.run import run_rollouts
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
        self.tokenizer = policy.tokenizer
        self.make_inputs = policy.make_inputs

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        prompts, features = [], []
        for example in examples:
            inputs = self.make_inputs(example["prompt"], [load_audio(path, self.make_inputs.sampling_rate) for path in example["audio"]])
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
    record = parse_prompt(source, Path("/"))
    return [
        part["audio"] for m in record.messages if isinstance(m["content"], list) for part in m["content"] if part.get("type") == "audio"
    ]


def measure(policy: AudioPolicy, records: list[PromptRecord], k: int, max_new_tokens: int, answers: dict[str, str]) -> dict[str, float]:
    """On `records`: the share of `k` sampled answers that deny the audio, and the mean
    log-likelihood margin of the canonical refusal over an answer that uses the audio."""
    prompts = [policy.prompts.build(r.messages, prefill_think=True) for r in records]
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


def main() -> int:
    parser = recipe_parser(__doc__)
    parser.add_argument("--rollouts", type=Path, help="a rollout store of the prompts (default: sample one)")
    parser.add_argument("-k", type=int, default=4, help="samples per prompt, for pairs and for the refusal rate")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--held-out", type=float, default=0.25, help="share of prompts kept for measuring")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--gpu", action="store_true", help="train in bf16 on a GPU")
    args = parser.parse_args()

    records = [r for r in read_prompt_set(args.prompts) if r.modality == "audio"]
    if not records:
        print(f"{args.prompts}: no audio prompts; nothing to correct", file=sys.stderr)
        return 2
    policy_dir = str(args.policy or tiny_policy())
    held_out = records[: max(1, int(len(records) * args.held_out))]
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.rollouts or args.out / "rollouts.jsonl"
    if args.rollouts is None:
        run_rollouts(
            args.prompts,
            store,
            pool_factory(args.engine, policy_dir),
            SamplingSettings(n=args.k, max_new_tokens=args.max_new_tokens),
            load_recipe(DEFAULT_RECIPE),
            PromptBuilder.from_pretrained(policy_dir).tokenizer,
            progress=False,
        )
    pairs, counts = build_pairs(store, {r.id for r in records[len(held_out) :]})
    if not pairs:
        print(f"{store}: no prompt has an answer that uses the audio; nothing to train on", file=sys.stderr)
        return 1
    answers = preferred_answers(store, {r.id for r in held_out})
    measured = [r for r in held_out if r.id in answers]
    if not measured:
        print(f"{store}: no held-out prompt has an answer that uses the audio; nothing to measure against", file=sys.stderr)
        return 1
    if len(measured) < len(held_out):
        print(f"{store}: skipping {len(held_out) - len(measured)} held-out prompts without an answer that uses the audio", file=sys.stderr)
    (args.out / "pairs.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))
    before = measure(AudioPolicy.from_pretrained(policy_dir), measured, args.k, args.max_new_tokens, answers)
    trained = train(policy_dir, pairs, args.out / "model", args.steps, args.beta, args.lr, args.gpu)
    after = measure(trained, measured, args.k, args.max_new_tokens, answers)
    report = {
        "pairs": len(pairs),
        **counts,
        "held_out_prompts": len(measured),
        "held_out_skipped": len(held_out) - len(measured),
        "before": before,
        "after": after,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        plain_table(
            [
                ("held-out prompts", "refusal rate", "refusal log-likelihood margin"),
                ("before DPO", f"{before['refusal_rate']:.3f}", f"{before['refusal_margin']:.2f}"),
                ("after DPO", f"{after['refusal_rate']:.3f}", f"{after['refusal_margin']:.2f}"),
            ],
            f"self-cognition DPO: {len(pairs)} pairs ({counts['rejected_from_rollouts']} rejected from rollouts), {args.steps} steps",
        )
    )
    print(f"\nwrote {args.out / 'pairs.jsonl'}, {args.out / 'model'} and {args.out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
