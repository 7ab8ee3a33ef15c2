"""Measured steps, each run in its own process: `python -m bench.steps STEP --url URL --out FILE.json`.

Every step writes one JSON object to --out, including `peak_rss_mb` (this process's peak resident
memory, engine included: DuckDB runs in-process).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu_s() -> float:
    """User + system CPU seconds of this process, engine threads included: on a shared machine this
    moves far less with the load than wall time does."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return round(use.ru_utime + use.ru_stime, 1)


def build(url: str, size: str, seed: int, end: str | None) -> dict[str, Any]:
    """Build the demo into `url` (as `flask demo` does); per-phase times from its progress messages."""
    from datetime import date

    from metrics.pipeline import build_demo

    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    counts = build_demo(url, size=size, seed=seed, end=date.fromisoformat(end) if end else None,
                        progress=lambda m: marks.append((time.perf_counter() - started, m)))
    wall = time.perf_counter() - started
    rows = sum(v for k, v in counts.items() if k not in ("measure_result", "prepost_result"))
    phases: dict[str, float] = {}
    for (t0, msg), (t1, _) in zip(marks, [*marks[1:], (wall, "")], strict=True):
        phase = msg.split(" ")[0]  # generating / validating / loading / computing / scan
        phases[phase] = round(phases.get(phase, 0.0) + t1 - t0, 2)
    return {"wall_s": round(wall, 2), "source_rows": rows, "rows_per_s": round(rows / wall), "phases_s": phases,
            "result_rows": counts.get("measure_result", 0)}


def refresh(url: str) -> dict[str, Any]:
    """`flask refresh`: every indicator and the pre/post tables, written back in one transaction."""
    from data_loaders.db import write_transaction
    from metrics.pipeline import refresh_all

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    with write_transaction(url) as conn:
        counts = refresh_all(conn, timings=timings)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "counts": counts, **timings}


def baselines(url: str) -> dict[str, Any]:
    """Engine floor, ours per indicator alone, and the pandas baseline (outputs compared)."""
    from bench.baselines import PANDAS_INDICATORS, compare, engine_floor
    from data_loaders.db import read_engine
    from metrics.catalogue import INDICATORS_BY_ID
    from metrics.compute import compute_all, data_end_of

    out: dict[str, Any] = {"indicators": {}}
    with read_engine(url).connect() as conn:
        started = time.perf_counter()
        out["floor"] = engine_floor(conn)
        out["floor_s"] = {g: round(sum(t[g] for t in out["floor"].values()), 3) for g in ("locality_month", "finest")}
        out["floor_wall_s"] = round(time.perf_counter() - started, 3)
        data_end = data_end_of(conn)
        for p in PANDAS_INDICATORS:
            started = time.perf_counter()
            ours = compute_all(conn, [INDICATORS_BY_ID[p.id]], data_end=data_end)
            ours_s = time.perf_counter() - started
            started = time.perf_counter()
            theirs = p.run(conn, data_end)
            pandas_s = time.perf_counter() - started
            out["indicators"][p.id] = {"ours_s": round(ours_s, 3), "pandas_s": round(pandas_s, 3),
                                       "pandas_over_ours": round(pandas_s / ours_s, 2), **compare(ours, theirs)}
    return out


def pack(url: str) -> dict[str, Any]:
    """Excel pack build time per place (latest complete quarter)."""
    import tempfile

    from data_loaders.db import read_engine
    from exports.pack import resolve_period, write_pack

    out: dict[str, Any] = {}
    with read_engine(url).connect() as conn, tempfile.TemporaryDirectory() as tmp:
        period = resolve_period(conn, None)
        for place in ("bsol", "birmingham", "solihull"):
            started = time.perf_counter()
            path = write_pack(conn, place, period.label, Path(tmp) / f"{place}.xlsx")
            out[place] = {"wall_s": round(time.perf_counter() - started, 3), "kb": round(path.stat().st_size / 1024)}
    out["period"] = period.label
    return out


def coverage(url: str) -> dict[str, Any]:
    """[c] cells per locality at quarterly level (bench/coverage.py)."""
    from bench.coverage import locality_coverage
    from data_loaders.db import read_engine

    with read_engine(url).connect() as conn:
        return locality_coverage(conn)


def postgres(size: str, seed: int, end: str | None) -> dict[str, Any]:
    """The same demo build and refresh on a throwaway PostgreSQL server."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg_server import PgServer

    with PgServer() as server:
        result = build(server.url, size, seed, end)
        result["refresh"] = refresh(server.url)
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.steps")
    ap.add_argument("step", choices=["build", "refresh", "baselines", "pack", "coverage", "postgres"])
    ap.add_argument("--url")
    ap.add_argument("--size", default="small")
    ap.add_argument("--seed", type=int, default=20240626)
    ap.add_argument("--end", default=None)
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args(argv)
    if a.step in ("build", "postgres"):
        fn = build if a.step == "build" else postgres
        result = fn(a.url, a.size, a.seed, a.end) if a.step == "build" else fn(a.size, a.seed, a.end)
    else:
        result = {"refresh": refresh, "baselines": baselines, "pack": pack, "coverage": coverage}[a.step](a.url)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["cpu_s"] = _cpu_s()
    a.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
