"""Rollouts: sampling the audio policy at scale with Ray, storing and scoring groups, selecting data."""
