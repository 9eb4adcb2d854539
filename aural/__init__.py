"""Aural: reinforcement learning with verifiable rewards for audio language models.

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
