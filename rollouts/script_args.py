"""The arguments every recipe script takes: a prompt set, an output folder, a policy and an engine."""

from __future__ import annotations

import argparse
from pathlib import Path


def script_parser(description: str) -> argparse.ArgumentParser:
    """A parser with ``PROMPTS``, ``-o OUT``, ``--policy DIR`` and ``--engine vllm|hf``.

    >>> script_parser("demo").parse_args(["p.jsonl", "-o", "out"]).engine
    'vllm'
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompts", type=Path, help="a prompt-set JSONL")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the folder to write to")
    parser.add_argument("--policy", help="a local model folder (default: the tiny policy)")
    parser.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    return parser
