"""Deterministic orchestrator functions: no clocks, randomness, I/O or environment reads."""
