"""The number and math verifiers on a regression corpus of real answer forms.

`corpus/answer_forms.jsonl` is this project's transcription of the forms audio and
math models write (each row tagged with the kind of source it imitates): short
answers of Qwen2-Audio-style models on MMAU counting questions, R1-AQA answer tags,
Audio-Reasoner's structured sections, Gemini / GPT-4o-audio sentences, AudioBench
open answers, Step-Audio-R1's Chinese and Japanese answers, open-r1 boxed answers,
the Minerva / lm-eval and Llama "final answer" templates, and the hacks of issue 12
beside their honest twins. Each row names the verifier, the response, the label,
the question (prompt) and the reason the verdict must give.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from aural.verifiers import Sample, make_verifier
from aural.verifiers.math_answer import MathEquivalence
from aural.verifiers.number import NumberMatch

ROWS = [json.loads(line) for line in (Path(__file__).parent / "corpus" / "answer_forms.jsonl").open(encoding="utf-8")]
VERIFIERS = {"number": make_verifier("number"), "math": make_verifier("math")}
REASONS = {"number": NumberMatch.REASONS, "math": MathEquivalence.REASONS}


def test_the_corpus_covers_both_verifiers_and_every_source_kind():
    per_verifier = Counter(row["verifier"] for row in ROWS)
    assert per_verifier["number"] >= 80 and per_verifier["math"] >= 35
    kinds = {row["source"].split("/")[0] for row in ROWS}
    assert {
        "audio-llm",
        "r1-aqa",
        "audio-reasoner",
        "gemini",
        "gpt-4o-audio",
        "audiobench",
        "step-audio-r1",
        "open-r1",
        "minerva",
        "llama",
        "hack",
        "honest",
    } <= kinds
    assert all(row["expected"] in REASONS[row["verifier"]] for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{row['source']}" for i, row in enumerate(ROWS)])
def test_every_form_scores_as_it_should(row):
    verdict = VERIFIERS[row["verifier"]](Sample(row["response"], row["label"], "audio", prompt=row["prompt"]))
    assert verdict.reason == row["expected"], verdict
    assert verdict.score == (1.0 if row["expected"] == "ok" else 0.0)


def test_no_number_or_math_hack_out_earns_its_honest_twin():
    from aural.rewards.audit import load_catalogue, run_audit
    from aural.rewards.recipe import load_recipe

    patterns = [p for p in load_catalogue() if p.name.startswith(("number_", "math_"))]  # `aural audit`'s own catalogue
    findings = run_audit(load_recipe(), patterns)
    assert len(findings) == 19
    assert [(f.pattern.name, f.status) for f in findings if f.status != "ok"] == []
