"""`aural report`: the page holds every figure and table, embedded, with responses escaped;
its counts agree with `aural select` and the scorer; a real browser renders it."""

import base64
import json
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources

import pytest

from aural.cli import main
from aural.rewards.recipe import load_recipe
from aural.rewards.scored_jsonl import score_jsonl
from aural.rollouts.report import bucket_label, read_store
from aural.rollouts.report_page import FIGURES
from aural.rollouts.select import select_prompts

TABLES = ["summary", "components", "reasons", "pass_at_k", "zero_variance", "by_kind", "by_modality"]
HOSTILE = "<script>alert('x')</script><b>bold</b> & <think>"


class Page(HTMLParser):
    """What a browser would load and show: elements by tag, figure and table ids, image sources, example texts."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.ids, self.sources, self.examples = [], {}, {}, []
        self._figure, self._in_example = None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids[attrs["id"]] = tag
        if tag == "figure":
            self._figure = attrs.get("id")
        if tag == "img":
            self.sources[self._figure] = attrs["src"]
        if tag == "pre" and attrs.get("class") == "example":
            self._in_example = True
            self.examples.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_example = False

    def handle_data(self, data):
        if self._in_example:
            self.examples[-1] += data


@pytest.fixture(scope="module")
def scored_examples(tmp_path_factory):
    """The bundled example rollouts, scored, after one line whose response is hostile HTML."""
    folder = tmp_path_factory.mktemp("examples")
    source = folder / "rollouts.jsonl"
    lines = (resources.files("aural.examples") / "rollouts.jsonl").read_text(encoding="utf-8")
    hostile = {"id": "hostile-1-s0", "prompt": "", "response": HOSTILE, "modality": "text", "label": "42", "finish_reason": "stop"}
    source.write_text(json.dumps(hostile) + "\n" + lines, encoding="utf-8")  # first: an example of its reasons
    score_jsonl(source, folder / "scored.jsonl", load_recipe())
    return folder / "scored.jsonl"


@pytest.fixture(scope="module")
def rendered(scored_examples):
    out = scored_examples.parent / "report"
    assert main(["report", str(scored_examples), "-o", str(out)]) == 0
    return out


def test_the_page_holds_every_figure_and_table_embedded(rendered):
    page = Page((rendered / "report.html").read_text(encoding="utf-8"))
    assert [page.ids.get(f"fig-{name}") for name in FIGURES] == ["figure"] * len(FIGURES)
    assert [page.ids.get(name) for name in TABLES] == ["table"] * len(TABLES)
    for name in FIGURES:  # each image is the PNG written beside the page, inline
        source = page.sources[f"fig-{name}"]
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]) == (rendered / f"{name}.png").read_bytes()
        assert (rendered / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not {"script", "link", "iframe", "object"} & set(page.tags)  # nothing runs, nothing is fetched


def test_example_responses_are_escaped(rendered):
    text = (rendered / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    assert HOSTILE in page.examples  # shown as text, under its failure reason
    assert "<script>" not in text and "<b>bold" not in text
    assert "script" not in page.tags and "b" not in page.tags


def test_the_counts_match_the_scorer(scored_examples):
    report = read_store(scored_examples)
    summary = score_jsonl(scored_examples, None, load_recipe()).summary
    assert (report.lines, report.summary.count, report.unscored, report.error_count) == (39, 39, 0, 0)
    assert report.summary.mean_reward == pytest.approx(summary.mean_reward)
    assert dict(report.summary.reasons["accuracy"]) == dict(summary.reasons["accuracy"])
    assert len(report.groups) == 13  # grouped by id less the -s<N> suffix: sound-1, emotion-1, …, hostile-1
    assert report.length_unit == "characters"
    assert set(report.by_modality.total) == {"audio", "text"}
    assert {"choice", "math", "number", "text", "asr"} <= set(report.by_kind.total)
    costs = {(name, reason): missing for name, reason, _, missing in report.reason_costs()}
    assert costs[("accuracy", "wrong")] == max(costs.values())


def store_line(prompt, index, samples, reward, accuracy, reason="ok"):
    return {
        "id": f"{prompt}-s{index}",
        "prompt_id": prompt,
        "sample_index": index,
        "samples": samples,
        "source": {"id": prompt},
        "response": f"<think>r{index}</think>(B)",
        "modality": "audio",
        "label": "B",
        "finish_reason": "length" if reason == "truncated" else "stop",
        "reward": reward,
        "components": {
            "accuracy": {"score": accuracy, "reason": "ok" if accuracy else "wrong"},
            "format": {"score": 1.0 if reason == "ok" else 0.0, "reason": reason},
        },
        "reasoning_tokens": 4 * index,
        "response_tokens": 4 * index + 3,
    }


def test_the_band_is_the_one_aural_select_keeps(tmp_path):
    lines = []
    for prompt, right in [("all-right", 8), ("all-wrong", 0), ("one", 1), ("half", 4), ("seven", 7), ("most", 6)]:
        lines += [store_line(prompt, i, 8, 1.0 if i < right else 0.0, float(i < right)) for i in range(8)]
    store = tmp_path / "rollouts.jsonl"
    store.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = read_store(store)
    chosen = select_prompts(store, 4, 0.125, 0.875, tmp_path / "kept.jsonl")
    k, passes = report.pass_k(4)
    assert k == 4
    assert (sum(p < 0.125 for p in passes), sum(p > 0.875 for p in passes)) == (chosen.below, chosen.above)
    assert report.zero_variance() == {"all right": 1, "all wrong": 1}
    assert report.length_unit == "tokens"
    assert main(["report", str(store), "-o", str(tmp_path / "out"), "--k", "4"]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert f'<td>in [0.125, 0.875] (kept)</td><td class="n">{chosen.inside}</td>' in page


def test_reason_costs_and_truncation(tmp_path):
    lines = [
        store_line("p", 0, 4, 1.0, 1.0),
        store_line("p", 1, 4, 0.8, 1.0, "empty_think"),
        store_line("p", 2, 4, 0.0, 1.0, "truncated"),
        {**store_line("p", 3, 4, 0.2, 0.0), "response": "x" * 5000},
    ]
    store = tmp_path / "rollouts.jsonl"
    store.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = read_store(store)
    assert [row[:3] for row in report.reason_costs()] == [
        ("format", "truncated", 1),
        ("accuracy", "wrong", 1),
        ("format", "empty_think", 1),
    ]
    assert [round(row[3], 6) for row in report.reason_costs()] == [1.0, 0.8, 0.2]
    (long,) = report.examples[("accuracy", "wrong")]
    assert (long.line, long.id, long.response) == (4, "p-s3", "x" * 1200 + " […]")
    rates = {bucket_label(b): report.truncation.rate(b) for b in sorted(report.truncation.total)}
    assert rates == {"2-3": 0.0, "4-7": 0.0, "8-15": 0.5}  # response tokens 3, 7, 11 (cut at the limit) and 15


def test_unreadable_and_unscored_lines(tmp_path, capsys):
    store = tmp_path / "mixed.jsonl"
    good = store_line("p", 0, 1, 1.0, 1.0)
    store.write_text(json.dumps(good) + "\n{not json\n[1]\n" + json.dumps({**good, "reward": None}) + "\n\n")
    report = read_store(store)
    assert (report.lines, report.summary.count, report.unscored, report.error_count) == (4, 1, 1, 2)
    assert report.errors[0].startswith(f"{store}:2: ") and report.errors[1].startswith(f"{store}:3: expected a JSON object")
    assert main(["report", str(store), "-o", str(tmp_path / "out")]) == 0
    assert f"{store}:2:" in capsys.readouterr().err
    unscored = tmp_path / "unscored.jsonl"
    unscored.write_text(json.dumps({"id": "a", "response": "(B)", "label": "B", "modality": "text"}) + "\n")
    assert main(["report", str(unscored)]) == 2
    assert "aural score" in capsys.readouterr().err


@pytest.mark.slow
def test_chromium_renders_the_page_with_its_figures(rendered, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "make setup installs chromium"
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            (rendered / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    bar_blue = (abs(pixels - [0x4C / 255, 0x72 / 255, 0xB0 / 255]).max(axis=-1) < 0.02).sum()
    assert bar_blue > 2000  # the reward bar of the first figure: the embedded PNG was decoded and drawn
