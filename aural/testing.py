"""Property testing for verifiers: Hypothesis strategies for model responses and
`check_verifier`, which asserts what every verifier owes its callers.

    from aural.testing import check_verifier
    from aural.verifiers import make_verifier

    def test_my_verifier():
        check_verifier(make_verifier("my_verifier"))

Needs the ``hypothesis`` package (``pip install aural[test]``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aural.verifiers import Label, Sample, Verdict

CHOICES = ("a dog barking", "a cat meowing", "rain on a roof", "a car engine")
LABELS = (
    Label("B", ("狗叫", "猫叫", "雨声", "汽车发动机")),
    Label("今天天气很好", kind="asr"),
    Label("B", CHOICES),
    Label("rain on a roof", CHOICES),
    Label("42"),
    Label("3.5 kg", kind="number"),
    Label(r"\frac{1}{2}"),
    Label("x^2 + 1", kind="math"),
    Label("a bell"),
    Label("the quick brown fox jumps over the lazy dog", kind="asr"),
)
# Fragments that parsers trip over: tags, markers, brackets, numbers, LaTeX.
FRAGMENTS = (
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "\\boxed{",
    "\\fbox{",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "(B)",
    "B",
    "A",
    "**C**",
    "D.",
    "answer is ",
    "Answer: ",
    "The final answer is ",
    "#### ",
    "option ",
    "a cat meowing",
    "rain",
    "42",
    "1,024",
    "-3.5",
    "3/4",
    "50%",
    "1e999",
    "9^{9^{9^{9}}}",
    "\\frac{1}{2}",
    "$",
    "$$",
    "\\(",
    "\\)",
    "x^2",
    " or ",
    ", ",
    ". ",
    "\n",
    "\t",
    " ",
    "\u200b",
    "\u00e9",
    "\u4e2d",
    "\U0001f3b5",
    "\u0392",
    "\uff22",
    "\U0001d400",
    "\u202e",
    "\u3164",
    "\u2800",
    "\u0336",
    "答案是",
    "选",
    "（Ｂ）",
    "<!--",
    "Note to the grader: ",
)
# Unicode a policy can hide a hedge or a mark in: letters that look like A–D (Greek,
# Cyrillic, Cherokee, Lisu, fullwidth, mathematical, circled, enclosed), invisible and
# bidi marks, blank fillers, combining decorations, and CJK answer markers and punctuation.
LOOK_ALIKES = (
    "\u0391",
    "\u0392",
    "\u0410",
    "\u0412",
    "\u0421",
    "\u13aa",
    "\ua4d0",
    "\u1d00",
    "\uff21",
    "\uff22",
    "\uff43",
    "\U0001d400",
    "\U0001d401",
    "\U0001d5d6",
    "\u24b6",
    "\u24d1",
    "\U0001f170",
    "\U0001f1e7",
)
INVISIBLES = (
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200f",
    "\u2800",
    "\u3164",
    "\u115f",
    "\u1160",
    "\uffa0",
    "\ufe0f",
    "\U000e0041",
)
DECORATIONS = ("\u0336", "\u0332", "\u0301", "\u20dd", "\u0338")
CJK_FORMS = ("答案是", "答案：", "选", "正确答案是", "选项", "答えは", "です", "。", "，", "（", "）", "：", "不是", "猫叫", "雨声", "１２")
REASONING_WORDS = (
    "the",
    "pitch",
    "rises",
    "then",
    "falls",
    "a",
    "low",
    "hum",
    "in",
    "background",
    "two",
    "beeps",
    "timbre",
    "is",
    "bright",
    "so",
    "it",
    "sounds",
    "like",
    "rain",
    "not",
    "speech",
)


def reasonings() -> st.SearchStrategy[str]:
    """Plausible reasoning text: words about what was heard."""
    return st.lists(st.sampled_from(REASONING_WORDS), min_size=0, max_size=40).map(" ".join)


def final_answers() -> st.SearchStrategy[str]:
    """A final answer in one of the forms models write."""
    target = st.sampled_from(["A", "B", "C", "D", "42", "1,024", "rain on a roof", r"\frac{1}{2}", "a bell", "3.5"])
    forms = st.sampled_from(["{}", "({})", "{}.", "**{}**", "\\boxed{{{}}}", "<answer>{}</answer>", "Answer: {}", "The answer is {}."])
    return st.builds(lambda form, value: form.format(value), forms, target)


def adversarial_unicode() -> st.SearchStrategy[str]:
    """Final answers dressed in look-alike letters, invisible and bidi marks, decorations
    and CJK markers: what a policy hunting for a loophole in the reading of letters writes."""
    piece = st.one_of(
        st.sampled_from(LOOK_ALIKES),
        st.sampled_from(INVISIBLES),
        st.sampled_from(DECORATIONS),
        st.sampled_from(CJK_FORMS),
        st.sampled_from(["A", "B", "C", "D", "(B)", " or ", " ", "not ", "answer is "]),
    )
    answer = st.lists(piece, min_size=1, max_size=30).map("".join)
    reasoning = st.one_of(reasonings(), st.lists(st.sampled_from(INVISIBLES), max_size=20).map("".join))
    return st.builds(lambda r, a: f"<think>{r}</think>{a}", reasoning, answer)


def well_formed() -> st.SearchStrategy[str]:
    """``<think>reasoning</think>answer``."""
    return st.builds(lambda r, a: f"<think>{r}</think>{a}", reasonings(), final_answers())


def hedged() -> st.SearchStrategy[str]:
    """Answers that name several options or values."""
    return st.builds(
        lambda r, answers, joiner: f"<think>{r}</think>" + joiner.join(answers),
        reasonings(),
        st.lists(final_answers(), min_size=2, max_size=4),
        st.sampled_from([" or ", ", ", " and maybe ", " \n"]),
    )


def tag_soups() -> st.SearchStrategy[str]:
    """Random sequences of tags, markers, brackets and numbers."""
    return st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=60).map("".join)


def very_long() -> st.SearchStrategy[str]:
    """A fragment repeated into tens of thousands of characters, inside or after a think block."""
    return st.builds(
        lambda fragment, times, where: where.format(fragment * times),
        st.sampled_from(FRAGMENTS),
        st.integers(1_000, 20_000),
        st.sampled_from(["{}", "<think>{}</think>B", "<think>ok</think>{}", "<think>{}"]),
    )


def responses() -> st.SearchStrategy[str]:
    """Any of: well-formed, hedged, adversarial unicode, tag soup, arbitrary unicode, very long."""
    return st.one_of(well_formed(), hedged(), adversarial_unicode(), tag_soups(), st.text(), very_long())


def samples(labels: st.SearchStrategy[Label] | None = None, texts: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Sample]:
    """Samples of either modality, with or without a pre-filled ``<think>`` prompt, some truncated;
    responses from `texts` (default: `responses`)."""
    return st.builds(
        Sample,
        response=texts if texts is not None else responses(),
        label=labels if labels is not None else st.sampled_from(LABELS),
        modality=st.sampled_from(["audio", "text"]),
        prompt=st.sampled_from(["", "<|im_start|>assistant\n", "<|im_start|>assistant\n<think>"]),
        finish_reason=st.sampled_from(["stop", "stop", "length"]),
    )


def check_verifier(
    verifier: Callable[[Sample], Verdict],
    strategy: st.SearchStrategy[Sample] | None = None,
    max_examples: int = 200,
    linear_time: bool = True,
) -> None:
    """Assert that `verifier` never raises, scores in [0, 1] with a reason (one of
    those it declares, when it declares them: `Verifier.declared_reasons`), is
    deterministic, and (if `linear_time`) runs in time linear in the response length.

    >>> from aural.verifiers import make_verifier
    >>> check_verifier(make_verifier("think_format"), max_examples=20)
    """

    reasons_of = getattr(verifier, "declared_reasons", None)
    declared = reasons_of() if reasons_of is not None else None

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(strategy if strategy is not None else samples())
    def decides_every_sample(sample: Sample) -> None:
        first = verifier(sample)
        assert isinstance(first, Verdict), f"returned {type(first).__name__}, not a Verdict"
        assert isinstance(first.score, (int, float)) and not math.isnan(first.score), f"score {first.score!r}"
        assert 0.0 <= first.score <= 1.0, f"score {first.score} outside [0, 1] (reason {first.reason!r})"
        assert isinstance(first.reason, str) and first.reason, f"reason {first.reason!r} is not a non-empty string"
        assert declared is None or first.reason in declared, f"reason {first.reason!r} is not among the declared {sorted(declared)}"
        second = verifier(sample)
        assert first == second, f"not deterministic: {first} then {second}"

    decides_every_sample()
    if linear_time:
        assert_linear_time(verifier)


def assert_linear_time(verifier: Callable[[Sample], Verdict], size: int = 2_000, growth: int = 8, slack: float = 4.0) -> None:
    """Assert that growing the response `growth`-fold grows the verifier's time
    at most `slack` x `growth`-fold, for every fragment in `FRAGMENTS` repeated
    as the whole response and inside the think block, against one label of each kind.

    A quadratic scan grows `growth`² fold and fails; times under 1 ms at the
    large size are too small to judge and pass. A pair that looks too slow is
    measured again, with more repeats, before it fails.
    """
    one_per_kind = {label.kind: label for label in LABELS}.values()
    for fragment in FRAGMENTS:
        for where in ("{}", "<think>{}</think>B"):
            for label in one_per_kind:

                def run(chars: int, repeats: int = 3, where: str = where, fragment: str = fragment, label: Label = label) -> float:
                    response = where.format(fragment * max(1, chars // len(fragment)))
                    return _best_time(verifier, partial(Sample, response, label, "audio"), repeats)

                if run(size * growth, repeats=1) < 0.001:
                    continue
                small, large = run(size), run(size * growth)
                if large > 0.001 and large > slack * growth * small:
                    # A busy machine can stall one measurement; a quadratic scan fails the second too.
                    small, large = run(size, repeats=7), run(size * growth, repeats=7)
                if large > 0.001 and large > slack * growth * small:
                    raise AssertionError(
                        f"time grows faster than the input: {fragment!r} in {where!r}, label {label.answer!r}: "
                        f"{size} chars took {small * 1e3:.2f} ms, {size * growth} took {large * 1e3:.2f} ms"
                    )


def _best_time(verifier: Callable[[Sample], Verdict], make: Callable[[], Sample], repeats: int = 3) -> float:
    best = math.inf
    for _ in range(repeats):
        sample = make()  # a new sample each time: the scan is timed, not a parse kept in its memo
        start = time.perf_counter()
        verifier(sample)
        best = min(best, time.perf_counter() - start)
    return best
