"""Serving through faults: the database goes missing, breaks or restarts, and a load lands while
people browse. Pages say so and recover without a restart; no response mixes two loads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from data_loaders.settings import AuthSettings
from tests.kat_data import frames
from tests.kat_db import build_kat_db
from tests.oidc_server import free_port
from tests.pg_server import PgServer, PgUnavailable
from tests.test_auth import callback_body, dash_app

ROOT = Path(__file__).resolve().parents[1]
MEASURE_CSV = "/download/measure/m05_ucr_2h.csv"
UNAVAILABLE = "The database is unavailable just now"


@pytest.fixture
def app_on(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app with everyone a data manager; `app_on(url)` points it at a database. Its page cache
    is this test's own (in the data folder it was created with), never the repository's `data/`."""
    from dataclasses import replace

    from app import create_app
    from callbacks.data import SETTINGS_KEY

    monkeypatch.setenv("BSOL_DATA_DIR", str(tmp_path_factory.mktemp("serving-app")))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    srv: Flask = create_app().server
    monkeypatch.setitem(srv.config, "BSOL_AUTH", AuthSettings(mode="none", default_role="data_manager",
                                                              secret_key=srv.config["SECRET_KEY"]))
    srv.test_client().get("/")  # Dash registers its callbacks on the first request

    def point(url: str, data_dir: Path) -> Flask:
        audit = f"sqlite:///{data_dir / 'audit.sqlite'}"
        monkeypatch.setitem(srv.config, SETTINGS_KEY, replace(srv.config[SETTINGS_KEY], database_url=url,
                                                              data_dir=data_dir, audit_url=audit))
        monkeypatch.setitem(srv.config, "BSOL_AUDIT_URL", audit)
        return srv

    yield point


