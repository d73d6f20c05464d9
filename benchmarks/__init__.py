"""Benchmarks: scripts that report figures (see README, "Benchmarks"); not timed tests."""
