"""Scoring speed: Aural's step-audio-r1 reward against TRL's rewards and against the floor.

1,024 responses of about 10,240 tokens (~40 KB: reasoning, then a boxed math
answer), 64 distinct prompts x 16 samples as in a PPO step, written to JSONL. Timed in
one run, each reading the same file:

  (a) Aural: the step-audio-r1 recipe (answer + think_format) over every sample;
  (b) TRL: `think_format_reward` + `accuracy_reward`, weighted the same way;
  (c) floor: read the JSONL and find the think tags in each response once;
  (d) `aural score`'s path: read the JSONL, score, write every line back with its
      reward (`score_jsonl`, in process: the interpreter's start is not scoring).

Each is timed `--repeats` times and the best is reported; each Aural run builds
its recipe afresh, so no answer is cached from an earlier run.

Then the hard timeout: a never-ending answer (``\\boxed{9^{9^{9^{9}}}}``)
must come back within timeout + 0.5 s, and the math pool's throughput after
it must match its throughput before.

    python benchmarks/bench_score.py [--samples 1024] [--timeout-s 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aural import Sample, load_recipe, score_batch
from aural.rewards.scored_jsonl import score_jsonl
from aural.table import plain_table
from aural.verifiers.math_pool import MathPool, shared_pool

GROUP = 16
TARGET_CHARS = 40_000


def problem(index: int) -> tuple[str, list[str], list[str]]:
    """Prompt `index`'s gold answer, spellings of it a model writes, and plausible wrong answers.

    Eight shapes of answer (integers, fractions, radicals, multiples of pi,
    polynomials, intervals…) with parameters that differ for every prompt.
    """
    k = index // 8 + 2
    shapes = [
        (f"{7 * k}", [f"{7 * k}", f"{7 * k}.0"], [f"{7 * k + 1}", f"{14 * k}"]),
        (
            rf"\frac{{{k}}}{{{k + 1}}}",
            [rf"\frac{{{k}}}{{{k + 1}}}", rf"\dfrac{{{2 * k}}}{{{2 * k + 2}}}"],
            [rf"\frac{{{k + 1}}}{{{k}}}", rf"\frac{{{k - 1}}}{{{k + 1}}}"],
        ),
        (rf"{k}\sqrt{{2}}", [rf"{k}\sqrt{{2}}", rf"\sqrt{{{2 * k * k}}}"], [rf"{k}\sqrt{{3}}", f"{2 * k}"]),
        (
            rf"\frac{{\sqrt{{3}}}}{{{k}}}",
            [rf"\frac{{\sqrt{{3}}}}{{{k}}}", rf"\frac{{3}}{{{k}\sqrt{{3}}}}"],
            [rf"\frac{{1}}{{{k}}}", r"\sqrt{3}"],
        ),
        (rf"{k}\pi", [rf"{k}\pi", rf"\pi \cdot {k}"], [rf"{k + 1}\pi", rf"\frac{{{k}}}{{\pi}}"]),
        (f"x^2+{k}", [f"x^2+{k}", f"{k}+x^2"], [f"x^2-{k}", f"x+{k}"]),
        (f"({k},{k + 3})", [f"({k},{k + 3})", rf"\left({k}, {k + 3}\right)"], [f"({k},{k + 4})", f"[{k},{k + 3}]"]),
        (f"{k * 1000}", [f"{k * 1000}", f"{k},000"], [f"{k * 1000 + 1}", f"{k * 100}"]),
    ]
    return shapes[index % len(shapes)]


SENTENCES = [
    "The first tone has a steady pitch near {a} Hz with a bright timbre.",
    "After that the contour rises by about {b} semitones over {c} beats.",
    "Counting the onsets again, I hear {c} short beeps separated by silence.",
    "So the interval is {a} divided by {b}, which I should simplify carefully.",
    "Let me check the arithmetic: {a} plus {b} is {s}, and {s} times {c} is {p}.",
    "The background hum stays low and constant, so it does not change the count.",
    "Wait, I should double-check the rhythm: the tempo is roughly {t} BPM.",
]


def make_rollouts(path: Path, samples: int) -> None:
    """Write `samples` long responses, `GROUP` per prompt, with right, re-spelled and wrong answers."""
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as out:
        for index in range(samples):
            gold, spellings, wrong = problem(index // GROUP)
            answer = rng.choice(spellings) if rng.random() < 0.65 else rng.choice(wrong)
            words = []
            size = 0
            while size < TARGET_CHARS:
                a, b, c = rng.randint(2, 900), rng.randint(2, 12), rng.randint(2, 9)
                sentence = rng.choice(SENTENCES).format(a=a, b=b, c=c, s=a + b, p=(a + b) * c, t=rng.randint(60, 180))
                words.append(sentence)
                size += len(sentence) + 1
            response = "<think>" + " ".join(words) + f"</think>The final answer is $\\boxed{{{answer}}}$."
            record = {
                "id": f"p{index // GROUP}-s{index % GROUP}",
                "response": response,
                "modality": "audio",
                "label": {"answer": gold, "kind": "math"},
                "finish_reason": "stop",
            }
            out.write(json.dumps(record) + "\n")


def read_lines(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def run_aural(path: Path) -> list[float]:
    recipe = load_recipe("step-audio-r1")
    samples = [Sample(r["response"], r["label"], r["modality"], finish_reason=r["finish_reason"]) for r in read_lines(path)]
    return [result.total for result in score_batch(recipe, samples, progress=False)]


def run_trl(path: Path) -> list[float]:
    from trl.rewards import accuracy_reward, think_format_reward

    records = read_lines(path)
    completions = [[{"role": "assistant", "content": r["response"]}] for r in records]
    fmt = think_format_reward(completions)
    acc = accuracy_reward(completions, [f"${r['label']['answer']}$" for r in records])
    return [0.8 * (a or 0.0) + 0.2 * f for a, f in zip(acc, fmt)]


def run_score_jsonl(path: Path) -> Path:
    """What `aural score IN -o OUT` does: every line read, scored and written back; returns OUT."""
    out = path.with_name("scored.jsonl")
    score_jsonl(path, out, load_recipe("step-audio-r1"), progress=False)
    return out


def run_floor(path: Path) -> list[float]:
    found = []
    for record in read_lines(path):
        text = record["response"]
        found.append(float(text.find("<think>") >= 0 and text.find("</think>") >= 0))
    return found


def timed(run, path: Path, repeats: int) -> tuple[float, list[float]]:
    """The best of `repeats` timings of `run` over `path`, and its result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = run(path)
        best = min(best, time.perf_counter() - start)
    return best, result


