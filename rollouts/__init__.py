"""Rollouts: sampling the audio policy at scale with Ray, storing and scoring groups, selecting data.

This folder is the package ``aural.rollouts`` (``rollouts/store.py`` is ``aural.rollouts.store``):

    prompt_set      prompt-set JSONL files read and checked
    engines         vLLM and transformers engines behind one interface
    pool            Ray actors, one engine each, sampling shards of a prompt set
    run             a rollout run: sample, score each prompt's group, store
    store           the append-only, resumable rollout store
    stats, select   per-prompt statistics (pass@k); the middle-band data selection
    controls        does the policy use the audio? (aural eval)
    mgrd            MGRD's filter over candidate chains
    scaling         test-time scaling: accuracy as the reasoning budget grows
    report, report_page   what a store adds up to, as tables, figures and a page
    script_args     the arguments the recipe scripts (recipes/*.py) share
"""
