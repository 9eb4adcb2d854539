"""Step-Audio-R1's recipe in miniature, on CPU, from a random tiny policy (`aural demo`).

1. **MGRD cold start**: a scripted teacher writes four candidate chains per cold-start
   question (grounded in the clip, from an imagined transcript, incoherent, wrong); the
   `mgrd` filter keeps the grounded, coherent, correct ones.
2. **SFT** on the kept chains with TRL's `SFTTrainer` (the clips in the forward pass),
   stopped once the format rate on a validation batch, sampled at temperature 1, reaches 0.95.
3. **Data selection**: rollouts of the SFT model on other training questions than the cold
   start's (Aural's Ray pool, 8 samples a prompt); `select_prompts` keeps those neither
   always nor never solved.
4. **RLVR PPO** with the `step-audio-r1` reward (0.8 accuracy + 0.2 format, no KL, clip
   0.2): `CPUPPO`, OpenRLHF's actor, GAE, losses and default learning-rate schedule with
   Aural's audio critic.
5. **Evaluation** on held-out clips after each stage: accuracy, reward and format with
   the clips, with silence and with the clips shuffled, greedy and at temperature 1;
   the test-time scaling curve of the final model.

The tasks (`aural.examples.tasks`) need the audio: which of two tones is higher, and how
many beeps. Writes ``report.json`` (stages x conditions, the bars, each stage's seconds),
``demo.png`` and each stage's model and data under the output folder, and prints the table.

>>> DemoSettings.quick().ppo_steps < DemoSettings().ppo_steps
True
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aural.errors import AuralError
from aural.rewards.recipe import DEFAULT_RECIPE, load_recipe
from aural.table import plain_table

STAGES = ("init", "sft", "ppo")
CONDITIONS = ("audio", "silence", "shuffled")
TEMPERATURES = (0.0, 1.0)
MARKER = ".aural-demo"  # marks a folder the demo may clear


@dataclass(frozen=True)
class DemoSettings:
    """The sizes of each stage. The defaults are the full demo; `quick` checks the wiring."""

    seed: int = 0
    train_per_task: int = 400
    cold_start_per_task: int = 200  # the questions MGRD and SFT see; RL's are others
    heldout_per_task: int = 100
    validation_prompts: int = 64
    sft_lr: float = 1e-3
    sft_batch: int = 32
    sft_max_steps: int = 400
    sft_check_every: int = 10
    selection_per_task: int = 96
    selection_k: int = 8
    band: tuple[float, float] = (0.125, 0.875)
    ppo_steps: int = 150
    ppo_prompts_per_step: int = 8
    ppo_samples: int = 8
    ppo_actor_lr: float = 3e-4
    max_new_tokens: int = 40
    scaling_budgets: tuple[int, ...] = (0, 4, 8, 16, 32)
    bars: dict[str, float] = field(default_factory=lambda: dict(BARS))

    @classmethod
    def quick(cls, seed: int = 0) -> DemoSettings:
        """A few steps of each stage on a few prompts: the stages connect, nothing is learnt."""
        # fmt: off
        return cls(
            seed=seed, train_per_task=16, cold_start_per_task=4, heldout_per_task=4, validation_prompts=4, sft_batch=8,
            sft_max_steps=2, sft_check_every=1, selection_per_task=4, selection_k=2, band=(0.0, 1.0), ppo_steps=2,
            ppo_prompts_per_step=2, ppo_samples=2, max_new_tokens=12, scaling_budgets=(0, 4)
        )
        # fmt: on


# The demo's bars, on held-out clips, greedy unless said: each measured value's lower bound
# (upper bound where the name says "at most").
BARS = {
    "sft format": 0.95,
    "ppo accuracy": 0.90,
    "ppo accuracy at temperature 1": 0.80,
    "ppo - sft accuracy": 0.10,
    "ppo silence accuracy (at most)": 0.62,
    "ppo shuffled accuracy (at most)": 0.62,
    "ppo audio - shuffled accuracy": 0.30,
}


def run_demo(out: Path, settings: DemoSettings = DemoSettings(), say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every stage into `out` (new, empty, or an earlier demo's, which is cleared); returns
    the report also written to ``out/report.json``."""
    import torch
    from transformers.utils import logging as transformers_logging

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    torch.set_num_threads(1)  # steady on a shared machine; Ray workers get their own process
    transformers_logging.set_verbosity_error()  # the critic's new value head is expected, not news
    transformers_logging.disable_progress_bar()
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise AuralError(f"not empty, and not an earlier demo's folder (no {MARKER}): give a new folder", str(out))
        shutil.rmtree(out)  # an earlier demo's run
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by aural demo; cleared by the next run\n", encoding="utf-8")
    started = time.monotonic()
    report: dict[str, Any] = {"settings": _jsonable(dataclasses.asdict(settings)), "seconds": {}, "evaluation": {}}

    def stage(name: str, work: Callable[[], Any]) -> Any:
        say(f"[{time.monotonic() - started:6.1f} s] {name} ...")
        begun = time.monotonic()
        result = work()
        report["seconds"][name] = round(time.monotonic() - begun, 1)
        return result

    data = stage("tasks", lambda: _write_data(out, settings))
    policy = stage("policy", lambda: _write_policy(out / "init", settings.seed))
    report["evaluation"]["init"] = stage("evaluate init", lambda: evaluate_stage(policy, data["heldout"], settings))
    report["mgrd"] = stage("mgrd", lambda: _mgrd(out / "mgrd", policy, data["train"], settings))
    report["sft"] = stage("sft", lambda: _sft(out / "sft", policy, out / "mgrd" / "sft.jsonl", data["validation"], settings))
    report["evaluation"]["sft"] = stage("evaluate sft", lambda: evaluate_stage(out / "sft" / "model", data["heldout"], settings))
    report["selection"] = stage("selection", lambda: _select(out / "select", out / "sft" / "model", data["selection"], settings))
    report["ppo"] = stage("ppo", lambda: _ppo(out / "ppo", out / "sft" / "model", out / "select" / "prompts.jsonl", settings, say))
    report["evaluation"]["ppo"] = stage("evaluate ppo", lambda: evaluate_stage(out / "ppo" / "model", data["heldout"], settings))
    report["scaling"] = stage("scaling", lambda: _scaling(out / "ppo" / "model", data["heldout"], settings))
    report["seconds"]["total"] = round(time.monotonic() - started, 1)
    report["bars"] = check_bars(report, settings.bars)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot_demo(report, out / "demo.png")
    print(demo_table(report))
    print(f"\nwrote {out / 'report.json'} and {out / 'demo.png'}")
    return report


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))


