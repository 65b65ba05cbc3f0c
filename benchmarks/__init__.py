"""Measurements of the engine (quality, speed); run with `python -m benchmarks.<name>`.

Some load sentence-transformers themselves, so the package sets the offline environment first (`index.offline`)."""

from index.offline import hub_offline

hub_offline()
