"""math: math-verify equivalence behind a hard timeout in killable workers."""

import subprocess
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import check_verifier
from aural.verifiers import Sample, make_verifier, math_pool
from aural.verifiers.math_answer import MathEquivalence
from aural.verifiers.math_pool import MathPool, MathResult

MATH = make_verifier("math")


def text(response, label):
    return Sample(response, label, "text")


@pytest.mark.parametrize(
    "answer, label",
    [
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{\dfrac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{0.5}", r"\frac{1}{2}"),
        (r"\boxed{\frac12}", r"\frac{1}{2}"),
        (r"\boxed{\cfrac{1}{3}}", r"\frac{1}{3}"),
        (r"\boxed{0.\overline{3}}", r"\frac{1}{3}"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{1}{\sqrt{2}}"),
        (r"\boxed{1 + x^2}", "x^2+1"),
        (r"\boxed{(1, 2)}", r"\left(1,2\right)"),
        (r"The answer is $2\pi$.", r"2\pi"),
        (r"So we get $x = 3$.", "3"),
        (r"<answer>\sqrt{8}</answer>", r"2\sqrt{2}"),
        (r"\boxed{12}", "12"),
        # Issue 12: forms models write that must score
        (r"\boxed{\$16386.17}", "16386.17"),
        ("Final Answer: The final answer is 7.78. I hope it is correct.", "7.78"),
        ("Final Answer: The final answer is $24$. I hope it is correct.", "24"),
        (r"\boxed{14{,}916}", "14916"),
        (r"\boxed{16,\!386.20}", "16386.20"),
        ("\\boxed{\\begin{pmatrix} 1 \\\\\n 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\\n 2 \\end{pmatrix}"),
        ("\\boxed{\\begin{bmatrix} 1 & 0 \\\\\n 0 & 1 \\end{bmatrix}}", r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}"),
        (r"The roots are \boxed{2} and \boxed{3}.", "2, 3"),
        (r"The roots are \boxed{2} and \boxed{3}.", r"\{2, 3\}"),
        (r"\boxed{\frac{1}{2}} = \boxed{0.5}", r"\frac{1}{2}"),
        (r"$\boxed{3}$, or equivalently $\frac{6}{2}$", "3"),
        (r"\boxed 4", "4"),
    ],
)
def test_equivalent_answers(answer, label):
    verdict = MATH(text(f"<think>Work it out.</think>{answer}", label))
    assert (verdict.score, verdict.reason) == (1.0, "ok"), verdict


@pytest.mark.parametrize(
    "answer, label, reason",
    [
        (r"\boxed{\frac{1}{3}}", r"\frac{1}{2}", "wrong"),
        (r"\boxed{13}", "12", "wrong"),
        (r"\boxed{2\sqrt{3}}", r"2\sqrt{2}", "wrong"),
        (r"\boxed{1} or \boxed{2}", "1", "multiple_answers"),
        ("I could not solve it.", "1", "no_answer"),
        ("", "1", "no_answer"),
        (r"\boxed{" + "1+" * 600 + "1}", "1201", "too_long"),
        (r"\boxed{1}", r"\frac{", "bad_label"),
    ],
)
def test_rejected_answers(answer, label, reason):
    verdict = MATH(text(f"<think>Work it out.</think>{answer}", label))
    assert (verdict.score, verdict.reason) == (0.0, reason), verdict


def test_the_same_answer_boxed_twice_is_one_answer():
    assert MATH(text(r"<think>.</think>\boxed{1/2}, that is \boxed{ 1/2 }", r"\frac{1}{2}")).score == 1.0


@pytest.mark.slow
def test_a_never_ending_answer_times_out_and_the_pool_recovers():
    pool = MathPool(workers=2)
    try:
        start = time.perf_counter()
        result = pool.check("$1$", r"$9^{9^{9^{9}}}$", timeout_s=1.0)
        elapsed = time.perf_counter() - start
        assert result.status == "timeout"
        assert elapsed < 1.0 + 2.0  # killed, not waited for
        # Both workers serve again, in parallel, with correct answers.
        with ThreadPoolExecutor(4) as threads:
            results = list(threads.map(lambda n: pool.check(f"${n}$", f"$\\frac{{{2 * n}}}{{2}}$", 30), range(8)))
        assert [r.status for r in results] == ["ok"] * 8
    finally:
        pool.close()


class FakeWorker:
    """A worker in this process: answers ``ok`` at once, never answers "hang"; starting fails while `failing`."""

    failing = False
    stopped = 0

    def __init__(self):
        if FakeWorker.failing:
            raise OSError("no more processes")
        self.process = types.SimpleNamespace(poll=lambda: None)
        self.reply = None

    def wait_ready(self):
        pass

    def send(self, gold, prediction, options):
        self.reply = None if prediction == "hang" else ("ok", prediction)

    def read(self, timeout_s):
        return self.reply

    def stop(self):
        FakeWorker.stopped += 1


def test_a_pool_that_cannot_start_workers_answers_crashed_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(math_pool, "_Worker", FakeWorker)
    pool = MathPool(workers=1)
    try:
        monkeypatch.setattr(FakeWorker, "failing", True)
        assert pool.check("$1$", "hang", 1.0).status == "timeout"  # the spare takes over; no new spare
        pool.settle()
        assert pool.check("$1$", "$1$", 1.0).status == "ok"
        assert pool.check("$1$", "hang", 1.0).status == "timeout"  # no spare, no worker: the place is empty
        pool.settle()
        for _ in range(3):
            assert pool.check("$1$", "$1$", 1.0).status == "crashed"
            pool.settle()
        monkeypatch.setattr(FakeWorker, "failing", False)
        assert pool.check("$1$", "$1$", 1.0).status == "crashed"  # and a worker starts in its place
        pool.settle()
        assert pool.check("$1$", "$1$", 1.0) == MathResult("ok", "$1$")
    finally:
        pool.close()


def test_workers_started_before_a_failed_start_are_stopped(monkeypatch):
    class ThirdFails(FakeWorker):
        started = 0

        def __init__(self):
            ThirdFails.started += 1
            if ThirdFails.started == 3:
                raise OSError("no more processes")
            super().__init__()

    monkeypatch.setattr(math_pool, "_Worker", ThirdFails)
    monkeypatch.setattr(FakeWorker, "stopped", 0)
    with pytest.raises(OSError):
        MathPool(workers=4)
    assert FakeWorker.stopped == 2


def test_stopping_a_dead_worker_with_unsent_input_does_not_raise():
    worker = object.__new__(math_pool._Worker)
    worker.process = subprocess.Popen([sys.executable, "-c", ""], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    worker.process.wait()
    with pytest.raises(BrokenPipeError):
        worker.send("$1$", "$1$", {})
    worker.stop()


def test_timeout_reaches_the_verdict():
    quick = make_verifier("math", timeout_s=1.0)
    started = time.monotonic()
    verdict = quick(text(r"<think>.</think>\boxed{9^{9^{9^{9}}}}", "1"))
    assert (verdict.score, verdict.reason) == (0.0, "timeout")
    assert time.monotonic() - started < 3.0


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        make_verifier("math", timeout_s=0)


@pytest.mark.slow
def test_properties():
    check_verifier(MATH, max_examples=100)


# --- Issue 12: forms that must score and hedges that must not ---------------------------------


@pytest.mark.parametrize(
    "answer, label, reason",
    [
        (r"\boxed 4 then \boxed{3}", "3", "multiple_answers"),
        (r"Either $4$ or $\boxed{3}$", "3", "multiple_answers"),
        (r"\boxed{3 \text{ (or 4)}}", "3", "multiple_answers"),
        (r"$\boxed{4}$, or maybe $5$", "4", "multiple_answers"),
        (r"\boxed{\sqrt{5}}", "5", "wrong"),
        (r"\boxed{5!}", "5", "wrong"),
        (r"\boxed{\frac{1+\sqrt5}{2}}", "2", "wrong"),
        (r"The roots are \boxed{2} and \boxed{3}.", "2", "multiple_answers"),
        (r"$\boxed{5}$, or maybe $450$", "5", "multiple_answers"),  # the box's digits recur in the other value
    ],
)
def test_issue_hedges_and_operations_do_not_score(answer, label, reason):
    verdict = MATH(text(f"<think>Work it out.</think>{answer}", label))
    assert (verdict.score, verdict.reason) == (0.0, reason), verdict


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(
        [
            r"Either ${other}$ or $\boxed{{{boxed}}}$",
            r"$\boxed{{{boxed}}}$, or maybe ${other}$",
            r"\boxed{{{boxed} \text{{ (or {other})}}}}",
            r"\boxed{{{boxed}}} or perhaps \boxed{{{other}}}",
            r"\boxed {boxed} and \boxed{{{other}}}",
        ]
    ),
)
def test_a_box_offered_beside_another_value_is_a_hedge(boxed, other, form):
    if boxed == other:
        return
    verdict = MATH(text("<think>.</think>" + form.format(boxed=boxed, other=other), str(boxed)))
    assert (verdict.score, verdict.reason) == (0.0, "multiple_answers"), verdict


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**5), st.sampled_from([1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 100]))
def test_one_value_in_two_forms_is_one_answer(numerator, denominator):
    decimal = str(Fraction(numerator, denominator).numerator / Fraction(numerator, denominator).denominator)
    answer = rf"\boxed{{\frac{{{numerator}}}{{{denominator}}}}} = \boxed{{{decimal}}}"
    assert MATH(text("<think>.</think>" + answer, rf"\frac{{{numerator}}}{{{denominator}}}")).score == 1.0


def test_math_verify_options_default_to_math_verify_s_own():
    check = make_verifier("math")
    assert check.options == {"extraction": ["latex", "expr"], "float_rounding": 6, "strict": True, "allow_set_relation_comp": False}
    assert "ok" in MathEquivalence.REASONS and "timeout" in MathEquivalence.REASONS
