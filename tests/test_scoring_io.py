"""Batch scoring, the summary, the scored-sample JSONL contract and `aural score`."""

import json
import os
import subprocess
import sys

import pytest

from aural import Sample, Summary, load_recipe, score_batch
from aural.cli import main
from aural.rewards.recipe import RecipeError
from aural.rewards.scored_jsonl import score_jsonl
from conftest import CHOICES

RECIPE = load_recipe()
LABEL = {"answer": "B", "choices": CHOICES}


def test_batch_scores_in_order_whatever_the_thread_count():
    samples = [
        Sample(f"<think>Cry {i}.</think>({'AB'[i % 2]})", LABEL, "audio") if i % 3 else Sample(rf"\boxed{{{i}}}", str(i), "text")
        for i in range(64)
    ]
    one_by_one = [RECIPE.score(s).total for s in samples]
    assert [r.total for r in score_batch(RECIPE, samples, threads=4)] == one_by_one
    assert [r.total for r in score_batch(RECIPE, samples, threads=1)] == one_by_one


def test_summary_counts_reasons_per_component():
    results = score_batch(RECIPE, [Sample("<think>x</think>(B)", LABEL, "audio"), Sample("(A)", LABEL, "audio")])
    summary = Summary().add(results)
    assert summary.count == 2
    assert summary.mean_reward == pytest.approx(0.5)
    assert dict(summary.reasons["format"]) == {"ok": 1, "no_think": 1}
    table = summary.table("demo")
    assert table.splitlines()[0] == "demo"
    assert "no_think 1" in table


def write_lines(path, lines):
    path.write_text("".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines))


GOOD = {"id": "q1", "response": "<think>Cry.</think>(B)", "modality": "audio", "label": LABEL, "extra": [1, 2]}


def test_scored_lines_keep_unknown_fields_and_add_reward_and_components(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(source, [GOOD, {**GOOD, "id": "q2", "label": "B", "modality": "text", "response": "B"}])
    report = score_jsonl(source, target, RECIPE)
    first, second = [json.loads(line) for line in target.read_text().splitlines()]
    assert first["id"] == "q1" and first["extra"] == [1, 2] and first["label"] == LABEL
    assert first["reward"] == 1.0
    assert first["components"]["format"] == {"score": 1.0, "reason": "ok", "extracted": None}
    assert first["components"]["accuracy"] == {"score": 1.0, "reason": "ok", "extracted": "B"}
    assert second["reward"] == 1.0 and set(second["components"]) == {"accuracy"}
    assert (report.summary.count, report.errors) == (2, [])


def test_bad_lines_are_reported_by_line_and_field_and_the_rest_are_scored(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        GOOD,
        "{not json",
        {**GOOD, "label": {"answer": "B", "choices": "a, b"}},
        {k: v for k, v in GOOD.items() if k != "modality"},
        "",
        [1, 2],
        {**GOOD, "finish_reason": "eos"},
        GOOD,
    ]
    write_lines(source, lines)
    report = score_jsonl(source, target, RECIPE)
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "line"),
        (3, "label.choices"),
        (4, "modality"),
        (6, "line"),
        (7, "finish_reason"),
    ]
    assert str(report.errors[1]).startswith(f"{source}:3: label.choices: ")
    out = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(out) == 7  # one per non-blank input line
    assert [o["reward"] for o in out] == [1.0, None, None, None, None, None, 1.0]
    assert out[1] == {"raw": "{not json", "reward": None, "error": out[1]["error"]}
    assert out[2]["error"]["field"] == "label.choices"
    assert report.summary.count == 2


def test_deeply_nested_json_is_a_line_error_and_the_output_is_synced_before_it_appears(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_size))
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(source, [GOOD, "[" * 100_000, {**GOOD, "label": {"answer": "B", "choices": 5}}, GOOD])
    report = score_jsonl(source, target, RECIPE)
    assert [(e.line, e.field, e.message) for e in report.errors[:1]] == [(2, "line", "invalid JSON: nested too deeply")]
    assert [(e.line, e.field) for e in report.errors[1:]] == [(3, "label.choices")]
    assert [json.loads(line)["reward"] for line in target.read_text().splitlines()] == [1.0, None, None, 1.0]
    assert synced == [target.stat().st_size] and sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_a_sample_no_route_covers_is_a_line_error(tmp_path):
    audio_only = load_recipe({"route": {"audio": {"accuracy": {"verifier": "answer"}}}})
    source = tmp_path / "in.jsonl"
    write_lines(source, [{**GOOD, "modality": "text"}])
    report = score_jsonl(source, None, audio_only)
    assert [(e.line, e.field) for e in report.errors] == [(1, "modality")]


def test_cli_score_writes_output_and_signals_bad_lines(tmp_path, capsys):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(source, [GOOD])
    assert main(["score", str(source), "-o", str(target), "--no-progress"]) == 0
    assert json.loads(target.read_text())["reward"] == 1.0
    assert "reward" in capsys.readouterr().out
    write_lines(source, [GOOD, "{oops"])
    assert main(["score", str(source), "-o", str(target)]) == 1
    captured = capsys.readouterr()
    assert f"{source}:2: line: invalid JSON" in captured.err
    assert len(target.read_text().splitlines()) == 2


def test_cli_score_usage_errors(tmp_path, capsys):
    assert main(["score", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    assert main(["score", str(tmp_path)]) == 2  # a folder, not a file
    assert str(tmp_path) in capsys.readouterr().err
    source = tmp_path / "in.jsonl"
    write_lines(source, [GOOD])
    assert main(["score", str(source), "--recipe", "no-such-recipe"]) == 2
    assert "no-such-recipe: no shipped recipe of that name" in capsys.readouterr().err


def test_cli_debug_shows_bad_inputs_traceback_and_a_bug_is_never_bad_usage(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_lines(source, [GOOD])
    with pytest.raises(RecipeError) as raised:
        main(["--debug", "score", str(source), "--recipe", "no-such-recipe"])
    assert (raised.value.where, raised.value.field) == ("no-such-recipe", "")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug inside scoring")

    monkeypatch.setattr("aural.cli.score_jsonl", broken)
    with pytest.raises(RuntimeError, match="a bug inside scoring"):  # not exit 2: a bug is not the user's to fix
        main(["score", str(source)])


def test_cli_scores_the_bundled_examples_by_default(capsys):
    assert main(["score"]) == 0
    out = capsys.readouterr().out
    assert "scored with step-audio-r1" in out
    for reason in ("multiple_answers", "empty_think", "truncated", "wrong"):
        assert reason in out


def test_the_installed_command_writes_to_standard_output(tmp_path):
    source = tmp_path / "in.jsonl"
    write_lines(source, [GOOD])
    done = subprocess.run([sys.executable, "-m", "aural", "score", str(source), "-o", "-"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reward"] == 1.0
    assert "reward" in done.stderr  # the summary moves out of the way of the data
