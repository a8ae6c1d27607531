"""Benchmarks: `python -m benchmarks.NAME` prints one JSON line (contracts.md section 5)."""
