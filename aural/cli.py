"""The `aural` command.

    aural score [IN.jsonl] [-o OUT.jsonl] [--recipe NAME|PATH]
    aural audit [--recipe NAME|PATH] [--catalogue FILE]... [--no-builtin]
    aural serve [--host 127.0.0.1] [--port 5000] [--recipe NAME|PATH] [--workers N]
    aural openrlhf-reward-path
    aural tiny-policy DIR [--seed 0]

Exit codes: 0 success; 1 some lines could not be scored, or the audit found a
hack; 2 bad usage (a missing file, a recipe that does not load).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from importlib import resources
from typing import Sequence

from aural.rewards.audit import CatalogueError, findings_table, load_catalogue, run_audit
from aural.rewards.recipe import DEFAULT_RECIPE, RecipeError, load_recipe
from aural.rewards.scored_jsonl import score_jsonl
from aural.rewards.server import DEFAULT_MAX_BODY_BYTES, serve

USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `aural` command; returns its exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="aural", description="RLVR rewards for audio language models.")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score a scored-sample JSONL file with a reward recipe")
    score.add_argument("input", nargs="?", help="samples to score (default: the bundled example rollouts)")
    score.add_argument("-o", "--output", help="where to write the scored lines ('-' for standard output)")
    score.add_argument("--recipe", default=DEFAULT_RECIPE, help="a shipped recipe name or a TOML path")
    score.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    score.set_defaults(run=_score)

    audit = commands.add_parser("audit", help="check a recipe against known reward hacks")
    audit.add_argument("--recipe", default=DEFAULT_RECIPE, help="a shipped recipe name or a TOML path")
    audit.add_argument("--catalogue", action="append", default=[], help="a TOML file of more patterns")
    audit.add_argument("--no-builtin", action="store_true", help="leave out the built-in patterns")
    audit.set_defaults(run=_audit)

    server = commands.add_parser("serve", help="serve a recipe over OpenRLHF's remote reward protocol")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    server.add_argument("--port", type=int, default=5000, help="port to listen on; 0 picks a free one")
    server.add_argument("--recipe", default=DEFAULT_RECIPE, help="a shipped recipe name or a TOML path")
    server.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes (default: one per core)")
    server.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20, help="larger bodies get 413")
    server.set_defaults(run=_serve)

    path = commands.add_parser("openrlhf-reward-path", help="print the path of the OpenRLHF reward file")
    path.set_defaults(run=_openrlhf_reward_path)

    tiny = commands.add_parser("tiny-policy", help="write the tiny random-weight Qwen2-Audio used in tests and demos")
    tiny.add_argument("folder", help="where to write it")
    tiny.add_argument("--seed", type=int, default=0, help="the same seed writes the same files")
    tiny.set_defaults(run=_tiny_policy)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (RecipeError, CatalogueError, OSError) as error:
        print(f"aural {args.command}: {error}", file=sys.stderr)
        return USAGE_ERROR


def _score(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    source = args.input or resources.files("aural.examples") / "rollouts.jsonl"
    report_to = sys.stderr if args.output == "-" else sys.stdout
    report = score_jsonl(source, args.output, recipe, progress=False if args.no_progress else None)
    for error in report.errors:
        print(error, file=sys.stderr)
    print(report.summary.table(f"{source} scored with {recipe.name}"), file=report_to)
    if report.errors:
        print(f"{len(report.errors)} line(s) could not be scored", file=report_to)
    if args.output is None:
        print("(pass -o FILE to keep the scored lines)", file=report_to)
    return 1 if report.errors else 0


def _audit(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    findings = run_audit(recipe, load_catalogue(args.catalogue, builtin=not args.no_builtin))
    print(findings_table(findings))
    hacks = [f.pattern.name for f in findings if f.status == "HACK"]
    if hacks:
        print(f"\n{len(hacks)} pattern(s) earn more than an honest answer under {recipe.name}: {', '.join(hacks)}")
        return 1
    print(f"\nno pattern out-earns an honest answer under {recipe.name}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    def ready(url: str) -> None:
        print(f"serving {args.recipe} with {args.workers} process(es) at {url}", flush=True)

    serve(args.recipe, args.host, args.port, args.workers, int(args.max_body_mb * 2**20), on_ready=ready)
    return 0


def _openrlhf_reward_path(args: argparse.Namespace) -> int:
    print(importlib.util.find_spec("aural.rewards.openrlhf").origin)
    return 0


def _tiny_policy(args: argparse.Namespace) -> int:
    from aural.policy.tiny import write_tiny_policy  # torch and transformers: only for this command

    print(write_tiny_policy(args.folder, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
