"""Benchmarks (not part of the test suite; timings are never asserted): `python -m bench --help`.

Every measured step runs in its own child process (`python -m bench.steps STEP ...`) so its peak
resident memory is its own; the orchestrator in `bench.__main__` collects the JSON each step
writes and renders bench/results.json and bench/report.md.
"""
