"""Self-cognition correction: DPO pairs that prefer using the audio over "I can only read text".

For the audio questions of a prompt set: sample the policy's answers (or read a
rollout store), build preference pairs, train with TRL's `DPOTrainer`, and measure
the refusal rate and margin on held-out prompts before and after
(`aural.training.self_cognition` holds each step).

    python recipes/self_cognition_dpo.py PROMPTS.jsonl -o OUT [--policy DIR] [--rollouts STORE]
        [-k 4] [--steps 20] [--beta 0.1] [--lr 5e-6] [--held-out 0.25] [--gpu]

Without `--rollouts`, K candidates per prompt are sampled first (OUT/rollouts.jsonl,
resumable). Writes OUT/pairs.jsonl, OUT/model (transformers and vLLM load it)
and OUT/report.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aural import load_recipe
from aural.policy.model import AudioPolicy
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rewards.recipe import DEFAULT_RECIPE
from aural.rollouts.engines import SamplingSettings
from aural.rollouts.pool import pool_factory
from aural.rollouts.prompt_set import read_prompt_set
from aural.rollouts.run import run_rollouts
from aural.rollouts.script_args import script_parser
from aural.table import plain_table
from aural.training.self_cognition import build_pairs, measure, preferred_answers, train


def main() -> int:
    parser = script_parser(__doc__)
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
