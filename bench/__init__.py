"""Benchmarks of the PC Patrol assistant: run on demand, never part of the test suite."""
