"""StepAudio2 generation with and without the KV cache, on the tiny StepAudio2.

The released remote code passes no cache, so each new token re-runs the whole
sequence and the audio encoder; without the cache Aural's model does the same,
which is what the uncached column measures. Aural's
`StepAudio2ForCausalLM` generates through transformers' `DynamicCache`. For each
length, the median of three greedy runs (EOS ignored) of one prompt with a
5-second clip, with ``use_cache`` on and off.

    python benchmarks/bench_step_audio2_cache.py [--lengths 128 256 512 1024] [--uncached-up-to 512]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aural.policy.model import AudioPolicy
from aural.policy.tiny import write_tiny_step_audio2
from aural.table import plain_table


def seconds(policy: AudioPolicy, inputs: dict, tokens: int, use_cache: bool) -> float:
    """Median wall time of three greedy generations of exactly `tokens` tokens."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        with torch.inference_mode():
            policy.model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                use_cache=use_cache,
                pad_token_id=policy.tokenizer.pad_token_id,
            )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--uncached-up-to", type=int, default=512, help="longest run without the cache (it is quadratic)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        policy = AudioPolicy.from_pretrained(write_tiny_step_audio2(Path(folder) / "tiny"))
        clip = (0.5 * np.sin(2 * np.pi * 440 * np.arange(5 * 16_000) / 16_000)).astype(np.float32)
        inputs = policy.inputs(policy.prompt_builder.question("Which tone is higher?", clip))
        rows = []
        for tokens in args.lengths:
            cached = seconds(policy, inputs, tokens, use_cache=True)
            uncached = seconds(policy, inputs, tokens, use_cache=False) if tokens <= args.uncached_up_to else None
            rows.append(
                (
                    str(tokens),
                    f"{cached:.2f}",
                    f"{1000 * cached / tokens:.1f}",
                    "-" if uncached is None else f"{uncached:.2f}",
                    "-" if uncached is None else f"{1000 * uncached / tokens:.1f}",
                )
            )
    print(f"prompt tokens: {inputs['input_ids'].shape[1]} (a 5 s clip: 63 audio tokens); one CPU thread")
    print(plain_table([("new tokens", "cached s", "ms/token", "uncached s", "ms/token"), *rows]))


if __name__ == "__main__":
    main()
