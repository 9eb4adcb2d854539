"""PPO on this machine's CPU: the tiny audio policy learns a toy reward in minutes.

Aural's rollouts and reward, OpenRLHF's actor, GAE, policy loss and value loss,
and Aural's audio critic (see `aural.training.cpu_ppo`). The default reward is
the shipped `cpu-toy` recipe (reasoning that names an acoustic cue), one a random
policy finds by chance; pass `--recipe step-audio-r1` for the real one.

    python recipes/ppo_cpu.py [PROMPTS.jsonl] -o OUT [--policy DIR] [--steps 30]
        [--prompts-per-step 4] [-n 8] [--max-new-tokens 24] [--recipe NAME|TOML]

writes OUT/log.jsonl (a line per step, as it finishes) and OUT/ppo.png (mean
reward, accuracy and response length per step), and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aural.policy.tiny import tiny_policy
from aural.rollouts.prompt_set import read_prompt_set
from aural.table import plain_table
from aural.training.cpu_ppo import CPUPPO, CPUPPOSettings, train

HERE = Path(__file__).resolve().parent
DEFAULT_PROMPTS = HERE.parent / "examples" / "prompts.jsonl"
TOY_REWARD = "cpu-toy"
PLOTTED = (("mean_reward", "mean reward", 1.0), ("mean_accuracy", "accuracy", 1.0), ("mean_response_tokens", "response tokens", None))


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(PLOTTED), figsize=(4 * len(PLOTTED), 3.5))
    steps = [row["step"] for row in rows]
    for axis, (key, label, top) in zip(axes, PLOTTED):
        values = [row[key] for row in rows]
        axis.plot(steps, values, marker="o", markersize=3)
        axis.set(xlabel="PPO step", title=label, ylim=(0, top or max(values) * 1.1 or 1))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "prompts", type=Path, nargs="?", default=DEFAULT_PROMPTS, help="a prompt set (default: the bundled audio questions)"
    )
    parser.add_argument("-o", "--out", type=Path, required=True, help="a new folder for the log and the plot")
    parser.add_argument("--policy", help="a local model folder (default: the tiny policy)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--prompts-per-step", type=int, default=4)
    parser.add_argument("-n", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--recipe", default=TOY_REWARD, help="a reward recipe name or TOML path")
    parser.add_argument("--actor-lr", type=float, default=CPUPPOSettings.actor_lr)
    parser.add_argument("--critic-lr", type=float, default=CPUPPOSettings.critic_lr)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    log = args.out / "log.jsonl"
    if log.exists():
        parser.error(f"{log} exists: give a new folder")
    records = read_prompt_set(args.prompts)
    settings = CPUPPOSettings(
        n=args.n, max_new_tokens=args.max_new_tokens, recipe=args.recipe, actor_lr=args.actor_lr, critic_lr=args.critic_lr, steps=args.steps
    )
    ppo = CPUPPO(args.policy or tiny_policy(), settings, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = train(
        ppo,
        records,
        args.steps,
        args.prompts_per_step,
        log,
        lambda row: print(f"step {row['step']}: reward {row['mean_reward']:.3f}  ({row['seconds']:.1f} s)", file=sys.stderr),
    )
    plot(rows, args.out / "ppo.png", f"PPO on {Path(str(args.policy or 'the tiny policy')).name}, reward {Path(args.recipe).stem}")
    table = [("step", "mean reward", "accuracy", "response tokens", "policy loss", "value loss")]
    table += [
        (
            str(r["step"]),
            f"{r['mean_reward']:.3f}",
            f"{r['mean_accuracy']:.3f}",
            f"{r['mean_response_tokens']:.1f}",
            f"{r['policy_loss']:.4f}",
            f"{r['value_loss']:.4f}",
        )
        for r in rows
    ]
    print(plain_table(table, f"PPO on CPU: {args.steps} steps x {args.prompts_per_step} prompts x {args.n} samples"))
    print(f"\nwrote {log} and {args.out / 'ppo.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
