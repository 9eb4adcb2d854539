"""Verifiers: one check each, text in, `Verdict` out. Pure, linear-time, never raising on model output.

This folder is the package ``aural.verifiers`` (``verifiers/think.py`` is ``aural.verifiers.think``):

    schema          Sample, Label, Verdict: what every verifier reads and writes
    registry        the Verifier base class, register, make_verifier
    think           the reasoning grammar (one <think> block, then the answer); ReadsThink
    marked          where a final answer marks its answer (boxed, answer tags, "Answer:")
    normalize       answer text folded once; lexicon: word lists as data
    answer          correctness for any label kind, dispatching to
    choice, number, text, asr, math_answer   (math_pool, math_worker: math-verify behind a timeout;
                    numeric, latex_value: numbers read without evaluating; kinds: a label's kind guessed)
    grounding, coherence, self_cognition     MGRD's and self-cognition's checks of the reasoning
"""

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
