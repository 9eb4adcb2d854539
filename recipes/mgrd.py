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
from collections import Counter
from pathlib import Path
from typing import Any

from aural import load_recipe
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rewards.table import plain_table
from aural.rollouts.engines import SamplingSettings
from aural.rollouts.pool import pool_factory
from aural.rollouts.prompt_set import parse_prompt, read_prompt_set
from aural.rollouts.recipe_args import recipe_parser
from aural.rollouts.run import run_rollouts
from aural.rollouts.store import RolloutStore

CONSTRAINTS = ("format", "grounding", "coherence", "accuracy")


def audio_questions(prompts: Path, out: Path) -> int:
    """Write the audio questions of `prompts` to `out` (audio paths absolute); returns how many."""
    records = [r for r in read_prompt_set(prompts) if r.modality == "audio"]
    out.write_text("".join(json.dumps(r.source, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


def sft_example(line: dict[str, Any], think_open: str) -> dict[str, Any]:
    """A kept candidate as chat messages: the question (with its audio) and the chain as the answer,
    opened with `think_open` where the prompt had prefilled it."""
    record = parse_prompt(line["source"], Path("/"))
    opening = think_open + "\n" if record.prefill_think else ""
    return {"id": line["id"], "messages": [*record.messages, {"role": "assistant", "content": opening + line["response"]}]}


def distill(candidates: Path, sft: Path, think_open: str) -> dict[str, Any]:
    """Keep the finished candidates that pass every constraint; write them to `sft` (chains
    prefilled with `think_open` get it back); return the report."""
    kept, total = [], 0
    rejected: dict[str, Counter] = {name: Counter() for name in CONSTRAINTS}
    for block in RolloutStore(candidates).blocks():
        for line in block:
            total += 1
            failed = [name for name in CONSTRAINTS if line["components"][name]["score"] < 1.0]
            for name in failed:
                rejected[name][line["components"][name]["reason"]] += 1
            if not failed and line["finish_reason"] == "stop":
                kept.append(sft_example(line, think_open))
    sft.write_text("".join(json.dumps(example, ensure_ascii=False) + "\n" for example in kept), encoding="utf-8")
    return {
        "candidates": total,
        "kept": len(kept),
        "rejected_by": {name: sum(reasons.values()) for name, reasons in rejected.items()},
        "reasons": {name: dict(reasons.most_common()) for name, reasons in rejected.items()},
    }


def report_table(report: dict[str, Any]) -> str:
    rows = [("", "candidates", "reasons")]
    rows.append(("sampled", str(report["candidates"]), ""))
    for name in CONSTRAINTS:
        reasons = ", ".join(f"{reason} {count}" for reason, count in report["reasons"][name].items())
        rows.append((f"rejected by {name}", str(report["rejected_by"][name]), reasons))
    rows.append(("kept", str(report["kept"]), ""))
    return plain_table(rows, "MGRD round (a candidate can fail several constraints)")


def main() -> int:
    parser = recipe_parser(__doc__)
    parser.add_argument("-k", type=int, default=8, help="candidates per question")
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tensor-parallel", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    policy = str(args.policy or tiny_policy())
    prompts = PromptBuilder.from_pretrained(policy)
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
        prompts.tokenizer,
        progress=not args.no_progress,
    )
    report = distill(args.out / "candidates.jsonl", args.out / "sft.jsonl", prompts.think_open)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(report_table(report))
    print(f"\nkept {report['kept']} of {report['candidates']} chains in {args.out / 'sft.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
