"""Reward recipes: verifiers composed into one reward, routed by modality and label kind.

A recipe is data (TOML). Each route is a table of components; a component names
a registered verifier, its `weight`, optionally `gate = true` (the total is 0
unless this component passes), and any options for the verifier::

    name = "step-audio-r1"
    truncated = 0.0                      # total for finish_reason "length"

    [route.audio]
    accuracy = { verifier = "answer", weight = 0.8 }
    format = { verifier = "think_format", weight = 0.2, min_reasoning_chars = 1 }

    [route.text]
    accuracy = { verifier = "answer", weight = 1.0 }

A sample takes the route of its modality, else ``[route.default]``. Inside a
route, a sub-table named after a label kind (``[route.audio.asr]``) holds the
components for samples of that kind.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aural.errors import AuralError
from aural.verifiers import Sample, Verdict, Verifier, make_verifier
from aural.verifiers.schema import KINDS

log = logging.getLogger(__name__)

DEFAULT_RECIPE = "step-audio-r1"
ACCURACY = "accuracy"  # the component that says whether the answer is right (scores, pass@k, filtering)
_COMPONENT_KEYS = ("verifier", "weight", "gate")


class RecipeError(AuralError):
    """A recipe that cannot be built; `where` is the recipe's source, `field` the key at fault."""

    def __init__(self, source: str, key: str, message: str):
        super().__init__(message, where=source, field=key)


class RouteError(AuralError, LookupError):
    """A sample that no route of the recipe covers."""


@dataclass(frozen=True)
class Component:
    """One weighted verifier inside a route."""

    name: str
    verifier: Verifier
    weight: float = 1.0
    gate: bool = False


@dataclass(frozen=True)
class Route:
    """The components for one modality, with optional per-kind replacements."""

    components: tuple[Component, ...]
    by_kind: Mapping[str, Route] = field(default_factory=dict)


@dataclass(frozen=True)
class RewardResult:
    """A sample's reward: the `total`, each component's verdict, and the route taken."""

    total: float
    components: dict[str, Verdict]
    route: str


@dataclass(frozen=True)
class Recipe:
    """A named, routed composition of verifiers. Build one with `load_recipe`.

    >>> recipe = load_recipe("step-audio-r1")
    >>> label = {"answer": "B", "choices": ["a dog", "a cat"]}
    >>> recipe.score(Sample("<think>It meows.</think>The answer is (B).", label, "audio")).total
    1.0
    >>> recipe.score(Sample("<think></think>The answer is (B).", label, "audio")).total
    0.8
    >>> recipe.score(Sample("The answer is (B).", label, "text")).total
    1.0
    """

    name: str
    routes: Mapping[str, Route]
    truncated: float | None

    def route_for(self, sample: Sample) -> tuple[str, Route]:
        """The route a sample takes and its name, such as ``audio`` or ``audio.asr``."""
        name = sample.modality if sample.modality in self.routes else "default"
        route = self.routes.get(name)
        if route is None:
            raise RouteError(f"recipe {self.name!r} has no route for modality {sample.modality!r} and no [route.default]")
        if sample.label.kind in route.by_kind:
            return f"{name}.{sample.label.kind}", route.by_kind[sample.label.kind]
        return name, route

    def score(self, sample: Sample) -> RewardResult:
        """Score one sample. Verifier errors become a 0 verdict (reason ``verifier_error``), never an exception."""
        route_name, route = self.route_for(sample)
        verdicts = {c.name: _run(c.verifier, sample) for c in route.components}
        total = sum(c.weight * verdicts[c.name].score for c in route.components)
        if any(c.gate and not verdicts[c.name].passed for c in route.components):
            total = 0.0
        if sample.finish_reason == "length" and self.truncated is not None:
            total = self.truncated
        return RewardResult(round(total, 12), verdicts, route_name)

    def component_names(self) -> list[str]:
        """Every component name any route can produce, in recipe order."""
        names: dict[str, None] = {}
        for route in self.routes.values():
            for sub in (route, *route.by_kind.values()):
                names.update((c.name, None) for c in sub.components)
        return list(names)


