"""Rewards: verifiers composed into routed, weighted reward recipes."""
