"""Math-Verify's own public test suite, run through Aural's `math` verifier.

`corpus/math_verify_cases.jsonl` transcribes every (gold, prediction, expected) case of
huggingface/Math-Verify's tests (``tests/test_all.py``, ``test_boxed.py``,
``test_numina_cases.py``, ``test_open_thoughts.py``, ``test_strict.py``,
``test_yujianll.py``), each with the test it comes from and the math-verify options
that test passes (``extraction``, ``float_rounding``, ``strict``,
``allow_set_relation_comp``). The gold is the label and the prediction the response.

Deliberate disagreements go in `DISAGREE` with the reason; there are none today.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from aural.verifiers import Sample, make_verifier
from aural.verifiers.numeric import parse_number

CASES = [json.loads(line) for line in (Path(__file__).parent / "corpus" / "math_verify_cases.jsonl").open(encoding="utf-8")]
# Index in CASES -> why Aural scores it differently from math-verify.
DISAGREE: dict[int, str] = {}
# Some golds are whole worked solutions, longer than the verifier's default 1,000-character label limit.
MAX_CHARS = 10_000


def test_the_corpus_is_the_whole_suite():
    assert len(CASES) == 270
    assert Counter(case["expected"] for case in CASES) == {1: 232, 0: 38}
    assert all(set(case) == {"source", "gold", "prediction", "expected", "options"} for case in CASES)


@pytest.mark.slow
def test_aural_agrees_with_math_verify_on_its_own_suite():
    verifiers = {}
    disagreements = []
    for index, case in enumerate(CASES):
        key = json.dumps(case["options"], sort_keys=True)
        if key not in verifiers:
            verifiers[key] = make_verifier("math", max_chars=MAX_CHARS, timeout_s=30.0, **case["options"])
        verdict = verifiers[key](Sample(case["prediction"], case["gold"], "text"))
        if int(verdict.passed) != case["expected"] and index not in DISAGREE:
            disagreements.append((index, case["source"], case["gold"][:80], case["prediction"][-120:], verdict))
    agreed = len(CASES) - len(disagreements) - len(DISAGREE)
    assert not disagreements, f"{agreed}/{len(CASES)} agree; unexpected disagreements:\n" + "\n".join(map(str, disagreements))


def test_the_options_change_the_verdicts_they_should():
    """One case each where math-verify's option decides the verdict, both ways."""
    strict, loose = make_verifier("math"), make_verifier("math", strict=False)
    assert strict(Sample("$f(y)$", "$f(x)$", "text")).score == 0.0
    assert loose(Sample("$f(y)$", "$f(x)$", "text")).score == 1.0
    coarse = make_verifier("math", float_rounding=2)
    assert coarse(Sample("$(0.6,2.6667]$", r"$(\frac{3}{5},\frac{8}{3}]$", "text")).score == 1.0
    assert make_verifier("math")(Sample("$(0.6,2.6667]$", r"$(\frac{3}{5},\frac{8}{3}]$", "text")).score == 0.0
    relation = r"$-2 \le x \le 7$"
    as_set = make_verifier("math", allow_set_relation_comp=True)
    assert as_set(Sample(relation, r"$x \in [-2,7]$", "text")).score == 1.0
    assert make_verifier("math")(Sample(relation, r"$x \in [-2,7]$", "text")).score == 0.0
    latex_only = make_verifier("math", extraction=["latex"])
    assert latex_only(Sample("The total is 1 000 dollars", "1000", "text")).reason == "no_answer"
    assert make_verifier("math")(Sample("The total is 1 000 dollars", "1000", "text")).score == 1.0


@pytest.mark.parametrize(
    "options", [{"extraction": []}, {"extraction": ["regex"]}, {"extraction": "latex"}, {"float_rounding": -1}, {"float_rounding": 2.5}]
)
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        make_verifier("math", **options)


# The suite's cases whose gold is one number, through the `number` verifier (the gold, without
# its "$", is the label). Where math-verify's reading is not the number verifier's, on purpose:
NUMBER_DISAGREE = {
    2: "'1 000': a space between digit groups reads as two numbers, not as thousands",
    5: "'1000,99': a decimal comma is a list or a thousands separator in English answers",
    7: "'2,74': the same decimal comma",
    15: "'the number is 10 which is 1,000.99': an answer sentence gives its first number, not its last",
    17: "'0,111' as the gold: the same decimal comma",
    30: "'(9+1)': a number operated on is not that number, and prose is not evaluated",
    31: "a line-broken inline formula: math-verify's LaTeX rule; the number verifier reads plain text",
    32: "the same line-broken formula",
    104: "'x=1/3\\approx1.3': the approximation after the equation is read, as any final relation",
    126: "'0.3333' for 1/3: within math-verify's 4-decimal rounding; the number verifier's tolerance is rel_tol",
}


def test_the_number_verifier_on_the_suite_s_number_cases():
    check = make_verifier("number")
    numeric = [(index, case) for index, case in enumerate(CASES) if parse_number(plain(case["gold"])) is not None]
    disagreements = [
        index for index, case in numeric if int(check(Sample(case["prediction"], plain(case["gold"]), "text")).passed) != case["expected"]
    ]
    assert len(numeric) == 90
    assert sorted(disagreements) == sorted(NUMBER_DISAGREE)  # 80 of 90 agree


def plain(gold: str) -> str:
    """A gold number as a number label: without its math delimiters, ``\\%`` as ``%``."""
    return gold.strip("$ ").replace("\\%", "%")
