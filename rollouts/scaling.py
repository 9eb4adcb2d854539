"""Test-time scaling: accuracy as the reasoning budget grows.

Step-Audio-R1's claim is that an audio LLM grounded in what it hears answers better the
longer it thinks. `scaling_curve` measures it: for each budget every prompt opens a think
block, the model reasons until it closes the block or reaches the budget, the block is
then closed for it, and it answers. Accuracy is the `answer` verifier's, against each
prompt's label. ``python recipes/eval_scaling.py`` runs it on a prompt set.
"""

from __future__ import annotations

from pathlib import Path

from aural.policy.model import Generation
from aural.policy.prompt import Prompt
from aural.verifiers import Sample, make_verifier
from aural.verifiers.think import CLOSE_TAG

from .engines import Engine, SamplingSettings
from .prompt_set import PromptRecord


def think_within(engine: Engine, prompts: list[Prompt], budget: int, n: int, answer_tokens: int, seed: int) -> list[list[tuple[str, int]]]:
    """`n` responses per prompt whose reasoning is cut at `budget` tokens: (response, reasoning tokens) each.

    A response is the reasoning, the closing tag, and the answer written after it.
    """
    if budget > 0:
        thoughts = engine.sample(prompts, SamplingSettings(n=n, max_new_tokens=budget, seed=seed))
    else:
        thoughts = [[Generation("", (), 0, "length")] * n for _ in prompts]
    tokenizer = engine.prompt_builder.tokenizer
    continued, pending = [], []
    for prompt, group in zip(prompts, thoughts):
        for thought in group:
            closed = CLOSE_TAG in thought.text
            if closed and thought.finish_reason == "stop":
                continued.append((thought.text, thought.reasoning_tokens(tokenizer, prefilled=True)))
                continue
            reasoning = thought.text.split(CLOSE_TAG)[0]
            continued.append((reasoning + CLOSE_TAG, thought.reasoning_tokens(tokenizer, prefilled=True)))
            pending.append((len(continued) - 1, Prompt(prompt.text + reasoning + f"\n{CLOSE_TAG}\n\n", prompt.audios)))
    if pending:
        answers = engine.sample([p for _, p in pending], SamplingSettings(n=1, max_new_tokens=answer_tokens, seed=seed))
        for (slot, _), (answer,) in zip(pending, answers):
            text, tokens = continued[slot]
            continued[slot] = (text + "\n\n" + answer.text, tokens)
    return [continued[i * n : (i + 1) * n] for i in range(len(prompts))]


def scaling_curve(engine: Engine, records: list[PromptRecord], budgets: list[int], n: int, answer_tokens: int, seed: int = 0) -> list[dict]:
    """Accuracy and mean reasoning length at each budget (one row a budget)."""
    answer = make_verifier("answer")
    prompts = [engine.prompt_builder.build(r.messages, prefill_think=True) for r in records]
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


def plot_scaling(rows: list[dict], path: Path, title: str) -> None:
    """Accuracy and mean reasoning length against the budget, as a PNG at `path`."""
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
