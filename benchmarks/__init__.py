"""Measurements of the engine (quality, speed); run with `python -m benchmarks.<name>`."""