def _write_data(out: Path, settings: DemoSettings) -> dict[str, Path]:
    from aural.examples.tasks import write_task_set

    train = write_task_set(out / "data" / "train", settings.train_per_task, settings.seed)
    heldout = write_task_set(out / "data" / "heldout", settings.heldout_per_task, settings.seed + 10_000)
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    cold, chosen = 2 * settings.cold_start_per_task, 2 * settings.selection_per_task
    if cold + chosen + settings.validation_prompts > len(lines):
        raise AuralError(f"{settings.train_per_task}: too few questions for cold start, selection and validation", field="train_per_task")
    validation, selection = out / "data" / "validation.jsonl", out / "data" / "selection.jsonl"
    validation.write_text("".join(lines[-settings.validation_prompts :]), encoding="utf-8")  # the last, held out of SFT
    selection.write_text("".join(lines[cold : cold + chosen]), encoding="utf-8")  # RL's questions: not the cold start's
    _absolute_audio(train.parent, validation)
    _absolute_audio(train.parent, selection)
    return {"train": train, "heldout": heldout, "validation": validation, "selection": selection}


def _absolute_audio(base: Path, path: Path) -> None:
    """Rewrite a prompt file's clip paths (relative to `base`) as absolute paths."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line["audio"] = str((base / line["audio"]).resolve())
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def _write_policy(folder: Path, seed: int) -> Path:
    from aural.policy.tiny import write_tiny_policy

    return write_tiny_policy(folder, seed, audio_window_s=2)


def _mgrd(folder: Path, policy: Path, train: Path, settings: DemoSettings) -> dict[str, Any]:
    from aural.examples.tasks import teacher_chains
    from aural.policy.prompt import PromptBuilder
    from aural.rollouts.mgrd import distill, report_table, store_candidates
    from aural.rollouts.prompt_set import read_prompt_set

    folder.mkdir(parents=True)
    builder = PromptBuilder.from_pretrained(policy)
    rng = random.Random(settings.seed)
    records = read_prompt_set(train)[: 2 * settings.cold_start_per_task]
    candidates = [(r, builder.render(r.messages, r.prefill_think)[0], [text for _, text in teacher_chains(r.source, rng)]) for r in records]
    store_candidates(folder / "candidates.jsonl", candidates, load_recipe("mgrd"))
    report = distill(folder / "candidates.jsonl", folder / "sft.jsonl", builder.think_open)
    print(report_table(report))
    return report


def _sft(folder: Path, policy_dir: Path, examples: Path, validation: Path, settings: DemoSettings) -> dict[str, Any]:
    from aural.policy.checkpoint import save_trained
    from aural.policy.model import AudioPolicy
    from aural.rollouts.prompt_set import read_prompt_set
    from aural.training.sft import SFTSettings, read_examples, train_sft

    policy = AudioPolicy.from_pretrained(policy_dir)
    # fmt: off
    sft = SFTSettings(
        lr=settings.sft_lr, batch_size=settings.sft_batch, max_steps=settings.sft_max_steps, check_every=settings.sft_check_every,
        max_new_tokens=settings.max_new_tokens, seed=settings.seed
    )
    # fmt: on
    stop = train_sft(policy, read_examples(examples), read_prompt_set(validation), sft)
    save_trained(policy.model, policy_dir, folder / "model")
    last = stop.checks[-1] if stop.checks else {"step": 0, "format": 0.0}
    return {"steps": last["step"], "validation_format": last["format"], "checks": stop.checks}


def _select(folder: Path, policy: Path, prompts: Path, settings: DemoSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from aural.rollouts.engines import SamplingSettings
    from aural.rollouts.pool import pool_factory
    from aural.rollouts.run import run_rollouts
    from aural.rollouts.select import select_prompts

    folder.mkdir(parents=True)
    sampling = SamplingSettings(n=settings.selection_k, max_new_tokens=settings.max_new_tokens, seed=settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(policy)
    rollouts = run_rollouts(
        prompts,
        folder / "rollouts.jsonl",
        pool_factory("hf", str(policy), 1, 1, prompts_per_task=64),
        sampling,
        load_recipe(DEFAULT_RECIPE),
        tokenizer,
        progress=False,
    )
    low, high = settings.band
    chosen = select_prompts(folder / "rollouts.jsonl", 1, low, high, folder / "prompts.jsonl")
    k = settings.selection_k
    return {
        "prompts": rollouts.prompts,
        "k": k,
        "band": [low, high],
        "below": chosen.below,
        "inside": chosen.inside,
        "above": chosen.above,
        "mean_pass_at_1": round(sum(g.pass_at(1) for g in rollouts.groups) / len(rollouts.groups), 4),
        f"mean_pass_at_{k}": round(sum(g.pass_at(k) for g in rollouts.groups) / len(rollouts.groups), 4),
    }


def _ppo(folder: Path, policy: Path, prompts: Path, settings: DemoSettings, say: Callable[[str], None]) -> dict[str, Any]:
    from aural.policy.checkpoint import save_trained
    from aural.rollouts.prompt_set import read_prompt_set
    from aural.training.cpu_ppo import CPUPPO, CPUPPOSettings, train

    folder.mkdir(parents=True)
    records = read_prompt_set(prompts)
    if not records:
        raise AuralError("data selection kept no prompt: nothing to train PPO on", str(prompts))
    random.Random(settings.seed).shuffle(records)
    ppo = CPUPPO(
        policy,
        CPUPPOSettings(
            n=settings.ppo_samples,
            max_new_tokens=settings.max_new_tokens,
            actor_lr=settings.ppo_actor_lr,
            steps=settings.ppo_steps,
            recipe=DEFAULT_RECIPE,
        ),
        seed=settings.seed,
    )
    rows = train(
        ppo,
        records,
        settings.ppo_steps,
        settings.ppo_prompts_per_step,
        folder / "log.jsonl",
        lambda row: say(
            f"  ppo step {row['step']}: reward {row['mean_reward']:.3f} accuracy {row['mean_accuracy']:.3f} ({row['seconds']:.1f} s)"
        ),
    )
    save_trained(ppo.actor.model, policy, folder / "model")
    return {"steps": rows, "prompts": len(records)}


def evaluate_stage(policy: Path, heldout: Path, settings: DemoSettings) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy, mean reward and format rate on `heldout` with the clips, silence and shuffled
    clips, greedy and at temperature 1: ``{"greedy" | "temperature 1": {condition: {...}}}``."""
    from aural.rollouts.controls import audio_dependence
    from aural.rollouts.engines import HFEngine, SamplingSettings
    from aural.rollouts.prompt_set import read_prompt_set

    engine, records, recipe = HFEngine(policy), read_prompt_set(heldout), load_recipe(DEFAULT_RECIPE)
    results = {}
    for temperature in TEMPERATURES:
        sampling = SamplingSettings(n=1, max_new_tokens=settings.max_new_tokens, temperature=temperature, seed=settings.seed)
        conditions = audio_dependence(engine, records, recipe, sampling, CONDITIONS[1:], settings.seed)
        results[_decoding(temperature)] = {
            c.name: {
                "accuracy": round(c.accuracy, 4),
                "reward": round(c.mean_reward, 4),
                "format": round(c.components.get("format", 0.0), 4),
            }
            for c in conditions
        }
    engine.close()
    return results


