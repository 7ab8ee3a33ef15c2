"""`python -m bench`: build, refresh, baselines, packs, serving, browser and PostgreSQL, per data size.

    .venv/bin/python -m bench                       # small and full sizes, everything (~15-25 min)
    .venv/bin/python -m bench --sizes small         # a quick run
    .venv/bin/python -m bench --skip serve,browser  # steps can be skipped

Writes bench/results.json and bench/report.md (see docs/performance.md for a recorded run).
Work databases live under --work (default /tmp/bsol-bench/<size>), never in the repository's data/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ("build", "coverage", "refresh", "baselines", "pack", "serve", "browser", "postgres")


def _load() -> list[float]:
    """1, 5 and 15-minute load averages: the machine is shared, so every figure carries them."""
    return [round(x, 2) for x in os.getloadavg()]


def _step(name: str, out: Path, *args: str) -> dict[str, Any]:
    print(f"[bench] {name} {' '.join(args)}", file=sys.stderr, flush=True)
    started, load = time.perf_counter(), _load()
    proc = subprocess.run([sys.executable, "-m", "bench.steps", name, "--out", str(out), *args], cwd=ROOT)
    if proc.returncode != 0:
        return {"error": f"step {name} exited with {proc.returncode}"}
    result = json.loads(out.read_text())
    result.setdefault("process_wall_s", round(time.perf_counter() - started, 2))
    result["load_before"], result["load_after"] = load, _load()
    return result


def _serve(data_dir: Path, out: Path) -> dict[str, Any]:
    print(f"[bench] serve {data_dir}", file=sys.stderr, flush=True)
    load = _load()
    with open(out, "w") as f:
        proc = subprocess.run([sys.executable, str(HERE / "serve.py"), str(data_dir)], cwd=ROOT, stdout=f)
    if proc.returncode != 0:
        return {"error": f"serve exited with {proc.returncode}"}
    return {**json.loads(out.read_text()), "load_before": load, "load_after": _load()}


def _browser(data_dir: Path, out: Path) -> dict[str, Any]:
    """Measure-page render times in headless Chromium (bench/page_render.py, by the pages' owner)."""
    script = HERE / "page_render.py"
    if not script.exists():
        return {"error": "bench/page_render.py is not in this checkout"}
    print(f"[bench] browser {data_dir}", file=sys.stderr, flush=True)
    copy = data_dir.parent / f"{data_dir.name}-browser"  # the script may write (cache, logs): use a copy
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir, copy)
    load = _load()
    proc = subprocess.run(["flock", "/tmp/bsol-browser.lock", sys.executable, str(script), "--out", str(out)],
                          cwd=ROOT, env={**os.environ, "BSOL_DATA_DIR": str(copy)})
    shutil.rmtree(copy, ignore_errors=True)
    if proc.returncode != 0 or not out.exists():
        return {"error": f"page_render exited with {proc.returncode}"}
    return {"pages": json.loads(out.read_text()), "load_before": load, "load_after": _load()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="small,full", help="comma-separated demo sizes (default: small,full)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bsol-bench"))
    ap.add_argument("--skip", default="", help=f"comma-separated steps to skip: {', '.join(STEPS)}")
    ap.add_argument("--postgres-sizes", default="small", help="sizes also built and refreshed on PostgreSQL")
    ap.add_argument("--end", default="2025-09-30", help="demo data end (fixed, so runs compare)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--report", type=Path, default=HERE / "report.md")
    a = ap.parse_args(argv)
    skip = {s for s in a.skip.split(",") if s}
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average_at_start": _load()},
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip(),
        "sizes": {},
    }
    for size in [s for s in a.sizes.split(",") if s]:
        data_dir = a.work / size
        scratch = a.work / f"{size}-steps"
        scratch.mkdir(parents=True, exist_ok=True)
        url = f"duckdb:///{data_dir / 'bsol.duckdb'}"
        r: dict[str, Any] = {}
        if "build" not in skip or not (data_dir / "bsol.duckdb").exists():
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            r["build"] = _step("build", scratch / "build.json", "--url", url, "--size", size, "--end", a.end)
        for name in ("coverage", "refresh", "baselines", "pack"):
            if name not in skip:
                r[name] = _step(name, scratch / f"{name}.json", "--url", url)
        if "serve" not in skip:
            r["serve"] = _serve(data_dir, scratch / "serve.json")
        if "browser" not in skip:
            r["browser"] = _browser(data_dir, scratch / "browser.json")
        if "postgres" not in skip and size in a.postgres_sizes.split(","):
            r["postgres"] = _step("postgres", scratch / "postgres.json", "--size", size, "--end", a.end)
        results["sizes"][size] = r
        a.out.write_text(json.dumps(results, indent=1, default=str))  # partial results survive a failure
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    a.out.write_text(json.dumps(results, indent=1, default=str))
    a.report.write_text(render(results))
    print(f"[bench] wrote {a.out} and {a.report}", file=sys.stderr)


if __name__ == "__main__":
    main()
