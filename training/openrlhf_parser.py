"""OpenRLHF's own `train_ppo_ray` argument parser and checks, rebuilt without starting anything.

OpenRLHF builds its parser inline under ``if __name__ == "__main__":``, then
checks the parsed flags there too (assertions, and settings one flag implies for
another) before it calls ``train(args)``; importing the module would also import
Ray, vLLM and DeepSpeed. Here the installed module's source is read and that
block's statements are taken from its syntax tree: the ones before
``parse_args()`` build the parser, the ones after it (less ``train(args)`` and the
ModelScope hub patch) check the flags. A launch OpenRLHF rejects fails here, not
on a cluster.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
from collections.abc import Sequence
from datetime import datetime

from aural.errors import AuralError

MODULE = "openrlhf.cli.train_ppo_ray"
NOT_CHECKS = ("train(args)", "args.use_ms")  # the statements that start something


class LaunchError(AuralError):
    """Flags OpenRLHF rejects; the message is its parser's or its check's."""


def _main_block() -> tuple[str, list[ast.stmt], list[ast.stmt]]:
    spec = importlib.util.find_spec(MODULE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{MODULE} is not installed (pip install openrlhf)")
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), spec.origin)
    main = next(node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test))
    parse = next(i for i, statement in enumerate(main.body) if "parse_args" in ast.unparse(statement))
    checks = [s for s in main.body[parse + 1 :] if not any(text in ast.unparse(s) for text in NOT_CHECKS)]
    return spec.origin, main.body[:parse], checks


def _run(origin: str, statements: list[ast.stmt], namespace: dict) -> dict:
    exec(compile(ast.Module(statements, type_ignores=[]), origin, "exec"), namespace)  # OpenRLHF's code, not model output
    return namespace


def ppo_parser() -> argparse.ArgumentParser:
    """The parser `train_ppo_ray` builds, from the installed OpenRLHF."""
    origin, building, _ = _main_block()
    return _run(origin, building, {"argparse": argparse, "os": os, "datetime": datetime})["parser"]


def check_launch(args: Sequence[str]) -> argparse.Namespace:
    """Parse and check `args` as `train_ppo_ray` would; returns its (nested) arguments.

    Raises `LaunchError` with the parser's message, or the failed check's.
    """
    origin, _, checks = _main_block()
    parser = ppo_parser()
    errors: list[str] = []

    def reject(message: str) -> None:
        errors.append(message)
        raise SystemExit(2)

    parser.error = reject  # type: ignore[method-assign]
    try:
        flat = parser.parse_args(list(args))
    except SystemExit:
        raise LaunchError(errors[-1] if errors else "rejected by train_ppo_ray's parser") from None
    try:
        return _run(origin, checks, {"args": flat, "print": lambda *a, **k: None})["args"]
    except Exception as error:  # an assertion, or an error train_ppo_ray itself would stop on
        raise LaunchError(f"train_ppo_ray's checks: {type(error).__name__}: {error}") from None
