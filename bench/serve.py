"""Serving benchmark: the main callbacks over loopback against gunicorn, cold and warm, 1 and 8 clients.

Payloads are built from the app's own callback registry (so they follow the layouts). Latency is
the client's round trip on loopback (server time plus a fraction of a millisecond). Every count
is bounded; the server is restarted before each concurrency level so "cold" means an empty cache.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
GEOGRAPHIES = ("BSol", "North", "South", "East", "West", "Central", "Solihull")
PERIOD_TYPES = ("quarter", "month", "financial_year")
MEASURE = "m12_hypertension_bp_target"
WORKERS, THREADS = 2, 4


def _id(text: str) -> Any:
    return json.loads(text) if text.startswith("{") else text


def _callbacks() -> dict[str, dict]:
    """The app's registered callbacks (the factory has set the server up: they are in its callback map)."""
    import app

    return {output: {**cb, "output": output} for output, cb in app.app.callback_map.items()}


def _outputs(output: str) -> Any:
    if output.startswith(".."):
        parts = [p for p in output.strip(".").split("...")]
        return [{"id": _id(p.rsplit(".", 1)[0]), "property": p.rsplit(".", 1)[1]} for p in parts]
    ident, prop = output.rsplit(".", 1)
    return {"id": _id(ident), "property": prop}


def _payload(cb: dict, values: dict[str, Any], state: dict[str, Any] | None = None) -> dict:
    def name(i: dict) -> str:
        ident = _id(i["id"])
        return ident["name"] if isinstance(ident, dict) else ident

    inputs = [{"id": _id(i["id"]), "property": i["property"], "value": values.get(name(i))} for i in cb["inputs"]]
    states = [{"id": _id(s["id"]), "property": s["property"], "value": (state or {}).get(name(s))}
              for s in cb.get("state", [])]
    return {"output": cb["output"], "outputs": _outputs(cb["output"]), "inputs": inputs, "state": states,
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in cb["inputs"]]}


def cases() -> dict[str, list[dict]]:
    """name -> one payload per filter combination (geography x period type)."""
    cbs = _callbacks()
    by_prefix = {k.split(".")[0].strip(".") if not k.startswith("..") else k[2:].split(".")[0]: v for k, v in cbs.items()}
    out: dict[str, list[dict]] = {}
    for geo in GEOGRAPHIES:
        loc = "" if geo == "BSol" else geo
        for pt in PERIOD_TYPES:
            common = {"locality": loc, "period_type": pt}
            out.setdefault("scorecard", []).append(_payload(by_prefix["home-content"], common))
            out.setdefault("measure_breakdown", []).append(_payload(
                by_prefix["measure-content"], {**common, "period": "latest", "breakdown": "imd_quintile"},
                {"measure-indicator-id": MEASURE}))
            if loc:
                out.setdefault("locality", []).append(_payload(by_prefix["locality-content"], common))
            out.setdefault("inequalities", []).append(_payload(by_prefix["inequalities-content"], common))
        out.setdefault("prepost", []).append(_payload(
            by_prefix["prepost-content"], {"locality": loc, "team": "all", "cohort": "pilot", "window": 6}))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir: str, port: int) -> subprocess.Popen:
    shutil.rmtree(Path(data_dir) / "page-cache", ignore_errors=True)  # cold: no answers kept from a last run
    env = {**os.environ, "BSOL_DATA_DIR": data_dir}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "--threads", str(THREADS), "-b", f"127.0.0.1:{port}",
         "--timeout", "300", "app:server"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=open(log, "ab") if (log := os.environ.get("BENCH_SERVE_LOG")) else subprocess.DEVNULL)  # noqa: SIM115
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_dash-layout", timeout=5).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def _worker_peak_mb(proc: subprocess.Popen) -> list[float]:
    peaks = []
    for child in psutil.Process(proc.pid).children():
        with open(f"/proc/{child.pid}/status") as f:
            hwm = next(line for line in f if line.startswith("VmHWM"))
        peaks.append(round(int(hwm.split()[1]) / 1024, 1))
    return peaks


def _post(session: requests.Session, url: str, payload: dict) -> tuple[float, int, int]:
    """Round trip, response bytes and HTTP status (errors are counted, not fatal: they are findings)."""
    started = time.perf_counter()
    try:
        r = session.post(url, json=payload, timeout=300)
    except requests.ConnectionError:  # a kept-alive connection the server had just closed: send again
        started = time.perf_counter()
        r = session.post(url, json=payload, timeout=300)
    return time.perf_counter() - started, len(r.content), r.status_code


def _stats(samples: list[tuple[float, int, int]]) -> dict[str, float]:
    ms = sorted(s[0] * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "kb": round(statistics.median(s[1] for s in samples) / 1024, 1),
            "errors": sum(1 for s in samples if s[2] != 200)}


def run(data_dir: str, warm_requests: int = 40, levels: tuple[int, ...] = (1, 8)) -> dict[str, Any]:
    payloads = cases()
    out: dict[str, Any] = {"workers": WORKERS, "threads": THREADS, "measure": MEASURE}
    for clients in levels:
        port = _free_port()
        proc = _start(data_dir, port)
        url = f"http://127.0.0.1:{port}/_dash-update-component"
        try:
            level: dict[str, Any] = {}
            with ThreadPoolExecutor(clients) as pool:
                sessions = [requests.Session() for _ in range(clients)]

                def batch(items: list[dict], sessions: list = sessions, url: str = url) -> list[tuple[float, int, int]]:
                    return list(pool.map(lambda ip: _post(sessions[ip[0] % len(sessions)], url, ip[1]),
                                         enumerate(items)))

                for name, items in payloads.items():
                    cold = batch(items)
                    for _ in range(3):  # every combination into every worker's cache
                        batch(items)
                    warm = batch([items[i % len(items)] for i in range(warm_requests)])
                    level[name] = {"cold": _stats(cold), "warm": _stats(warm)}
            level["worker_peak_rss_mb"] = _worker_peak_mb(proc)
            out[f"clients_{clients}"] = level
        finally:
            proc.terminate()
            proc.wait(30)
    return out


if __name__ == "__main__":
    # optional: python bench/serve.py DATA_DIR [CLIENT LEVELS, e.g. 8 or 1,8]
    print(json.dumps(run(sys.argv[1], levels=tuple(int(c) for c in (sys.argv[2] if len(sys.argv) > 2 else "1,8").split(","))),
                     indent=1))
