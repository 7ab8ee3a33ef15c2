"""Measure-page render time in headless Chromium: time until every loading state clears.

Not part of the test suite (timings are never asserted). Serves the app on a database you name and
opens each page in a fresh tab:

    BSOL_DATA_DIR=/tmp/copy-of-full .venv/bin/python bench/page_render.py [--port 8071] [--out FILE.json]

For each page: seconds until the content area holds no loading state, DOM node count, size of the
JSON the callbacks returned (KB), and how many callback requests fire in the 5 s after the page
settled with no user action (should be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
INDICATORS = ("m12_hypertension_bp_target", "m05_ucr_2h", "m09_falls_65", "m14_deaths_usual_residence",
              "m19_gp_same_day")
SETTLED_JS = """
const content = document.querySelector(arguments[0]);
if (!content || content.children.length === 0) return false;
return document.querySelectorAll("._dash-loading, [data-dash-is-loading='true']").length === 0;
"""
CALLBACKS_JS = """
return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'))
  .map(e => ({start: e.startTime, size: e.encodedBodySize || e.transferSize || 0}));
"""


def driver() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def render(drv: webdriver.Chrome, url: str, content: str, timeout: float = 120.0, quiet: float = 5.0) -> dict:
    drv.get("about:blank")
    t0 = time.perf_counter()
    drv.get(url)
    settled = None
    while time.perf_counter() - t0 < timeout:
        if drv.execute_script(SETTLED_JS, content):
            settled = time.perf_counter() - t0
            break
        time.sleep(0.05)
    before = drv.execute_script(CALLBACKS_JS)
    time.sleep(quiet)
    after = drv.execute_script(CALLBACKS_JS)
    nodes = drv.execute_script("return document.getElementsByTagName('*').length")
    return {"url": url, "render_s": None if settled is None else round(settled, 2), "dom_nodes": nodes,
            "callbacks": len(before), "callback_kb": round(sum(e["size"] for e in before) / 1024, 1),
            "callbacks_after_settle": len(after) - len(before)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8071)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--localities", default="BSol,East")
    args = ap.parse_args()
    env = {**os.environ, "BSOL_PORT": str(args.port)}
    # Served as `python app.py` and gunicorn workers serve (app.warm_up once the process starts;
    # here before the first page is timed, since a visitor rarely arrives in the first second).
    server = subprocess.Popen([sys.executable, "-c", f"import app; a = app.default_app(); app.warm_up(a); "
                               f"a.run(port={args.port})"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        drv = driver()
        rows = []
        try:
            for loc in args.localities.split(","):
                q = "" if loc == "BSol" else f"?locality={loc}"
                for ind in INDICATORS:
                    rows.append(render(drv, f"{base}/measure/{ind}{q}", "#measure-content"))
                    print(json.dumps(rows[-1]), flush=True)
                rows.append(render(drv, f"{base}/{q}", "#home-content"))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            drv.quit()
    finally:
        server.terminate()
        server.wait(10)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
