"""Bundled examples: `rollouts.jsonl`, realistic responses that `aural score` scores by default."""
