"""The regression corpus: answer forms seen in public evaluation outputs of audio LLMs
(MMAU, MMAR, AIR-Bench, AudioBench runs of Qwen2-Audio, R1-AQA, Audio-Reasoner,
Qwen3-Omni, Step-Audio-R1), forms other benchmarks' answer parsers were written for, and
the hacks of issue 12, each transcribed as response -> expected score and reason.

`tests/corpus/real_forms.toml` holds the cases; every one runs here.
"""

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from aural.verifiers import Sample, make_verifier

CORPUS = tomllib.loads((Path(__file__).parent / "corpus" / "real_forms.toml").read_text("utf-8"))
SOURCES = set(CORPUS["sources"])
VERIFIERS = {kind: make_verifier(kind) for kind in ("choice", "text", "asr", "think_format")}


def label_of(case):
    if case["verifier"] == "choice":
        return {"answer": case["label"], "choices": CORPUS["choices"][case["choices"]]}
    if case["verifier"] == "asr":
        return {"answer": case["label"], "kind": "asr"}
    return {"answer": case["label"], "kind": "text"} if case["verifier"] == "text" else case["label"]


@pytest.mark.parametrize("case", CORPUS["case"], ids=lambda case: f"{case['verifier']}-{case['source']}-{case['response'][:40]}")
def test_every_case_scores_as_transcribed(case):
    verdict = VERIFIERS[case["verifier"]](Sample(case["response"], label_of(case), "audio"))
    expected = case.get("score", 1.0 if case["reason"] == "ok" else 0.0)
    assert (verdict.reason, verdict.score) == (case["reason"], pytest.approx(expected, abs=1e-3)), verdict


def test_the_corpus_is_tagged_and_covers_every_verifier():
    cases = CORPUS["case"]
    assert {case["source"] for case in cases} <= SOURCES
    by_verifier = Counter(case["verifier"] for case in cases)
    assert set(by_verifier) == set(VERIFIERS) and len(cases) >= 150
    assert len({(case["verifier"], case["response"], str(case["label"])) for case in cases}) == len(cases), "duplicate cases"