def _decoding(temperature: float) -> str:
    return "greedy" if temperature == 0 else f"temperature {temperature:g}"


def _scaling(policy: Path, heldout: Path, settings: DemoSettings) -> list[dict[str, Any]]:
    from aural.rollouts.engines import HFEngine
    from aural.rollouts.prompt_set import read_prompt_set
    from aural.rollouts.scaling import scaling_curve

    engine = HFEngine(policy)
    rows = scaling_curve(engine, read_prompt_set(heldout), list(settings.scaling_budgets), 1, 12, settings.seed)
    engine.close()
    return rows


def check_bars(report: dict[str, Any], bars: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each bar's measured value, its bound and whether it holds."""
    greedy = {stage: report["evaluation"][stage]["greedy"] for stage in STAGES}
    sampled = report["evaluation"]["ppo"]["temperature 1"]
    measured = {
        "sft format": greedy["sft"]["audio"]["format"],
        "ppo accuracy": greedy["ppo"]["audio"]["accuracy"],
        "ppo accuracy at temperature 1": sampled["audio"]["accuracy"],
        "ppo - sft accuracy": greedy["ppo"]["audio"]["accuracy"] - greedy["sft"]["audio"]["accuracy"],
        "ppo silence accuracy (at most)": greedy["ppo"]["silence"]["accuracy"],
        "ppo shuffled accuracy (at most)": greedy["ppo"]["shuffled"]["accuracy"],
        "ppo audio - shuffled accuracy": greedy["ppo"]["audio"]["accuracy"] - greedy["ppo"]["shuffled"]["accuracy"],
    }
    return {
        name: {
            "value": round(measured[name], 4),
            "bound": bound,
            "holds": measured[name] <= bound if name.endswith("(at most)") else measured[name] >= bound,
        }
        for name, bound in bars.items()
    }


def demo_table(report: dict[str, Any]) -> str:
    """The stages x conditions table, the data each stage made, and the bars."""
    rows = [("stage", "decoding", "accuracy: audio", "silence", "shuffled", "reward (audio)", "format (audio)")]
    for stage in STAGES:
        for decoding, conditions in report["evaluation"][stage].items():
            rows.append(
                (
                    stage,
                    decoding,
                    *(f"{conditions[c]['accuracy']:.3f}" for c in CONDITIONS),
                    f"{conditions['audio']['reward']:.3f}",
                    f"{conditions['audio']['format']:.3f}",
                )
            )
    mgrd, sft, chosen, ppo = report["mgrd"], report["sft"], report["selection"], report["ppo"]
    steps, k = ppo["steps"], chosen["k"]
    lines = [
        plain_table(rows, "held-out clips, after each stage"),
        "",
        f"mgrd: kept {mgrd['kept']} of {mgrd['candidates']} chains "
        f"(rejected by {', '.join(f'{name} {count}' for name, count in mgrd['rejected_by'].items())})",
        f"sft: {sft['steps']} steps, validation format {sft['validation_format']:.3f}",
        f"selection: {chosen['inside']} of {chosen['prompts']} prompts kept, {chosen['below']} below and {chosen['above']} above the band "
        f"{chosen['band']} (pass@1 of {k} samples; mean pass@{k} {chosen[f'mean_pass_at_{k}']:.3f})",
        f"ppo: {len(steps)} steps on {ppo['prompts']} prompts, mean reward {steps[0]['mean_reward']:.3f} -> {steps[-1]['mean_reward']:.3f}",
        "scaling: " + ", ".join(f"budget {r['budget']}: {r['accuracy']:.3f}" for r in report["scaling"]),
        "",
        plain_table(
            [("bar", "measured", "bound", "holds")]
            + [
                (name, f"{bar['value']:.3f}", f"{bar['bound']:.2f}", "yes" if bar["holds"] else "NO")
                for name, bar in report["bars"].items()
            ]
        ),
        "",
        "seconds: " + ", ".join(f"{name} {seconds:.0f}" for name, seconds in report["seconds"].items()),
    ]
    return "\n".join(lines)


def plot_demo(report: dict[str, Any], path: Path) -> None:
    """Accuracy per stage and condition (greedy); reward, format and response length per PPO step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    for offset, condition in enumerate(CONDITIONS):
        values = [report["evaluation"][stage]["greedy"][condition]["accuracy"] for stage in STAGES]
        axes[0].bar([i + (offset - 1) * 0.27 for i in range(len(STAGES))], values, width=0.27, label=condition)
    axes[0].set(xticks=range(len(STAGES)), xticklabels=STAGES, ylim=(0, 1), title="held-out accuracy (greedy)")
    axes[0].legend(fontsize=8)
    steps = report["ppo"]["steps"]
    x = [row["step"] for row in steps]
    for axis, key, title in zip(
        axes[1:], ("mean_reward", "mean_format", "mean_response_tokens"), ("PPO reward", "PPO format rate", "PPO response tokens")
    ):
        axis.plot(x, [row[key] for row in steps], marker="o", markersize=2)
        axis.set(xlabel="PPO step", title=title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
