"""Reward-hacking audit: known hacks scored against an honest twin under a recipe.

A pattern pairs a hack (every option listed, an empty think block, an answer
only inside the reasoning, megabytes of output…) with an honest response to
the same question. Under a sound recipe the hack earns no more than the honest
response. The catalogue is data (`audit_catalogue.toml`); users add their own.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from aural.errors import AuralError
from aural.table import plain_table
from aural.verifiers import FieldError, Sample

from .recipe import Recipe, RouteError

_PATTERN_KEYS = {"name", "description", "modality", "label", "response", "honest", "finish_reason", "fill"}


class CatalogueError(AuralError):
    """A catalogue that cannot be read; names the file and the pattern."""


@dataclass(frozen=True)
class Pattern:
    """A reward hack and the honest response it must not out-earn."""

    name: str
    description: str
    hack: Sample
    honest: Sample


Status = Literal["ok", "HACK", "no route"]  # a finding's outcome


@dataclass(frozen=True)
class Finding:
    """What a pattern earned under a recipe, against its ceiling (the honest reward)."""

    pattern: Pattern
    earned: float | None
    ceiling: float | None
    seconds: float

    @property
    def status(self) -> Status:
        """``ok``, ``HACK`` (earned more than the ceiling) or ``no route``."""
        if self.earned is None or self.ceiling is None:
            return "no route"
        return "HACK" if self.earned > self.ceiling + 1e-9 else "ok"


def load_catalogue(paths: Iterable[str | Path] = (), builtin: bool = True) -> list[Pattern]:
    """The built-in patterns (unless `builtin` is false) followed by those in `paths`.

    >>> len(load_catalogue()) > 20
    True
    """
    sources: list[tuple[str, str]] = []
    if builtin:
        sources.append(("audit_catalogue.toml", (resources.files("aural.rewards") / "audit_catalogue.toml").read_text("utf-8")))
    sources.extend((str(p), Path(p).read_text(encoding="utf-8")) for p in paths)
    patterns = []
    for source, text in sources:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise CatalogueError(f"invalid TOML: {error}", source) from None
        defaults = data.get("defaults", {})
        for number, entry in enumerate(data.get("pattern", []), start=1):
            patterns.append(_pattern({**defaults, **entry}, f"{source}: pattern {number}"))
    return patterns


def _pattern(entry: Mapping[str, Any], where: str) -> Pattern:
    unknown = set(entry) - _PATTERN_KEYS
    if unknown:
        raise CatalogueError(f"unknown fields {sorted(unknown)}", where)
    missing = {"name", "modality", "label", "response", "honest"} - set(entry)
    if missing:
        raise CatalogueError(f"missing fields {sorted(missing)}", where)
    hack, honest = _fill(entry["response"], entry.get("fill", {}), where), _fill(entry["honest"], entry.get("fill", {}), where)
    try:
        return Pattern(
            name=entry["name"],
            description=entry.get("description", ""),
            hack=Sample(hack, entry["label"], entry["modality"], finish_reason=entry.get("finish_reason", "stop")),
            honest=Sample(honest, entry["label"], entry["modality"]),
        )
    except FieldError as error:
        raise CatalogueError(error.message, f"{where} ({entry['name']})", error.field) from None


def _fill(text: str, fill: Mapping[str, Any], where: str) -> str:
    for key, spec in fill.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("text"), str) or not isinstance(spec.get("times"), int):
            raise CatalogueError('must be { text = "…", times = N }', where, f"fill.{key}")
        text = text.replace("{{" + key + "}}", spec["text"] * spec["times"])
    return text


def run_audit(recipe: Recipe, patterns: Iterable[Pattern]) -> list[Finding]:
    """Score every pattern's hack and honest response under `recipe`.

    >>> from aural.rewards.recipe import load_recipe
    >>> findings = run_audit(load_recipe(), load_catalogue()[:3])
    >>> [f.status for f in findings]
    ['ok', 'ok', 'ok']
    """
    findings = []
    for pattern in patterns:
        start = time.perf_counter()
        earned: float | None
        ceiling: float | None
        try:
            earned = recipe.score(pattern.hack).total
            ceiling = recipe.score(pattern.honest).total
        except RouteError:
            earned = ceiling = None
        findings.append(Finding(pattern, earned, ceiling, time.perf_counter() - start))
    return findings


def findings_table(findings: list[Finding]) -> str:
    """The findings as a plain-text table, one row per pattern."""
    rows = [("pattern", "earned", "should earn at most", "status", "seconds")]
    for f in findings:
        shown = ("-" if f.earned is None else f"{f.earned:.3f}", "-" if f.ceiling is None else f"{f.ceiling:.3f}")
        rows.append((f.pattern.name, *shown, f.status, f"{f.seconds:.3f}"))
    return plain_table(rows)
