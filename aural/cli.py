"""The `aural` command.

    aural score [IN.jsonl] [-o OUT.jsonl] [--recipe NAME|PATH]
    aural audit [--recipe NAME|PATH] [--catalogue FILE]... [--no-builtin]
    aural serve [--host 127.0.0.1] [--port 5000] [--recipe NAME|PATH] [--workers N] [--allow CIDR...]
                [--eos-tokens TOKEN...] [--default-modality audio|text] [--math-workers N]
    aural openrlhf-reward-path
    aural tiny-policy DIR [--seed 0] [--arch qwen2-audio | step-audio-2] [--audio-window 30]
    aural rollout [PROMPTS.jsonl] [-o ROLLOUTS.jsonl] [--policy DIR] [--engine vllm|hf] [-n 16]
                  [--max-new-tokens 10240] [--workers N] [--recipe NAME|PATH]
    aural select ROLLOUTS.jsonl --k 8 --band LOW HIGH -o PROMPTS.jsonl
    aural report STORE.jsonl [-o DIR] [--k 8] [--band LOW HIGH]
    aural eval [PROMPTS.jsonl] [--policy DIR] [--engine hf|vllm] [--controls silence shuffled]
    aural ppo CONFIG.toml [--dry-run | --smoke] [--policy DIR]
    aural demo [-o build/demo] [--seed 0] [--quick]

Exit codes: 0 success; 1 some lines could not be scored, or the audit found a
hack; 2 bad input (an `AuralError`: a recipe that does not load, a bad prompt line, a
flag out of range; or a path that cannot be read), its message printed without a traceback. Any
other exception is a bug and shows its traceback; `aural --debug COMMAND` shows one
for bad input too.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from aural.errors import PATH_ERRORS, AuralError
from aural.rewards.audit import findings_table, load_catalogue, run_audit
from aural.rewards.recipe import DEFAULT_RECIPE, load_recipe
from aural.rewards.scored_jsonl import score_jsonl
from aural.rewards.server import DEFAULT_MAX_BODY_BYTES, ServeSettings, serve
from aural.table import plain_table
from aural.verifiers.schema import MODALITIES

USAGE_ERROR = 2
FULL_LENGTH = 10_240  # Step-Audio-R1's longest response
EXAMPLE_LENGTH = 64  # the bundled examples on the tiny policy: a quick look, not a long run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `aural` command; returns its exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="aural", description="RLVR rewards for audio language models.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of bad input too")
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
    server.add_argument(
        "--allow", nargs="+", default=[], metavar="CIDR", help="client networks served (others get 403); required off loopback"
    )
    server.add_argument(
        "--eos-tokens",
        nargs="+",
        metavar="TOKEN",
        help="tokens that end a response (default: AURAL_EOS_TOKENS, else the common chat templates')",
    )
    server.add_argument(
        "--default-modality", choices=MODALITIES, help="for labels that name none (default: AURAL_DEFAULT_MODALITY, else audio)"
    )
    server.add_argument(
        "--math-workers", type=int, default=0, help="math-check processes per server process (default: the cores shared out)"
    )
    server.set_defaults(run=_serve)

    path = commands.add_parser("openrlhf-reward-path", help="print the path of the OpenRLHF reward file")
    path.set_defaults(run=_openrlhf_reward_path)

    tiny = commands.add_parser("tiny-policy", help="write the tiny random-weight Qwen2-Audio (or StepAudio2) used in tests and demos")
    tiny.add_argument("folder", help="where to write it")
    tiny.add_argument("--seed", type=int, default=0, help="the same seed writes the same files")
    tiny.add_argument(
        "--arch", choices=["qwen2-audio", "step-audio-2"], default="qwen2-audio", help="the architecture (step-audio-2: Step-Audio-R1's)"
    )
    tiny.add_argument(
        "--audio-window",
        type=int,
        default=30,
        metavar="SECONDS",
        help="qwen2-audio: the encoder's window (Whisper's 30 s; 2 for short clips)",
    )
    tiny.set_defaults(run=_tiny_policy)

    rollout = commands.add_parser("rollout", help="sample n responses per prompt and score them")
    rollout.add_argument("prompts", nargs="?", help="a prompt-set JSONL (default: the bundled examples on the tiny policy)")
    rollout.add_argument("-o", "--output", default="rollouts.jsonl", help="the rollout store (resumed if it exists)")
    rollout.add_argument("--policy", help="a local model folder (default: the tiny policy)")
    rollout.add_argument("--engine", choices=["vllm", "hf"], default="vllm")
    rollout.add_argument("-n", type=int, default=16, help="samples per prompt")
    rollout.add_argument(
        "--max-new-tokens", type=int, help=f"per sample (default {FULL_LENGTH}; {EXAMPLE_LENGTH} for the bundled examples)"
    )
    rollout.add_argument("--temperature", type=float, default=1.0)
    rollout.add_argument("--top-p", type=float, default=1.0)
    rollout.add_argument("--seed", type=int, default=None)
    rollout.add_argument("--ignore-eos", action="store_true", help="sample every response to full length")
    rollout.add_argument("--workers", type=int, default=1, help="Ray workers, one engine each")
    rollout.add_argument("--tensor-parallel", type=int, default=1, help="GPUs per vLLM engine")
    rollout.add_argument("--prompts-per-task", type=int, default=16, help="prompts a worker samples together")
    rollout.add_argument("--address", help="a running Ray cluster to join (default: start Ray here)")
    rollout.add_argument("--recipe", default=DEFAULT_RECIPE, help="a reward recipe name or TOML path")
    rollout.add_argument("--no-reward", action="store_true", help="store the samples unscored")
    rollout.add_argument("--no-progress", action="store_true")
    rollout.set_defaults(run=_rollout)

    evaluate = commands.add_parser("eval", help="does the policy use the audio? accuracy with its clips, with silence, with clips shuffled")
    evaluate.add_argument("prompts", nargs="?", help="a prompt-set JSONL (default: the bundled examples)")
    evaluate.add_argument("--policy", help="a local model folder (default: the tiny policy)")
    evaluate.add_argument("--engine", choices=["vllm", "hf"], default="hf")
    evaluate.add_argument("--controls", nargs="+", choices=["silence", "shuffled"], default=["silence", "shuffled"])
    evaluate.add_argument("-n", type=int, default=1, help="samples per prompt and condition")
    evaluate.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    evaluate.add_argument("--max-new-tokens", type=int, default=256)
    evaluate.add_argument("--seed", type=int, default=0, help="the sampling seed and the shuffled control's deal")
    evaluate.add_argument("--recipe", default=DEFAULT_RECIPE, help="a reward recipe name or TOML path")
    evaluate.set_defaults(run=_eval)

    select = commands.add_parser("select", help="keep the prompts whose pass@k lies in a band")
    select.add_argument("rollouts", help="a rollout store")
    select.add_argument("--k", type=int, default=8)
    select.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), default=(0.125, 0.875))
    select.add_argument("-o", "--output", required=True, help="where to write the kept prompt lines")
    select.set_defaults(run=_select)

    report = commands.add_parser("report", help="an HTML page and PNG figures of a rollout store or scored JSONL")
    report.add_argument("store", help="a rollout store or any scored-sample JSONL")
    report.add_argument("-o", "--output", help="the folder to write (default: STORE's name with -report, beside it)")
    report.add_argument("--k", type=int, default=8, help="pass@k as aural select computes it")
    report.add_argument(
        "--band", type=float, nargs=2, metavar=("LOW", "HIGH"), default=(0.125, 0.875), help="the band aural select would keep"
    )
    report.set_defaults(run=_report)

    ppo = commands.add_parser("ppo", help="train with PPO through OpenRLHF, with audio (see recipes/configs/)")
    ppo.add_argument("config", help="a PPO config TOML")
    ppo.add_argument("--dry-run", action="store_true", help="print the OpenRLHF launch instead of running it")
    ppo.add_argument("--policy", help="a local model folder, in place of the config's policy.path (--smoke: of the tiny policy)")
    ppo.add_argument("--smoke", action="store_true", help="two PPO steps of the config on this machine's CPU at tiny sizes, checked")
    ppo.add_argument("--smoke-output", help="where the smoke run writes (default: RUN_OUTPUT/smoke)")
    ppo.set_defaults(run=_ppo)

    demo = commands.add_parser("demo", help="Step-Audio-R1's recipe in miniature on CPU: MGRD, SFT, selection, PPO, evaluation")
    demo.add_argument("-o", "--output", default="build/demo", help="a folder for the run (an earlier demo's is cleared)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quick", action="store_true", help="a few steps of each stage: checks that the stages connect, learns little")
    demo.set_defaults(run=_demo)

    agent = commands.add_parser("openrlhf-agent-path", help="print the path of the OpenRLHF audio agent file")
    agent.set_defaults(run=_openrlhf_agent_path)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (AuralError, *PATH_ERRORS) as error:  # the user's to fix; anything else is a bug: its traceback shows
        if args.debug:
            raise
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

    flags = {"eos_tokens": tuple(args.eos_tokens or ()), "default_modality": args.default_modality}
    settings = ServeSettings.from_environment(
        recipe=args.recipe,
        max_body_bytes=int(args.max_body_mb * 2**20),
        allow=tuple(args.allow),
        math_workers=args.math_workers,
        **{name: value for name, value in flags.items() if value},
    )
    serve(settings, args.host, args.port, args.workers, on_ready=ready)
    return 0


def _openrlhf_reward_path(args: argparse.Namespace) -> int:
    print(importlib.util.find_spec("aural.rewards.openrlhf").origin)
    return 0


def _ppo(args: argparse.Namespace) -> int:
    from aural.training.ppo_config import load_ppo_config
    from aural.training.ppo_launch import run_ppo

    config = load_ppo_config(args.config)
    if args.smoke:
        from aural.policy.tiny import tiny_policy
        from aural.training.smoke import run_smoke

        output = Path(args.smoke_output or Path(config.run["output"]) / "smoke").resolve()
        report = run_smoke(config, Path(args.policy).resolve() if args.policy else tiny_policy(), output)
        print(report.table())
        return 0 if report.passed else 1
    if args.policy:
        config = dataclasses.replace(config, policy={"path": str(Path(args.policy).resolve())})
    return run_ppo(config, args.dry_run)


def _openrlhf_agent_path(args: argparse.Namespace) -> int:
    from aural.training.ppo_launch import AGENT_FILE

    print(AGENT_FILE)
    return 0


def _rollout(args: argparse.Namespace) -> int:
    from aural.policy.prompt import PromptBuilder  # the engines' stack: only for this command
    from aural.policy.tiny import tiny_policy
    from aural.rollouts.engines import SamplingSettings
    from aural.rollouts.pool import pool_factory
    from aural.rollouts.run import run_rollouts

    prompts = args.prompts or resources.files("aural.examples") / "prompts.jsonl"
    policy = str(args.policy or tiny_policy())
    length = args.max_new_tokens or (FULL_LENGTH if args.prompts else EXAMPLE_LENGTH)
    settings = SamplingSettings(args.n, length, args.temperature, args.top_p, args.seed, args.ignore_eos)
    recipe = None if args.no_reward else load_recipe(args.recipe)
    pool = pool_factory(args.engine, policy, args.workers, args.tensor_parallel, args.address, args.prompts_per_task)
    tokenizer = PromptBuilder.from_pretrained(policy).tokenizer
    report = run_rollouts(prompts, args.output, pool, settings, recipe, tokenizer, progress=not args.no_progress)
    print(f"{prompts} on {policy} with {args.engine}, n={settings.n}, up to {length} new tokens -> {args.output}")
    print(report.table())
    return 0


def _eval(args: argparse.Namespace) -> int:
    from aural.policy.tiny import tiny_policy  # the engines' stack: only for this command
    from aural.rollouts.controls import audio_dependence, dependence_table
    from aural.rollouts.engines import SamplingSettings, make_engine
    from aural.rollouts.prompt_set import read_prompt_set

    prompts = args.prompts or resources.files("aural.examples") / "prompts.jsonl"
    records, recipe = read_prompt_set(prompts), load_recipe(args.recipe)
    policy = str(args.policy or tiny_policy())
    settings = SamplingSettings(args.n, args.max_new_tokens, args.temperature, seed=args.seed)
    engine = make_engine(args.engine, policy)
    try:
        conditions = audio_dependence(engine, records, recipe, settings, args.controls, args.seed)
    finally:
        engine.close()
    print(f"{prompts} on {policy} with {args.engine}, n={settings.n}, temperature {settings.temperature:g}, recipe {recipe.name}")
    print(dependence_table(conditions))
    return 0


def _report(args: argparse.Namespace) -> int:
    from aural.rollouts.report import read_store

    try:
        from aural.rollouts.report_page import write_report  # matplotlib: only for this command
    except ImportError as error:
        raise AuralError(f"{error}; install the plotting extra: pip install 'aural[recipes]'") from None
    low, high = args.band
    if not 0.0 <= low <= high <= 1.0 or args.k < 1:
        raise AuralError(f"need k >= 1 and 0 <= LOW <= HIGH <= 1, got k={args.k}, band {low:g} {high:g}", field="--band")
    store = Path(args.store)
    report = read_store(store)
    if not report.summary.count:
        print(f"aural report: {store}: no scored lines (score it first: aural score {store} -o SCORED.jsonl)", file=sys.stderr)
        return USAGE_ERROR
    written = write_report(report, args.output or store.with_name(f"{store.stem}-report"), args.k, tuple(args.band))
    for error in report.errors:
        print(error, file=sys.stderr)
    print(f"{report.summary.count} scored lines of {report.lines} -> {written.html} and {len(written.figures)} PNG figures")
    return 0


def _select(args: argparse.Namespace) -> int:
    from aural.rollouts.select import select_prompts

    low, high = args.band
    chosen = select_prompts(args.rollouts, args.k, low, high, args.output)
    print(
        plain_table(
            [
                (f"pass@{args.k}", "prompts"),
                (f"below {low:g}", str(chosen.below)),
                (f"in [{low:g}, {high:g}]", str(chosen.inside)),
                (f"above {high:g}", str(chosen.above)),
            ]
        )
    )
    print(f"kept {chosen.inside} prompts in {args.output}")
    return 0


def _tiny_policy(args: argparse.Namespace) -> int:
    from aural.policy.tiny import write_tiny_policy, write_tiny_step_audio2  # torch and transformers: only for this command

    if args.arch == "step-audio-2":
        if args.audio_window != 30:
            raise AuralError("Qwen2-Audio's: StepAudio2 cuts clips into 25 s chunks", field="--audio-window")
        print(write_tiny_step_audio2(args.folder, args.seed))
    else:
        print(write_tiny_policy(args.folder, args.seed, args.audio_window))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from aural.demo import DemoSettings, run_demo  # torch, transformers, TRL: only for this command

    settings = DemoSettings.quick(args.seed) if args.quick else DemoSettings(seed=args.seed)
    run_demo(Path(args.output), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
