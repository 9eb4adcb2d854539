"""Aural: reinforcement learning with verifiable rewards for audio language models.

The top-level folders are the subpackages (pyproject's package-dir): ``verifiers/`` is
``aural.verifiers``, ``rewards/`` ``aural.rewards``, ``policy/`` ``aural.policy``,
``rollouts/`` ``aural.rollouts``, ``training/`` ``aural.training``, ``examples/``
``aural.examples``; this folder, ``aural/``, holds the public API below, the `aural`
command (`cli`), the demo, and what every package shares: `errors`, `files` (atomic
writes), `table` (plain-text tables) and `testing` (property tests for verifiers).

>>> from aural import Sample, load_recipe
>>> recipe = load_recipe("step-audio-r1")
>>> label = {"answer": "B", "choices": ["a dog barking", "a cat meowing"]}
>>> result = recipe.score(Sample("<think>A high, rising cry.</think>The answer is (B).", label, "audio"))
>>> result.total, result.components["format"].reason
(1.0, 'ok')
"""

from aural.rewards.batch import Summary, score_batch
from aural.rewards.recipe import Recipe, RewardResult, load_recipe, shipped_recipes
from aural.verifiers import Label, Sample, Verdict, Verifier, make_verifier, register, registered

__all__ = [
    "Label",
    "Recipe",
    "RewardResult",
    "Sample",
    "Summary",
    "Verdict",
    "Verifier",
    "load_recipe",
    "make_verifier",
    "register",
    "registered",
    "score_batch",
    "shipped_recipes",
]
