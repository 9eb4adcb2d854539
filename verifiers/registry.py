"""Verifiers by name: the `Verifier` base class, `register` and `make_verifier`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from .schema import Sample, Verdict

_REGISTRY: dict[str, Callable[..., Verifier]] = {}


class Verifier:
    """A named check `Sample -> Verdict`, configured by keyword arguments.

    Subclasses implement `check`; calling the verifier runs it. A verifier
    must not raise on any model output, evaluate it, or take more than linear
    time in its length (`aural.testing.check_verifier` asserts all three).
    `REASONS` declares every reason code its verdicts may carry, ``ok`` included
    (None: undeclared); `check_verifier` holds each verdict to it.
    """

    name: str = ""
    REASONS: ClassVar[frozenset[str] | None] = None

    def check(self, sample: Sample) -> Verdict:
        """Decide one sample. Subclasses override this."""
        raise NotImplementedError

    def declared_reasons(self) -> frozenset[str] | None:
        """The reason codes this verifier's verdicts may carry: `REASONS` (None: undeclared).

        >>> sorted(make_verifier("self_cognition").declared_reasons())
        ['denies_audio', 'ok']
        """
        return self.REASONS

    def __call__(self, sample: Sample) -> Verdict:
        return self.check(sample)

    def __repr__(self) -> str:
        return f"<verifier {self.name}>"


class FunctionVerifier(Verifier):
    """A plain function `(sample, **options) -> Verdict | float | bool` as a verifier."""

    def __init__(self, name: str, function: Callable[..., Any], **options: Any):
        self.name = name
        self._function = function
        self._options = options

    def check(self, sample: Sample) -> Verdict:
        result = self._function(sample, **self._options)
        if isinstance(result, Verdict):
            return result
        score = float(result)
        return Verdict(score, "ok" if score >= 0.5 else "fail")


T = TypeVar("T")


def register(name: str, replace: bool = False) -> Callable[[T], T]:
    """Register a `Verifier` subclass, or a function of a sample, under `name`; a name
    already taken (a built-in verifier's, say) is refused unless `replace` is given.

    >>> @register("mentions_pitch")
    ... def mentions_pitch(sample, word="pitch"):
    ...     return word in sample.response
    >>> make_verifier("mentions_pitch")(Sample("<think>pitch rises</think>B", "B", "audio")).score
    1.0
    >>> register("think_format")(mentions_pitch)
    Traceback (most recent call last):
    ValueError: a verifier named 'think_format' is registered already: register(..., replace=True) replaces it
    """

    def add(target: T) -> T:
        if name in _REGISTRY and not replace:
            raise ValueError(f"a verifier named {name!r} is registered already: register(..., replace=True) replaces it")
        if inspect.isclass(target) and issubclass(target, Verifier):
            target.name = name
            _REGISTRY[name] = target
        elif callable(target):
            _REGISTRY[name] = lambda **options: FunctionVerifier(name, target, **options)
        else:
            raise TypeError(f"cannot register {target!r} as verifier {name!r}: not a Verifier class or function")
        return target

    return add


def make_verifier(name: str, **options: Any) -> Verifier:
    """A configured instance of the verifier registered as `name`.

    >>> make_verifier("think_format", min_reasoning_chars=20).min_reasoning_chars
    20
    """

    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"no verifier named {name!r}; registered: {known}")
    try:
        return _REGISTRY[name](**options)
    except TypeError as error:
        raise TypeError(f"verifier {name!r}: {error}") from None


def registered() -> list[str]:
    """The names of every registered verifier."""

    return sorted(_REGISTRY)
