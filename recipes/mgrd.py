"""One round of modality-grounded reasoning distillation (MGRD).

For each audio question, sample K candidate chains with the rollout pool and
keep those that finished (not cut at the token limit) and pass all four
components of the `mgrd` reward recipe: the reasoning is in a well-formed think
block, cites acoustic evidence (not an imagined transcript), is coherent
(within word bounds, no degenerate repetition), and the answer is right. The
components say which constraint rejected a candidate. The kept chains become an
SFT set of chat messages, ready for OpenRLHF's or TRL's SFT trainers.

    python recipes/mgrd.py PROMPTS.jsonl -o OUT [--policy DIR] [--engine vllm|hf] [-k 8]

writes OUT/audio_prompts.jsonl (the audio questions), OUT/candidates.jsonl (the
scored rollouts: rerunning resumes), OUT/sft.jsonl (``{"id", "messages"}``) and
OUT/report.json, and prints the report.
"""

from __future__ import annotations

import json
import sys

from aural import load_recipe
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rollouts.engines import SamplingSettings
from aural.rollouts.mgrd import audio_questions, distill, report_table
from aural.rollouts.pool import pool_factory
from aural.rollouts.run import run_rollouts
from aural.rollouts.script_args import script_parser


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("-k", type=int, default=8, help="candidates per question")
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tensor-parallel", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    policy = str(args.policy or tiny_policy())
    builder = PromptBuilder.from_pretrained(policy)
    args.out.mkdir(parents=True, exist_ok=True)
    questions = args.out / "audio_prompts.jsonl"
    if audio_questions(args.prompts, questions) == 0:
        print(f"{args.prompts}: no audio questions", file=sys.stderr)
        return 2
    run_rollouts(
        questions,
        args.out / "candidates.jsonl",
        pool_factory(args.engine, policy, args.workers, args.tensor_parallel),
        SamplingSettings(n=args.k, max_new_tokens=args.max_new_tokens, temperature=args.temperature),
        load_recipe("mgrd"),
        builder.tokenizer,
        progress=not args.no_progress,
    )
    report = distill(args.out / "candidates.jsonl", args.out / "sft.jsonl", builder.think_open)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(report_table(report))
    print(f"\nkept {report['kept']} of {report['candidates']} chains in {args.out / 'sft.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
