"""One math-verify worker process: reads ``[gold, prediction, options]`` JSON lines on
standard input (``options``: `verify_pair`'s keyword arguments), writes ``[status, extracted]``
lines on standard output.

Started by `aural.verifiers.math_pool` as ``python -m aural.verifiers.math_worker``:
a fresh interpreter that imports only math-verify, never the caller's program.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
from collections.abc import Sequence

MEMORY_LIMIT_BYTES = 4 << 30
# One comparison of each common shape: sympy imports much of itself lazily, on first use.
WARM_UP = (
    ("$1$", "$1$"),
    (r"$\frac{2}{3}$", "$0.75$"),
    (r"$3\sqrt{5}$", r"$\sqrt{45}$"),
    ("$y^2-4$", "$(y-2)(y+2)$"),
    (r"$2\pi$", r"$\frac{\pi}{2}$"),
    ("$(0,3)$", "$[0,3]$"),
    (r"$\{1,2\}$", r"$\{2,1\}$"),
    ("$x=2$", "$2$"),
)


def verify_pair(
    gold: str,
    prediction: str,
    extraction: Sequence[str] = ("latex", "expr"),
    float_rounding: int = 6,
    strict: bool = True,
    allow_set_relation_comp: bool = False,
) -> tuple[str, str | None]:
    """Compare two LaTeX strings: ``ok``, ``wrong``, ``no_answer``, ``bad_label`` or ``parse_error``.

    The options are math-verify's, with its defaults: `extraction` names the extraction
    configurations (``latex``: LaTeX, boxed first; ``expr``: plain numbers and expressions),
    `float_rounding` the decimals floats are rounded to, `strict` whether variable names
    must match, `allow_set_relation_comp` whether a gold set matches a relation (``x \\in [1,2]``
    against ``1 \\le x \\le 2``).

    >>> verify_pair(r"$2\\sqrt{2}$", r"$\\sqrt{8}$")
    ('ok', '\\\\sqrt{8}')
    >>> verify_pair("$?$", "$1$")[0], verify_pair("$1/3$", "0.33", float_rounding=2)[0]
    ('bad_label', 'ok')
    """
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    configs = {"latex": LatexExtractionConfig(boxed_match_priority=0), "expr": ExprExtractionConfig()}
    config = [configs[name] for name in extraction]
    try:
        parsed_gold = parse(gold, extraction_config=config, parsing_timeout=None)
        if all(isinstance(part, str) for part in parsed_gold):  # nothing, or unparsed text
            return "bad_label", None
        parsed = parse(prediction, extraction_config=config, parsing_timeout=None)
        if not parsed:
            return "no_answer", None
        same = verify(
            parsed_gold,
            parsed,
            float_rounding=float_rounding,
            strict=strict,
            allow_set_relation_comp=allow_set_relation_comp,
            timeout_seconds=None,
        )
        return ("ok" if same else "wrong"), str(parsed[-1])[:200]
    except BaseException as error:  # noqa: BLE001  (MemoryError and RecursionError too)
        return "parse_error", type(error).__name__


def serve() -> None:
    """The worker's loop; returns when standard input closes."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    logging.disable(logging.CRITICAL)  # math-verify warns that its own timeouts are off
    for gold, prediction in WARM_UP:
        verify_pair(gold, prediction)
    try:
        print(json.dumps(["ready", None]), flush=True)
        for line in sys.stdin:
            gold, prediction, options = json.loads(line)
            print(json.dumps(verify_pair(gold, prediction, **options)), flush=True)
    except BrokenPipeError:
        pass  # the pool is gone


if __name__ == "__main__":
    serve()
