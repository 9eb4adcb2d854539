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

from aural.policy.model import Generation
from aural.policy.prompt import Prompt
from aural.policy.tiny import tiny_policy
from aural.rewards.table import plain_table
from aural.rollouts.engines import Engine, SamplingSettings, make_engine
from aural.rollouts.prompt_set import PromptRecord, read_prompt_set
from aural.rollouts.recipe_args import recipe_parser
from aural.rollouts.run import reasoning_tokens
from aural.verifiers import Sample, make_verifier
from aural.verifiers.think import CLOSE_TAG

DEFAULT_BUDGETS = (0, 256, 1024, 4096, 10_240)


def think_within(engine: Engine, prompts: list[Prompt], budget: int, n: int, answer_tokens: int, seed: int) -> list[list[tuple[str, int]]]:
    """`n` responses per prompt whose reasoning is cut at `budget` tokens: (response, reasoning tokens) each.

    A response is the reasoning, the closing tag, and the answer written after it.
    """
    if budget > 0:
        thoughts = engine.sample(prompts, SamplingSettings(n=n, max_new_tokens=budget, seed=seed))
    else:
        thoughts = [[Generation("", (), 0, "length")] * n for _ in prompts]
    tokenizer = engine.prompts.tokenizer
    continued, pending = [], []
    for prompt, group in zip(prompts, thoughts):
        for thought in group:
            closed = CLOSE_TAG in thought.text
            if closed and thought.finish_reason == "stop":
                continued.append((thought.text, reasoning_tokens(thought, tokenizer, prefilled=True)))
                continue
            reasoning = thought.text.split(CLOSE_TAG)[0]
            continued.append((reasoning + CLOSE_TAG, reasoning_tokens(thought, tokenizer, prefilled=True)))
            pending.append((len(continued) - 1, Prompt(prompt.text + reasoning + f"\n{CLOSE_TAG}\n\n", prompt.audios)))
    if pending:
        answers = engine.sample([p for _, p in pending], SamplingSettings(n=1, max_new_tokens=answer_tokens, seed=seed))
        for (slot, _), (answer,) in zip(pending, answers):
            text, tokens = continued[slot]
            continued[slot] = (text + "\n\n" + answer.text, tokens)
    return [continued[i * n : (i + 1) * n] for i in range(len(prompts))]


def evaluate(engine: Engine, records: list[PromptRecord], budgets: list[int], n: int, answer_tokens: int, seed: int = 0) -> list[dict]:
    """Accuracy and mean reasoning length at each budget."""
    answer = make_verifier("answer")
    prompts = [engine.prompts.build(r.messages, prefill_think=True) for r in records]
    rows = []
    for budget in budgets:
        groups = think_within(engine, prompts, budget, n, answer_tokens, seed)
        correct = tokens = samples = 0
        for record, prompt, group in zip(records, prompts, groups):
            for response, reasoning in group:
                correct += answer(Sample(response, record.label, record.modality, prompt=prompt.text)).passed
                tokens += reasoning
                samples += 1
        rows.append({"budget": budget, "accuracy": correct / samples, "mean_reasoning_tokens": tokens / samples, "samples": samples})
    return rows


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    budgets = [str(r["budget"]) for r in rows]
    left.plot(budgets, [r["accuracy"] for r in rows], marker="o")
    left.set(xlabel="reasoning budget (tokens)", ylabel="accuracy", ylim=(0, 1), title="accuracy")
    right.plot(budgets, [r["mean_reasoning_tokens"] for r in rows], marker="o", color="tab:orange")
    right.set(xlabel="reasoning budget (tokens)", ylabel="tokens", title="mean reasoning length")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> int:
    parser = recipe_parser(__doc__)
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
        rows = evaluate(engine, records, sorted(args.budgets), args.n, args.answer_tokens, args.seed)
    finally:
        engine.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(json.dumps({"prompts": str(args.prompts), "policy": policy, "rows": rows}, indent=2) + "\n")
    plot(rows, args.out / "scaling.png", f"{args.prompts.name} on {Path(policy).name}, n={args.n}")
    table = [("budget", "accuracy", "mean reasoning tokens", "samples")]
    table += [(str(r["budget"]), f"{r['accuracy']:.4f}", f"{r['mean_reasoning_tokens']:.1f}", str(r["samples"])) for r in rows]
    print(plain_table(table, f"test-time scaling: {len(records)} prompts, {args.engine}"))
    print(f"\nwrote {args.out / 'scaling.json'} and {args.out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