def pool_throughput(pool: MathPool, pairs: list[tuple[str, str]], rounds: int = 1) -> float:
    """Checks per second through `pool` from two threads per worker: the median of `rounds`."""
    from concurrent.futures import ThreadPoolExecutor

    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        with ThreadPoolExecutor(2 * pool.size) as threads:
            statuses = list(threads.map(lambda pair: pool.check(*pair, timeout_s=30).status, pairs))
        assert all(s in ("ok", "wrong") for s in statuses), statuses
        rates.append(len(pairs) / (time.perf_counter() - start))
    return statistics.median(rates)


def timeout_check(timeout_s: float) -> list[tuple[str, str]]:
    pool = MathPool()

    pairs = [(f"${gold}$", f"${s}$") for gold, spellings, wrong in map(problem, range(100, 164)) for s in spellings + wrong]
    pool_throughput(pool, pairs, rounds=2)  # sympy's caches fill over the first rounds
    before = pool_throughput(pool, pairs, rounds=5)
    start = time.perf_counter()
    result = pool.check("$1$", r"$9^{9^{9^{9}}}$", timeout_s)
    returned_after = time.perf_counter() - start
    during = pool_throughput(pool, pairs)  # while the new spare warms up beside it
    pool.settle()
    after = pool_throughput(pool, pairs, rounds=5)
    pool.close()
    return [
        (
            "never-ending answer",
            f"{result.status} after {returned_after:.2f} s",
            f"limit {timeout_s + 0.5:.1f} s",
            "ok" if result.status == "timeout" and returned_after <= timeout_s + 0.5 else "MISSED",
        ),
        (
            "checks/s before, during refill, after (median of 5)",
            f"{before:.0f}, {during:.0f}, {after:.0f}",
            "after >= 0.9 x before",
            f"{after / before:.2f}",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--timeout-s", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3, help="report the best of this many timings")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rollouts.jsonl"
        make_rollouts(path, args.samples)
        megabytes = path.stat().st_size / 1e6
        shared_pool()  # the math workers are up, as after a trainer's first step
        import trl.rewards  # noqa: F401  (import time is not scoring time)

        floor_s, _ = timed(run_floor, path, args.repeats)
        aural_s, aural = timed(run_aural, path, args.repeats)
        trl_s, trl = timed(run_trl, path, args.repeats)
        cli_s, scored = timed(run_score_jsonl, path, args.repeats)
        written = [line["reward"] for line in read_lines(scored)]

    agree = sum(abs(a - b) < 1e-9 for a, b in zip(aural, trl))
    n = args.samples
    rows = [("run", "seconds", "samples/s", "mean reward")]
    rows.append(("(a) aural step-audio-r1", f"{aural_s:.3f}", f"{n / aural_s:.0f}", f"{sum(aural) / n:.4f}"))
    rows.append(("(b) trl think_format + accuracy", f"{trl_s:.3f}", f"{n / trl_s:.0f}", f"{sum(trl) / n:.4f}"))
    rows.append(("(c) floor: read + find tags", f"{floor_s:.3f}", f"{n / floor_s:.0f}", "-"))
    rows.append(("(d) aural score: read, score, write", f"{cli_s:.3f}", f"{n / cli_s:.0f}", f"{sum(written) / n:.4f}"))
    print(plain_table(rows, f"{n} responses, {megabytes:.1f} MB of JSONL, {GROUP} samples per prompt, best of {args.repeats}"))
    print(
        f"\nrewards equal in (a) and (b): {agree} of {n}; written by (d) as (a) scored them: {sum(w == a for w, a in zip(written, aural))} of {n}"
    )
    print()
    print(plain_table([("check", "measured", "target", "result"), *timeout_check(args.timeout_s)]))
    print()
    print(
        plain_table(
            [
                ("ratio", "value", "target"),
                ("(b) / (a): aural speed-up over trl", f"{trl_s / aural_s:.1f}x", ">= 10x"),
                ("(a) / (c): aural cost over the floor", f"{aural_s / floor_s:.2f}x", "<= 3x"),
                ("(b) / (d): aural score, end to end, over trl", f"{trl_s / cli_s:.1f}x", ">= 10x"),
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
