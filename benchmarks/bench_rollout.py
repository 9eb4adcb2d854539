"""Rollout throughput: Aural's rollout path against a bare vLLM `LLM.generate`, on the tiny policy.

The same audio prompts (the bundled examples), n=16, a fixed length (EOS
ignored), through

  (a) vLLM's `LLM.generate` in this process, all prompts in one call;
  (b) `aural rollout`'s path: a Ray worker holding the vLLM engine, the same
      prompts in one task, every group scored and appended to the store.

Both are timed from a ready engine to the last token (and, for (b), the last
stored line). Then one run at 10,240 new tokens shows long generations finish.

    python benchmarks/bench_rollout.py [--prompts 8] [--tokens 256] [--long-tokens 10240]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from aural import load_recipe
from aural.policy.prompt import PromptBuilder
from aural.policy.tiny import tiny_policy
from aural.rollouts.engines import SamplingSettings, VLLMEngine
from aural.rollouts.pool import RolloutPool
from aural.rollouts.prompt_set import read_prompt_set
from aural.rollouts.run import run_rollouts
from aural.table import plain_table

N = 16


def prompt_file(count: int, folder: Path) -> Path:
    """The first `count` bundled example prompts, as a prompt set."""
    lines = (resources.files("aural.examples") / "prompts.jsonl").read_text().splitlines(keepends=True)
    source = Path(str(resources.files("aural.examples")))
    path = folder / "prompts.jsonl"
    path.write_text("".join(line.replace('"audio": "prompts/', f'"audio": "{source}/prompts/') for line in lines[:count]))
    return path


def bare_vllm(prompts: Path, settings: SamplingSettings) -> tuple[int, float]:
    engine = VLLMEngine(tiny_policy())
    records = read_prompt_set(prompts)
    built = [engine.prompt_builder.build(r.messages, r.prefill_think) for r in records]
    from vllm import SamplingParams

    params = SamplingParams(n=settings.n, max_tokens=settings.max_new_tokens, temperature=1.0, seed=0, ignore_eos=True)
    requests = [{"prompt": p.text, "multi_modal_data": {"audio": [(a, 16_000) for a in p.audios]}} for p in built]
    start = time.perf_counter()
    outputs = engine.llm.generate(requests, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    engine.close()
    return sum(len(o.token_ids) for out in outputs for o in out.outputs), seconds


def aural_rollout(prompts: Path, settings: SamplingSettings, store: Path) -> tuple[int, float]:
    count = len(read_prompt_set(prompts))
    report = run_rollouts(
        prompts,
        store,
        lambda: RolloutPool("vllm", str(tiny_policy()), workers=1, prompts_per_task=count),
        settings,
        load_recipe("step-audio-r1"),
        PromptBuilder.from_pretrained(tiny_policy()).tokenizer,
        progress=False,
    )
    return report.tokens, report.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--long-tokens", type=int, default=10_240)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    settings = SamplingSettings(n=N, max_new_tokens=args.tokens, seed=0, ignore_eos=True)

    with tempfile.TemporaryDirectory() as folder:
        prompts = prompt_file(args.prompts, Path(folder))
        bare_tokens, bare_seconds = bare_vllm(prompts, settings)
        ours_tokens, ours_seconds = aural_rollout(prompts, settings, Path(folder) / "rollouts.jsonl")
        (Path(folder) / "long").mkdir()
        long_prompts = prompt_file(1, Path(folder) / "long")
        long_settings = SamplingSettings(n=N, max_new_tokens=args.long_tokens, seed=0, ignore_eos=True)
        long_tokens, long_seconds = aural_rollout(long_prompts, long_settings, Path(folder) / "long.jsonl")

    title = f"{args.prompts} audio prompts x n={N} x {args.tokens} tokens (EOS ignored), tiny policy, vLLM CPU build"
    rows = [("path", "tokens", "seconds", "tokens/s")]
    rows.append(("(a) bare vLLM LLM.generate", str(bare_tokens), f"{bare_seconds:.1f}", f"{bare_tokens / bare_seconds:.0f}"))
    rows.append(("(b) aural rollout (Ray + score + store)", str(ours_tokens), f"{ours_seconds:.1f}", f"{ours_tokens / ours_seconds:.0f}"))
    rows.append(
        (f"long: 1 prompt x n={N} x {args.long_tokens}", str(long_tokens), f"{long_seconds:.1f}", f"{long_tokens / long_seconds:.0f}")
    )
    print(plain_table(rows, title))
    print()
    ratio = (ours_tokens / ours_seconds) / (bare_tokens / bare_seconds)
    print(plain_table([("ratio", "value", "target"), ("(b) / (a) tokens/s", f"{ratio:.3f}", ">= 0.95")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
