"""Reward server throughput: `aural serve` on loopback against the same scoring in-process.

64 concurrent clients post batches of 16 OpenRLHF queries (a prompt's group of
rollouts, ~40 KB each: long reasoning, then a boxed answer) to the server for a
bounded time; the same batches are then scored in this process by the function
the server calls. Reported: samples/s, p50 and p99 latency per batch, and the
ratio of server to in-process throughput.

    python benchmarks/bench_server.py [--clients 64] [--seconds 10] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bench_score import GROUP, make_rollouts, read_lines

from aural import load_recipe
from aural.rewards.openrlhf_samples import score_openrlhf
from aural.table import plain_table

PROMPT = "<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|>\nSolve the problem you hear.<|im_end|>\n<|im_start|>assistant\n"


def make_batches(count: int) -> list[dict]:
    """`count` request bodies of `GROUP` queries each, as OpenRLHF sends them."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rollouts.jsonl"
        make_rollouts(path, count * GROUP)
        records = read_lines(path)
    batches = []
    for start in range(0, len(records), GROUP):
        group = records[start : start + GROUP]
        batches.append(
            {
                "query": [PROMPT + r["response"] + "<|im_end|>" for r in group],
                "prompts": [PROMPT] * len(group),
                "labels": [json.dumps({**r["label"], "modality": r["modality"]}) for r in group],
            }
        )
    return batches


async def load_server(url: str, bodies: list[bytes], clients: int, seconds: float) -> tuple[int, list[float]]:
    """Post `bodies` round-robin from `clients` concurrent clients for `seconds`; samples scored and latencies."""
    latencies: list[float] = []
    scored = 0
    deadline = time.perf_counter() + seconds

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal scored
        turn = index
        while time.perf_counter() < deadline:
            body = bodies[turn % len(bodies)]
            turn += clients
            start = time.perf_counter()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as reply:
                reply.raise_for_status()
                scored += len((await reply.json())["rewards"])
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    return scored, latencies


def in_process(batches: list[dict], seconds: float) -> tuple[int, list[float]]:
    """The server's scoring call on the same batches, one after another, for `seconds`."""
    recipe = load_recipe("step-audio-r1")
    latencies: list[float] = []
    scored, turn = 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        batch = batches[turn % len(batches)]
        turn += 1
        start = time.perf_counter()
        scored += len(score_openrlhf(recipe, batch["query"], batch["prompts"], batch["labels"]).rewards)
        latencies.append(time.perf_counter() - start)
    return scored, latencies


def row(name: str, scored: int, latencies: list[float], seconds: float) -> tuple[str, ...]:
    cuts = statistics.quantiles(latencies, n=100)
    return (name, f"{scored / seconds:.0f}", f"{cuts[49] * 1e3:.1f}", f"{cuts[98] * 1e3:.1f}", str(len(latencies)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batches", type=int, default=64, help="distinct batches to cycle through")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes")
    args = parser.parse_args()

    batches = make_batches(args.batches)
    bodies = [json.dumps(b).encode() for b in batches]
    command = [sys.executable, "-m", "aural", "serve", "--port", "0", "--workers", str(args.workers)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[-1]
        asyncio.run(load_server(url, bodies[:2], 2, 1.0))  # warm: imports, first requests
        served, served_latencies = asyncio.run(load_server(url, bodies, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    local, local_latencies = in_process(batches, args.seconds)

    megabytes = sum(map(len, bodies)) / len(bodies) / 1e6
    rows = [("scoring", "samples/s", "p50 ms", "p99 ms", "batches")]
    rows.append(row(f"server ({args.workers} processes), {args.clients} clients", served, served_latencies, args.seconds))
    rows.append(row("in-process", local, local_latencies, args.seconds))
    title = f"batches of {GROUP} queries ({megabytes:.2f} MB each), {args.seconds:.0f} s each"
    print(plain_table(rows, title))
    print()
    ratio = (served / args.seconds) / (local / args.seconds)
    print(plain_table([("ratio", "value", "target"), ("server / in-process throughput", f"{ratio:.2f}", ">= 0.8")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