def _run(verifier: Verifier, sample: Sample) -> Verdict:
    try:
        return verifier(sample)
    except Exception as error:  # noqa: BLE001  (a reward must come back whatever a verifier does)
        log.warning("verifier %s raised %s: %s", verifier.name, type(error).__name__, error)
        return Verdict(0.0, "verifier_error", f"{type(error).__name__}: {error}"[:200])


def load_recipe(recipe: Recipe | str | Path | Mapping[str, Any] = DEFAULT_RECIPE) -> Recipe:
    """A recipe from a shipped name (``step-audio-r1``), a TOML path, or a dict of the same shape
    (a `Recipe` comes back as it is).

    >>> load_recipe().name
    'step-audio-r1'
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return recipe_from_dict(recipe, "<dict>")
    path = Path(recipe)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise RecipeError(str(path), "", "no such recipe file")
        source, text = str(path), path.read_text(encoding="utf-8")
    else:
        shipped = resources.files("aural.rewards.recipes") / f"{recipe}.toml"
        if not shipped.is_file():
            raise RecipeError(str(recipe), "", f"no shipped recipe of that name; shipped: {', '.join(shipped_recipes())}")
        source, text = f"recipe {recipe}", shipped.read_text(encoding="utf-8")
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(source, "", f"invalid TOML: {error}") from None
    return recipe_from_dict(spec, source)


def shipped_recipes() -> list[str]:
    """The names of the recipes that ship with Aural."""
    folder = resources.files("aural.rewards.recipes")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def recipe_from_dict(spec: Mapping[str, Any], source: str) -> Recipe:
    """Build and validate a recipe from its data; errors name `source` and the key."""
    name = spec.get("name", source)
    truncated = spec.get("truncated")
    if truncated is not None and not isinstance(truncated, (int, float)):
        raise RecipeError(source, "truncated", f"expected a number, got {truncated!r}")
    routes = spec.get("route")
    if not isinstance(routes, Mapping) or not routes:
        raise RecipeError(source, "route", "expected at least one [route.<modality>] table")
    unknown = set(spec) - {"name", "description", "truncated", "route"}
    if unknown:
        raise RecipeError(source, ", ".join(sorted(unknown)), "unknown top-level keys")
    built = {key: _route(value, source, f"route.{key}", allow_kinds=True) for key, value in routes.items()}
    return Recipe(str(name), built, None if truncated is None else float(truncated))


def _route(table: Any, source: str, key: str, allow_kinds: bool) -> Route:
    if not isinstance(table, Mapping):
        raise RecipeError(source, key, "expected a table of components")
    components, by_kind = [], {}
    for name, value in table.items():
        if isinstance(value, Mapping) and "verifier" not in value:
            if not allow_kinds or name not in KINDS:
                raise RecipeError(source, f"{key}.{name}", f"a component needs 'verifier'; a kind route must be one of {KINDS}")
            by_kind[name] = _route(value, source, f"{key}.{name}", allow_kinds=False)
        else:
            components.append(_component(name, value, source, f"{key}.{name}"))
    if not components:
        raise RecipeError(source, key, "a route needs at least one component")
    return Route(tuple(components), by_kind)


def _component(name: str, value: Any, source: str, key: str) -> Component:
    if not isinstance(value, Mapping):
        raise RecipeError(source, key, f'expected a table such as {{ verifier = "answer", weight = 1.0 }}, got {value!r}')
    weight, gate = value.get("weight", 1.0), value.get("gate", False)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool):
        raise RecipeError(source, f"{key}.weight", f"expected a number, got {weight!r}")
    if not isinstance(gate, bool):
        raise RecipeError(source, f"{key}.gate", f"expected true or false, got {gate!r}")
    options = {k: v for k, v in value.items() if k not in _COMPONENT_KEYS}
    try:
        verifier = make_verifier(str(value["verifier"]), **options)
    except (KeyError, TypeError, ValueError) as error:
        raise RecipeError(source, key, str(error).strip('"')) from None
    return Component(name, verifier, float(weight), gate)
