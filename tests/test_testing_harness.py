"""`check_verifier` catches each way a user's verifier can break its contract."""

import itertools

import pytest

from aural.testing import assert_linear_time, check_verifier
from aural.verifiers import FunctionVerifier, Verdict


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
