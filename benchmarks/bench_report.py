"""`aural report` on a large store: a generated rollout store of 100,000 scored lines
(16 samples per prompt, ~1.5 KB responses, the reasons and lengths a real run has),
read in one streaming pass, then drawn. Reported: seconds (wall and this process's CPU)
for each step and lines/s, against the floor of parsing every line's JSON and nothing else.

    python benchmarks/bench_report.py [--lines 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from aural.rollouts.report import read_store
from aural.rollouts.report_page import write_report
from aural.table import plain_table

GROUP = 16
REASONING = "The first tone sits low and steady; the second rises in pitch and ends higher. " * 16
REASONS = [
    ("ok", "ok", 1.0),
    ("wrong", "ok", 0.2),
    ("multiple_answers", "ok", 0.2),
    ("ok", "empty_think", 0.8),
    ("no_answer", "no_think", 0.0),
]


def make_store(path: Path, lines: int, seed: int = 0) -> None:
    """Write `lines` scored rollout lines, `GROUP` per prompt, in the rollout store's format."""
    chance = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for index in range(lines):
            prompt, sample = divmod(index, GROUP)
            difficulty = (prompt * 7919 % 100) / 100
            accuracy, form, reward = REASONS[0] if chance.random() > difficulty else chance.choice(REASONS[1:])
            truncated = chance.random() < 0.03
            reasoning = REASONING[: chance.randrange(0, len(REASONING))]
            record = {
                "id": f"p{prompt}-s{sample}",
                "prompt_id": f"p{prompt}",
                "sample_index": sample,
                "samples": GROUP,
                "prompt": "<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|>\nWhich tone is higher?<|im_end|>\n<|im_start|>assistant\n",
                "response": f"<think>{reasoning}</think>The answer is (B).",
                "modality": "audio" if prompt % 4 else "text",
                "label": {"answer": "B", "choices": ["the first", "the second"]} if prompt % 3 else str(prompt % 10),
                "finish_reason": "length" if truncated else "stop",
                "reward": 0.0 if truncated else reward,
                "components": {
                    "accuracy": {"score": float(accuracy == "ok"), "reason": accuracy, "extracted": "B"},
                    "format": {"score": float(form == "ok"), "reason": "truncated" if truncated else form, "extracted": None},
                },
                "prompt_tokens": 40,
                "response_tokens": 10240 if truncated else len(reasoning) // 4 + 8,
                "reasoning_tokens": len(reasoning) // 4,
                "engine": "vllm",
                "seconds": 1.0,
            }
            out.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "rollouts.jsonl"
        make_store(store, args.lines)
        size = store.stat().st_size
        start, cpu = time.perf_counter(), time.process_time()
        with open(store, encoding="utf-8") as lines:
            for line in lines:
                json.loads(line)
        floor, floor_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        report = read_store(store)
        read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        written = write_report(report, Path(folder) / "report")
        drawn, drawn_cpu = time.perf_counter() - start, time.process_time() - cpu
        page = written.html.stat().st_size
    print(
        plain_table(
            [
                ("step", "seconds", "CPU seconds", "lines/s"),
                ("the floor: json.loads of every line, nothing else", f"{floor:.2f}", f"{floor_cpu:.2f}", f"{args.lines / floor:,.0f}"),
                (f"read {args.lines:,} lines ({size / 2**20:.0f} MB)", f"{read:.2f}", f"{read_cpu:.2f}", f"{args.lines / read:,.0f}"),
                (f"draw {len(written.figures)} figures, write the page ({page / 2**10:.0f} KB)", f"{drawn:.2f}", f"{drawn_cpu:.2f}", ""),
                ("total", f"{read + drawn:.2f}", f"{read_cpu + drawn_cpu:.2f}", f"{args.lines / (read + drawn):,.0f}"),
            ],
            f"aural report on a generated store of {args.lines:,} lines (CPU seconds: this process's, on a shared machine)",
        )
    )


if __name__ == "__main__":
    main()
