"""The report page: figures (matplotlib, Agg) and tables from a `StoreReport`, written as one
self-contained HTML file (figures embedded as base64 PNG; no script, no network) and the
same figures as PNG files beside it.

    aural report rollouts.jsonl -o report/
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from aural.files import atomic_write

from .report import StoreReport, bucket_label

DEFAULT_K = 8  # as `aural select`
DEFAULT_BAND = (0.125, 0.875)
FIGURES = ("rewards", "reasons", "pass_at_k", "reasoning_length", "truncation", "accuracy_by_group")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f4f4f4; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: 0.9em; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: 0.5em; border: 1px solid #eee; max-height: 14em; overflow: auto; }
"""


@dataclass(frozen=True)
class Written:
    """The files `write_report` wrote."""

    html: Path
    figures: tuple[Path, ...]


def write_report(report: StoreReport, folder: str | Path, k: int = DEFAULT_K, band: tuple[float, float] = DEFAULT_BAND) -> Written:
    """Write ``report.html`` and one PNG per figure into `folder`; `k` and `band` as `aural select` takes them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    k_used, passes = report.pass_k(k)
    figures = {
        "rewards": _rewards_figure(report),
        "reasons": _reasons_figure(report),
        "pass_at_k": _pass_figure(passes, k_used, band, k),
        "reasoning_length": _rate_figure(report.reasoning, f"reasoning length ({report.length_unit})", "accuracy"),
        "truncation": _rate_figure(report.truncation, f"response length ({report.length_unit})", "truncation rate"),
        "accuracy_by_group": _groups_figure(report),
    }
    images = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=96)
        images[name] = buffer.getvalue()
        (folder / f"{name}.png").write_bytes(images[name])
    page = folder / "report.html"
    with atomic_write(page) as out:
        out.write(_page(report, images, k_used, passes, band))
    return Written(page, tuple(folder / f"{name}.png" for name in FIGURES))


def _figure(width: float = 7.0, height: float = 3.2) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _rewards_figure(report: StoreReport) -> Figure:
    summary = report.summary
    names = ["reward", *summary.component_sums]
    means = [summary.mean_reward, *(summary.component_mean(n) for n in summary.component_sums)]
    figure = _figure()
    axes = figure.subplots()
    bars = axes.bar(names, means, color=["#4c72b0"] + ["#8fa9d6"] * (len(names) - 1))
    axes.bar_label(bars, fmt="%.3f")
    axes.set_ylabel("mean over scored samples")
    axes.set_title(f"reward and components ({summary.count} samples)")
    axes.set_ylim(0, max([1.0, *means]) * 1.15)
    return figure


def _reasons_figure(report: StoreReport) -> Figure:
    costs = report.reason_costs()[:12][::-1]
    figure = _figure(7.0, 0.6 + 0.3 * max(1, len(costs)))
    axes = figure.subplots()
    if not costs:
        axes.text(0.5, 0.5, "no failure reasons", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return figure
    bars = axes.barh([f"{name}: {reason}" for name, reason, _, _ in costs], [c[3] for c in costs], color="#c44e52")
    axes.bar_label(bars, labels=[f"n={c[2]}" for c in costs], padding=3, fontsize=8)
    axes.set_xlabel(f"reward missing (best reward {report.best_reward:g} minus each sample's, summed)")
    axes.set_title("which reasons cost the most reward")
    axes.margins(x=0.25)
    return figure


def _pass_figure(passes: list[float], k: int, band: tuple[float, float], asked: int) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    axes.axvspan(*band, color="#55a868", alpha=0.15, label=f"kept by aural select [{band[0]:g}, {band[1]:g}]")
    axes.hist(passes, bins=[i / 20 for i in range(21)], color="#4c72b0", edgecolor="white")
    axes.set_xlim(0, 1)
    axes.set_xlabel(f"pass@{k} per prompt")
    axes.set_ylabel("prompts")
    smaller = f" (asked for k={asked}; the smallest group has {k} samples)" if k != asked else ""
    axes.set_title(f"pass@{k} over {len(passes)} prompts{smaller}")
    axes.legend(loc="upper center", fontsize=8)
    return figure


def _rate_figure(rate, xlabel: str, ylabel: str) -> Figure:
    buckets = sorted(rate.total)
    figure = _figure()
    axes = figure.subplots()
    counts = axes.twinx()
    positions = range(len(buckets))
    counts.bar(positions, [rate.total[b] for b in buckets], color="#dddddd", zorder=0)
    counts.set_ylabel("samples", color="#888888")
    axes.set_zorder(counts.get_zorder() + 1)
    axes.patch.set_visible(False)
    axes.plot(positions, [rate.rate(b) for b in buckets], marker="o", color="#c44e52")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xticks(list(positions), [bucket_label(b) for b in buckets], rotation=30, fontsize=8)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(f"{ylabel} by {xlabel}")
    return figure


def _groups_figure(report: StoreReport) -> Figure:
    figure = _figure(8.0, 3.2)
    for axes, (title, rate) in zip(figure.subplots(1, 2), (("label kind", report.by_kind), ("modality", report.by_modality))):
        names = sorted(rate.total)
        bars = axes.bar(names, [rate.rate(n) for n in names], color="#8172b3")
        axes.bar_label(bars, labels=[f"n={rate.total[n]}" for n in names], fontsize=8)
        axes.set_ylim(0, 1.15)
        axes.set_title(f"accuracy by {title}")
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    return figure


def _table(table_id: str, header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f'<td class="n">{value:.4f}</td>'
    if isinstance(value, int):
        return f'<td class="n">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _img(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="fig-{name}"><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _page(report: StoreReport, images: dict[str, bytes], k: int, passes: list[float], band: tuple[float, float]) -> str:
    summary = report.summary
    low, high = band
    below = sum(p < low for p in passes)
    above = sum(p > high for p in passes)
    zero = report.zero_variance()
    sections = [
        f"<h1>Rollout report: {html.escape(report.path)}</h1>",
        _table(
            "summary",
            ["store", ""],
            [
                ["lines", report.lines],
                ["scored", summary.count],
                ["unscored (no reward)", report.unscored],
                ["unreadable", report.error_count],
                ["prompt groups", len(report.groups)],
                ["mean reward", summary.mean_reward],
                ["lengths in", report.length_unit],
            ],
        ),
        *(f'<pre class="error">{html.escape(e)}</pre>' for e in report.errors),
        "<h2>Reward and components</h2>",
        _img("rewards", images["rewards"], "mean reward and each component's mean score"),
        _table(
            "components",
            ["component", "samples", "mean", "reasons"],
            [
                [
                    name,
                    summary.component_counts[name],
                    summary.component_mean(name),
                    ", ".join(f"{r} {n}" for r, n in summary.reasons[name].most_common()),
                ]
                for name in summary.component_sums
            ],
        ),
        _img("reasons", images["reasons"], "reward missing on the samples carrying each failure reason"),
        _table("reasons", ["component", "reason", "samples", "reward missing"], [list(row) for row in report.reason_costs()]),
        "<h2>Prompt difficulty</h2>",
        _img(
            "pass_at_k",
            images["pass_at_k"],
            f"per-prompt pass@{k}; the shaded band is what aural select --k {k} --band {low:g} {high:g} keeps",
        ),
        _table(
            "pass_at_k",
            [f"pass@{k}", "prompts"],
            [[f"below {low:g}", below], [f"in [{low:g}, {high:g}] (kept)", len(passes) - below - above], [f"above {high:g}", above]],
        ),
        _table(
            "zero_variance",
            ["groups of 2+ with one reward for every sample (no GRPO/PPO signal)", "prompts"],
            [
                ["all right", zero["all right"]],
                ["all wrong", zero["all wrong"]],
                ["same reward, answers differ", zero["mixed"]],
                ["total", sum(zero.values())],
            ],
        ),
        "<h2>Length</h2>",
        _img("reasoning_length", images["reasoning_length"], "accuracy by reasoning length (bars: samples per length)"),
        _img("truncation", images["truncation"], "share of responses cut at the length limit, by response length"),
        "<h2>Accuracy by label kind and modality</h2>",
        _img("accuracy_by_group", images["accuracy_by_group"], "accuracy by label kind and by modality"),
        _table(
            "by_kind",
            ["label kind", "samples", "accuracy"],
            [[n, report.by_kind.total[n], report.by_kind.rate(n)] for n in sorted(report.by_kind.total)],
        ),
        _table(
            "by_modality",
            ["modality", "samples", "accuracy"],
            [[n, report.by_modality.total[n], report.by_modality.rate(n)] for n in sorted(report.by_modality.total)],
        ),
        "<h2>Examples per failure reason</h2>",
    ]
    for name, reason, count, _ in report.reason_costs():
        sections.append(f'<h3 class="reason">{html.escape(name)}: {html.escape(reason)} ({count} samples)</h3>')
        for example in report.examples[(name, reason)]:
            sections.append(
                f"<p>line {example.line}, {html.escape(example.id)}, reward {example.reward:g}</p>"
                f'<pre class="example">{html.escape(example.response)}</pre>'
            )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Rollout report: {html.escape(report.path)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
