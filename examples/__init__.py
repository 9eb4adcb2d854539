"""Bundled examples (the package ``aural.examples``): `prompts.jsonl` and its clips, `rollouts.jsonl`
(realistic responses that `aural score` scores by default), and `tasks.py`, the demo's audio tasks
and scripted teacher."""