def test_a_new_app_is_set_up_before_its_first_requests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dash sets up callbacks and the pages' title script on a first request, marking itself done
    before it has finished: a page served meanwhile lacked the script and its callback then failed
    in the browser. Every one of several concurrent first page loads must carry it."""
    from app import create_app

    monkeypatch.setenv("BSOL_DATA_DIR", str(tmp_path))  # never the repository's data/
    monkeypatch.delenv("DATABASE_URL", raising=False)
    srv: Flask = create_app().server
    monkeypatch.setitem(srv.config, "BSOL_AUTH", AuthSettings(mode="none", default_role="viewer",
                                                              secret_key=srv.config["SECRET_KEY"]))

    def first_page(_: int) -> str:
        response = srv.test_client().get("/")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(first_page, range(8)))
    assert all("document.title = data.title" in page for page in pages)


def _scorecard(client: Any) -> str:
    response = client.post("/_dash-update-component", json=callback_body(dash_app(), "home-content.children"))
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


def test_duckdb_file_missing_or_broken_then_back(app_on: Any, tmp_path: Path, kat_db: Path) -> None:
    db = tmp_path / "bsol.duckdb"
    shutil.copyfile(kat_db, db)
    client = app_on(f"duckdb:///{db}", tmp_path).test_client()
    assert "scorecard" in _scorecard(client) and client.get(MEASURE_CSV).status_code == 200
    away = tmp_path / "elsewhere.duckdb"
    os.replace(db, away)  # missing (e.g. an operator moved it)
    assert "No data loaded yet" in _scorecard(client)
    missing = client.get(MEASURE_CSV)
    assert missing.status_code in (404, 503) and b"Traceback" not in missing.data
    db.write_bytes(b"this is not a DuckDB database\n" * 200)  # swapped for something unreadable
    broken = _scorecard(client)
    assert UNAVAILABLE in broken and "Traceback" not in broken
    download = client.get(MEASURE_CSV)
    assert download.status_code == 503 and UNAVAILABLE.encode() in download.data
    os.replace(away, db)  # back: the same process serves it again
    assert "scorecard" in _scorecard(client) and UNAVAILABLE not in _scorecard(client)
    assert client.get(MEASURE_CSV).status_code == 200


@pytest.mark.postgres
def test_postgres_restart_is_survived(app_on: Any, tmp_path: Path) -> None:
    try:
        server = PgServer().start()
    except PgUnavailable as e:
        pytest.fail(f"PostgreSQL for the outage test: {e}", pytrace=False)
    try:
        build_kat_db(server.url)
        client = app_on(server.url, tmp_path).test_client()
        assert "scorecard" in _scorecard(client)
        server.pause()
        assert UNAVAILABLE in _scorecard(client)
        assert client.get(MEASURE_CSV).status_code == 503
        server.resume()
        assert "scorecard" in _scorecard(client) and UNAVAILABLE not in _scorecard(client)
        assert client.get(MEASURE_CSV).status_code == 200
    finally:
        server.stop()


# --------------------------------------------------------------------------- a load while people browse
CLIENTS, REQUESTS_EACH = 24, 10
WRITE_ID = re.compile(r"\b[0-9a-f]{32}\b")


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BSOL_DATA_DIR": str(data_dir), "AUTH_MODE": "none", "BSOL_DEFAULT_ROLE": "data_manager"}
    env.pop("DATABASE_URL", None)
    env.pop("BSOL_AUDIT_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "6", "--log-level",
                                "warning", "-b", f"127.0.0.1:{port}", "app:server"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"the app server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(base + "/", timeout=20).status_code == 200:
                return process, base
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    process.terminate()
    raise AssertionError("the app server did not start in 30 s")


def _data_page_version(session: requests.Session, base: str, body: dict[str, Any]) -> tuple[str, bool]:
    """(write id shown, does the load log show the new load?) from one Data page callback response."""
    response = session.post(base + "/_dash-update-component", json=body, timeout=60)
    response.raise_for_status()
    sections = [json.dumps(s) for s in response.json()["response"]["data-content"]["children"]["props"]["children"]]
    ids = set(WRITE_ID.findall(sections[0]))  # the Dataset panel
    assert len(ids) == 1, ids
    load_log = [s for s in sections if "Every load that landed" in s]  # not the (live) audit log
    assert len(load_log) == 1
    return ids.pop(), "gp_appointments.csv" in load_log[0]


def test_a_load_while_people_browse_gives_no_errors_and_no_mixed_versions(tmp_path: Path, kat_db: Path) -> None:
    shutil.copyfile(kat_db, tmp_path / "bsol.duckdb")
    extract = tmp_path / "in" / "gp_appointments.csv"
    extract.parent.mkdir()
    changed = frames()["gp_appointments"].copy()
    changed["appointments"] = changed["appointments"] * 3 + 1
    changed.to_csv(extract, index=False)
    process, base = _start_server(tmp_path)
    try:
        body = callback_body(dash_app(), "data-content.children")
        body["inputs"][0]["value"] = "/data"
        before = _data_page_version(requests.Session(), base, body)
        assert before[1] is False
        csv_before = requests.get(base + MEASURE_CSV, timeout=60).content
        load = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "load", str(extract)], cwd=ROOT,
                                env={**os.environ, "BSOL_DATA_DIR": str(tmp_path)}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

        for _ in range(600):  # start browsing once the load is writing (its working copy exists)
            if list(tmp_path.glob(".bsol.duckdb.loading-*")) or load.poll() is not None:
                break
            time.sleep(0.05)

        def browse(n: int) -> list[tuple[str, object]]:
            session, seen = requests.Session(), []

            def request(i: int) -> tuple[str, object]:
                if (n + i) % 3:
                    return "page", _data_page_version(session, base, body)
                got = session.get(base + MEASURE_CSV, timeout=60)
                got.raise_for_status()
                return "csv", got.content

            for i in range(REQUESTS_EACH):
                try:
                    try:
                        seen.append(request(i))
                    except requests.ConnectionError:
                        # gunicorn's threaded worker can reset a kept-alive connection as it closes
                        # it (benoitc/gunicorn#1698); browsers send again on a fresh connection, and
                        # so does this client, once
                        session = requests.Session()
                        seen.append(request(i))
                except Exception as error:  # every other failure is counted, none is fatal to the run
                    seen.append(("error", repr(error)))
                if i == REQUESTS_EACH // 2:
                    time.sleep(0.5)
            return seen

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [r for batch in pool.map(browse, range(CLIENTS)) for r in batch]
        out, err = load.communicate(timeout=300)
        assert load.returncode == 0, err
        after = _data_page_version(requests.Session(), base, body)
        csv_after = requests.get(base + MEASURE_CSV, timeout=60).content
    finally:
        process.terminate()
        process.wait(timeout=30)
        server_log = process.stderr.read().decode(errors="replace") if process.stderr else ""
    assert len(results) == CLIENTS * REQUESTS_EACH
    errors = [r for kind, r in results if kind == "error"]
    assert errors == [], f"{errors[:5]}\nserver log (tail):\n{server_log[-4000:]}"
    assert after[1] is True and after[0] != before[0], "the load landed and the pages show it"
    pages = [r for kind, r in results if kind == "page"]
    mixed = [p for p in pages if p not in (before, after)]
    assert mixed == [], f"{len(mixed)} responses mixed two loads: {mixed[:3]}"
    assert {c for kind, c in results if kind == "csv"} <= {csv_before, csv_after}


# --------------------------------------------------------------------------- the page-response cache
def test_a_page_answer_is_kept_per_role_data_version_and_policy(app_on: Any, tmp_path: Path, kat_db: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeated page callback is answered from the response cache (caching.py), byte for byte, and
    only for the same role, data version and policy; the access and stale-policy checks still run."""
    import gzip
    import shutil
    from dataclasses import replace

    from caching import CACHE_HEADER
    from callbacks.data import SETTINGS_KEY
    from data_loaders.db import write_transaction
    from layouts import ids
    from metrics.pipeline import set_dataset_info

    db = tmp_path / "bsol.duckdb"
    shutil.copyfile(kat_db, db)
    srv = app_on(f"duckdb:///{db}", tmp_path)
    client = srv.test_client()
    body = callback_body(dash_app(), f"{ids.HOME_CONTENT}.children")

    def post(**headers: str) -> Any:
        response = client.post("/_dash-update-component", json=body, headers=headers)
        assert response.status_code == 200, response.data[:300]
        return response

    first = post()
    assert first.headers[CACHE_HEADER] == "miss" and b"scorecard" in first.data
    again = post()
    assert again.headers[CACHE_HEADER] == "hit" and again.data == first.data
    zipped = post(**{"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
    from app import create_app

    other = create_app().server  # another worker process on the same machine: the answer is shared
    for key in ("BSOL_AUTH", SETTINGS_KEY, "BSOL_AUDIT_URL"):
        monkeypatch.setitem(other.config, key, srv.config[key])
    shared = other.test_client().post("/_dash-update-component", json=body)
    assert shared.headers[CACHE_HEADER] == "hit" and shared.data == first.data

    auth = srv.config["BSOL_AUTH"]
    monkeypatch.setitem(srv.config, "BSOL_AUTH", replace(auth, default_role="viewer"))  # another role: its own answer
    assert post().headers[CACHE_HEADER] == "miss" and post().headers[CACHE_HEADER] == "hit"
    monkeypatch.setitem(srv.config, "BSOL_AUTH", replace(auth, default_role="none"))
    assert client.post("/_dash-update-component", json=body).status_code in (401, 403)  # the access check first
    monkeypatch.setitem(srv.config, "BSOL_AUTH", auth)

    with write_transaction(f"duckdb:///{db}") as conn:  # a load lands: a new data version
        set_dataset_info(conn, {"note": "reloaded"})
    assert post().headers[CACHE_HEADER] == "miss"

    settings = srv.config[SETTINGS_KEY]
    monkeypatch.setitem(srv.config, SETTINGS_KEY, replace(settings, round_to=settings.round_to * 2))
    stale = client.post("/_dash-update-component", json=body)  # results flagged under another policy
    assert stale.status_code == 503 and CACHE_HEADER not in stale.headers
    monkeypatch.setitem(srv.config, SETTINGS_KEY, settings)

    for key in (f"{ids.DATA_CONTENT}.children", f"..{ids.PACK_DOWNLOAD}.data...{ids.PACK_STATUS}.children.."):
        other = client.post("/_dash-update-component", json=callback_body(dash_app(), key))
        assert CACHE_HEADER not in other.headers, key  # never kept: the Data page's logs, the pack file
