"""Benchmarks: `uv run python benchmarks/run.py` measures the site, the simulator and the refresh worker."""
