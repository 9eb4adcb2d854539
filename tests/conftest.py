"""Shared helpers for the test suite."""

import os

import pytest
from hypothesis import settings

from aural.verifiers import Sample

# CI replays the same examples every run; locally each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


CHOICES = ["a dog barking", "a cat meowing", "rain on a roof", "a car engine"]


def audio(response, label, **fields):
    """An audio sample."""
    return Sample(response, label, "audio", **fields)


@pytest.fixture
def choice_label():
    return {"answer": "B", "choices": CHOICES}
