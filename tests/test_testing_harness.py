"""`check_verifier` catches each way a user's verifier can break its contract."""

import itertools

import pytest

from aural.testing import INVISIBLES, LOOK_ALIKES, adversarial_unicode, assert_linear_time, check_verifier, samples
from aural.verifiers import FunctionVerifier, Verdict, Verifier, make_verifier


def verifier(function):
    return FunctionVerifier("under_test", function)


def test_a_sound_verifier_passes():
    check_verifier(verifier(lambda sample: "pitch" in sample.response), max_examples=50)


def test_raising_is_caught():
    def fragile(sample):
        return float(sample.response.split("</think>")[1].strip() == sample.label.answer)

    with pytest.raises(IndexError):
        check_verifier(verifier(fragile), max_examples=200, linear_time=False)


def test_scores_outside_the_unit_interval_are_caught():
    with pytest.raises(AssertionError, match="outside"):
        check_verifier(verifier(lambda sample: len(sample.response) / 10), linear_time=False)


def test_missing_reasons_are_caught():
    with pytest.raises(AssertionError, match="reason"):
        check_verifier(verifier(lambda sample: Verdict(1.0, "")), linear_time=False)


def test_nondeterminism_is_caught():
    counter = itertools.count()
    with pytest.raises(AssertionError, match="not deterministic"):
        check_verifier(verifier(lambda sample: next(counter) % 2), linear_time=False)


def test_quadratic_time_is_caught():
    def quadratic(sample):
        text = sample.response[:20_000]
        return float(any(text.count(text[i : i + 2]) > 10**9 for i in range(len(text))))

    with pytest.raises(AssertionError, match="time grows faster than the input"):
        assert_linear_time(verifier(quadratic))


class Declares(Verifier):
    """A verifier that declares its reasons, then gives one it did not declare on long responses."""

    REASONS = frozenset({"ok", "short"})

    def check(self, sample):
        if len(sample.response) > 30:
            return Verdict(0.0, "too_long")
        return Verdict(1.0, "ok") if "B" in sample.response else Verdict(0.0, "short")


@pytest.mark.slow
def test_an_undeclared_reason_is_caught():
    with pytest.raises(AssertionError, match="'too_long' is not among the declared"):
        check_verifier(Declares(), linear_time=False)


def test_every_builtin_verifier_declares_its_reasons():
    for name in ("choice", "text", "asr", "think_format", "answer", "acoustic_grounding", "coherence", "self_cognition"):
        reasons = make_verifier(name).declared_reasons()
        assert reasons is not None and "ok" in reasons, name
    assert FunctionVerifier("f", lambda sample: True).declared_reasons() is None


def test_adversarial_unicode_reaches_the_verifiers():
    seen = []
    check_verifier(
        lambda sample: seen.append(sample.response) or Verdict(1.0, "ok"),
        samples(texts=adversarial_unicode()),
        max_examples=60,
        linear_time=False,
    )
    hidden = "".join(INVISIBLES) + "".join(LOOK_ALIKES)
    assert any(any(c in hidden for c in response) for response in seen)
