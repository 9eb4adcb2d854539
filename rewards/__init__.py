"""Rewards: verifiers composed into routed, weighted reward recipes, and the trainers' ways in.

This folder is the package ``aural.rewards`` (``rewards/recipe.py`` is ``aural.rewards.recipe``):

    recipe          reward recipes (shipped ones in recipes/*.toml): routes, weights, gates
    batch           scoring many samples: score_each (a result or a Rejection each), Summary
    scored_jsonl    the scored-sample JSONL contract (aural score)
    trainer_inputs  what every trainer hands a reward function: labels, queries, settings
    openrlhf, openrlhf_samples, server     OpenRLHF's reward file, its lists, the HTTP reward server
    trl, verl, verl_manager                TRL's reward functions, verl's compute_score and reward manager
    audit           known reward hacks scored against an honest twin (audit_catalogue.toml)
"""
