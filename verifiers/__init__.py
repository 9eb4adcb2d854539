"""Verifiers: one check each, text in, `Verdict` out. Pure, linear-time, never raising on model output."""

from . import answer, asr, choice, coherence, grounding, math_answer, number, self_cognition, text, think  # noqa: F401  (register the built-ins)
from .registry import FunctionVerifier, Verifier, make_verifier, register, registered
from .schema import FieldError, Label, Sample, Verdict
from .think import ReadsThink, parse_think

__all__ = [
    "FieldError",
    "FunctionVerifier",
    "Label",
    "ReadsThink",
    "Sample",
    "Verdict",
    "Verifier",
    "make_verifier",
    "parse_think",
    "register",
    "registered",
]
