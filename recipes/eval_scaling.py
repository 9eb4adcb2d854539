"""Test-time scaling: accuracy as the reasoning budget grows.

Step-Audio-R1's claim is that an audio LLM grounded in what it hears answers
better the longer it thinks. This measures it: for each budget (default 0,
256, 1,024, 4,096 and 10,240 tokens) every prompt opens a think block, the
model reasons until it closes the block or reaches the budget, the block is
then closed for it, and it answers (up to `--answer-tokens`). Accuracy is the
`answer` verifier's, against each prompt's label.

    python recipes/eval_scaling.py PROMPTS.jsonl -o OUT [--policy DIR] [--engine vllm|hf]
        [--budgets 0 256 1024 4096 10240] [-n 4] [--answer-tokens 256]

writes OUT/scaling.json (per budget: accuracy, mean reasoning tokens, samples)
and OUT/scaling.png, and prints the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aural.policy.tiny import tiny_policy
from aural.rollouts.engines import make_engine
from aural.rollouts.prompt_set import read_prompt_set
from aural.rollouts.scaling import plot_scaling, scaling_curve
from aural.rollouts.script_args import script_parser
from aural.table import plain_table

DEFAULT_BUDGETS = (0, 256, 1024, 4096, 10_240)


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--budgets", type=int, nargs="+", default=list(DEFAULT_BUDGETS))
    parser.add_argument("-n", type=int, default=4, help="samples per prompt and budget")
    parser.add_argument("--answer-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if any(b < 0 for b in args.budgets):
        parser.error("budgets must be >= 0")

    policy = str(args.policy or tiny_policy())
    records = read_prompt_set(args.prompts)
    engine = make_engine(args.engine, policy)
    try:
        rows = scaling_curve(engine, records, sorted(args.budgets), args.n, args.answer_tokens, args.seed)
    finally:
        engine.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps({"prompts": str(args.prompts), "policy": policy, "rows": rows}, indent=2) + "\n")
    plot_scaling(rows, args.out / "scaling.png", f"{args.prompts.name} on {Path(policy).name}, n={args.n}")
    table = [("budget", "accuracy", "mean reasoning tokens", "samples")]
    table += [(str(r["budget"]), f"{r['accuracy']:.4f}", f"{r['mean_reasoning_tokens']:.1f}", str(r["samples"])) for r in rows]
    print(plain_table(table, f"test-time scaling: {len(records)} prompts, {args.engine}"))
    print(f"\nwrote {args.out / 'scaling.json'} and {args.out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
