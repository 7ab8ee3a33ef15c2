"""Cached reads of stored results for the pages: never raw rows, never a recompute on a click.

Cache keys include the data version, so a load that lands is visible on the next request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import pandas as pd
from flask import Response, current_app, has_request_context, jsonify, request
from sqlalchemy import Connection

from caching import cache
from data_loaders.db import (
    database_exists,
    database_file,
    read_dataset_info,
    read_engine,
    stamped_version,
)
from data_loaders.dialect import snapshot
from data_loaders.settings import Settings
from metrics import events, results
from metrics import quality as quality_mod
from metrics.catalogue import INDICATORS_BY_ID
from metrics.disclosure import Col, DisclosurePolicy, Kind, protect, stale_policy

SETTINGS_KEY = "BSOL_SETTINGS"  # set by app.create_app: the settings the serving app was built with


def settings() -> Settings:
    """The serving app's settings (resolved once, at the edge, by app.create_app)."""
    return current_app.config[SETTINGS_KEY]


def _url() -> str:
    return settings().database_url


def prepost_window() -> int:
    """The configured pre/post window (BSOL_PREPOST_MONTHS), stored beside 3, 6 and 12."""
    return settings().prepost_window_months


def policy() -> DisclosurePolicy:
    """The disclosure policy of the serving app's settings."""
    return DisclosurePolicy.from_settings(settings())


def stale_results() -> str | None:
    """Why the stored results cannot be served under the app's policy (None: they can)."""
    info = _dataset_info(served_version(), _url())
    if not info:
        return None  # nothing loaded: the pages say so themselves
    return stale_policy(info, policy())


def refuse_stale_results() -> Response | None:
    """before_request: data routes refuse stored flags worked out under another policy (run refresh)."""
    from access import DASH_CALLBACK_PATH
    from auth import is_database_error

    if not request.path.startswith(("/download", DASH_CALLBACK_PATH)):
        return None
    try:
        problem = stale_results()
    except Exception as error:  # a database that is down: the route itself answers that (in-page or 503)
        if not is_database_error(error):
            raise
        return None
    if problem is None:
        return None
    response = jsonify({"error": problem})
    response.status_code = 503
    return response


_PINNED = "bsol.read_connection"


@contextmanager
def _reader() -> Iterator[Connection]:
    """The request's one read connection: every read while answering a request sees the same data.

    A load that lands mid-request is not mixed in: a DuckDB connection keeps reading the file it
    opened (the load swaps in a new file), a PostgreSQL one reads one REPEATABLE READ snapshot.
    Outside a request (the CLI, tests calling helpers) each use gets its own short connection.
    """
    if not has_request_context():
        with read_engine(_url()).connect() as conn:
            yield snapshot(conn)
        return
    env = request.environ
    if _PINNED not in env:
        env[_PINNED] = snapshot(read_engine(_url()).connect())
    yield env[_PINNED]


def close_request_connection(_error: BaseException | None = None) -> None:
    """Flask teardown_request hook: close the request's read connection (see _reader)."""
    conn = request.environ.pop(_PINNED, None) if has_request_context() else None
    if conn is not None:
        conn.close()


def version() -> str:
    """The data version this request reads (the write id stamped by every load), once per request."""
    if has_request_context() and "bsol.version" in request.environ:
        return request.environ["bsol.version"]
    path = database_file(_url())
    if path is not None and not path.exists():
        value = "none"
    else:
        with _reader() as conn:
            value = stamped_version(conn)
    if has_request_context():
        request.environ["bsol.version"] = value
    return value


def served_version() -> str:
    """The data version, cheaply: for the response cache's key and the stale-policy check, which run
    before every callback, hit or miss. An embedded file's id is read at most once a second (see
    ``_file_version``), so a load is served within a second of landing; anything that shows the
    version itself reads ``version()``, from the request's own connection."""
    path = database_file(_url())
    return version() if path is None else _file_version(path)


_FILE_VERSIONS: dict[tuple[str, int, int, int], tuple[str, float]] = {}
FILE_VERSION_SECONDS = 1.0


def _file_version(path: Path) -> str:
    """An embedded file's write id, read at most once a second per file.

    Why: so a request whose answer is cached need not open the database. Every write swaps in a
    new file (new inode, size or modification time), but the id is only trusted for a second:
    DuckDB hands a new connection the database instance another request still holds open, which
    can be the file a load has just replaced, so the id read then may be the old one.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return "none"
    ident = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    now = time.monotonic()
    known = _FILE_VERSIONS.get(ident)
    if known is not None and now - known[1] < FILE_VERSION_SECONDS:
        return known[0]
    with _reader() as conn:
        value = stamped_version(conn)
    if len(_FILE_VERSIONS) > 64:
        _FILE_VERSIONS.clear()
    _FILE_VERSIONS[ident] = (value, now)
    return value


@cache.memoize()
def _results(version_key: str, indicator_ids: tuple[str, ...] | None, period_type: str | None,
             geography_level: str | None, geographies: tuple[str, ...] | None, breakdown: str | None) -> pd.DataFrame:
    with _reader() as conn:
        frame = results.read_results(conn, list(indicator_ids) if indicator_ids else None, period_type,
                                     geography_level, list(geographies) if geographies else None, breakdown)
    return results.for_display(frame, policy())


def exact_results(indicator_ids: list[str], period_type: str | None = None) -> pd.DataFrame:
    """Exact stored results (no disclosure control): only for a data manager's audited exact export."""
    with read_engine(_url()).connect() as conn:
        frame = results.read_results(conn, indicator_ids, period_type)
    return frame.assign(suppressed=False)


def display_results(indicator_ids: list[str] | None = None, period_type: str | None = None,
                    geography_level: str | None = None, geographies: list[str] | None = None,
                    breakdown: str | None = None) -> pd.DataFrame:
    """Results after disclosure control, as every page and download must show them."""
    return _results(version(), tuple(indicator_ids) if indicator_ids else None, period_type, geography_level,
                    tuple(geographies) if geographies else None, breakdown)


@cache.memoize()
def _compared(version_key: str, indicator_ids: tuple[str, ...] | None, period_type: str | None,
              geography_level: str | None, geographies: tuple[str, ...] | None, breakdown: str | None) -> pd.DataFrame:
    frame = _results(version_key, indicator_ids, period_type, geography_level, geographies, breakdown)
    if geography_level is None and geographies is None and breakdown in (None, "none"):
        bsol = frame[(frame["geography_level"] == "bsol") & (frame["breakdown"] == "none")]  # already read
    else:
        bsol = _results(version_key, indicator_ids, period_type, "bsol", None, "none")
    return results.with_comparisons(frame, pd.concat([frame[frame["breakdown"] == "none"], bsol], ignore_index=True))


def compared_results(indicator_ids: list[str] | None = None, period_type: str | None = None,
                     geography_level: str | None = None, geographies: list[str] | None = None,
                     breakdown: str | None = None) -> pd.DataFrame:
    """``display_results`` with each row's comparison with its benchmark (``results.with_comparisons``):
    what the charts and grids colour, worked out before any layout draws it."""
    return _compared(version(), tuple(indicator_ids) if indicator_ids else None, period_type, geography_level,
                     tuple(geographies) if geographies else None, breakdown)


@cache.memoize()
def _inequality(version_key: str, indicator_id: str, period_type: str | None) -> pd.DataFrame:
    from metrics import inequality

    with _reader() as conn:
        return inequality.read_inequality(conn, indicator_id, period_type)


def inequality_rows(indicator_id: str, period_type: str | None) -> pd.DataFrame:
    """Stored SII/RII rows (computed at refresh from non-suppressed quintiles) for one indicator."""
    return _inequality(version(), indicator_id, period_type)


@cache.memoize()
def _spc_chart(version_key: str, indicator_id: str, level: str, geography: str,
               period_type: str | None) -> tuple[pd.DataFrame, object] | None:
    ind = INDICATORS_BY_ID[indicator_id]
    with _reader() as conn:
        exact = results.read_results(conn, [indicator_id], period_type, level, [geography], "none")
        area_events = events.read_events(conn, level, geography)
    if exact.empty:
        return None
    exact = exact.sort_values("period_start", ignore_index=True)
    shown = results.for_display(exact, policy())  # SPC icons from the controlled values, as the chart
    return (results.spc_frame(exact, ind, policy(), area_events=area_events, shown=shown),
            results.spc_summary(shown, ind, area_events))


def spc_chart(indicator_id: str, level: str, geography: str,
              period_type: str | None) -> tuple[pd.DataFrame, results.spc.SpcSummary] | None:
    """XmR frame and icons for one series, computed on exact values and safe to show (or None)."""
    return _spc_chart(version(), indicator_id, level, geography, period_type)  # type: ignore[return-value]


@cache.memoize()
def _scorecard(version_key: str, level: str, geography: str, period_type: str | None) -> list[dict[str, object]]:
    # Cached as plain dicts: Indicator holds lambdas (filters), which cannot be pickled.
    with _reader() as conn:
        rows = results.scorecard(conn, level, geography, period_type, policy())
    return [{f.name: (r.indicator.id if f.name == "indicator" else getattr(r, f.name)) for f in fields(r)}
            for r in rows]


def scorecard(level: str = "bsol", geography: str = "BSol", period_type: str | None = None) -> list[results.ScorecardRow]:
    return [results.ScorecardRow(**{**row, "indicator": INDICATORS_BY_ID[row["indicator"]]})  # type: ignore[arg-type]
            for row in _scorecard(version(), level, geography, period_type)]


@cache.memoize()
def _dataset_info(version_key: str, url: str) -> dict[str, str]:
    if not database_exists(url):
        return {}
    with _reader() as conn:
        return read_dataset_info(conn)


def dataset_info() -> dict[str, str]:
    return _dataset_info(version(), _url())


def is_demo() -> bool:
    return dataset_info().get("is_demo", "").lower() == "true"


# --------------------------------------------------------------------------- reference + quality
@cache.memoize()
def _geography_tree(version_key: str) -> pd.DataFrame:
    if not database_exists(_url()):
        return quality_mod.geography_tree_empty()
    with _reader() as conn:
        return quality_mod.geography_tree(conn)


def geography_tree() -> pd.DataFrame:
    """Practice -> neighbourhood -> locality -> place lookup (reference data only)."""
    return _geography_tree(version())


def neighbourhoods_of(locality: str) -> list[str]:
    tree = geography_tree()
    return sorted(tree.loc[tree["locality"] == locality, "neighbourhood"].unique().tolist())


def practice_names() -> dict[str, str]:
    """Practice code -> name (reference data), shown beside codes in tables and downloads."""
    tree = geography_tree()
    return {str(c): str(n) for c, n in zip(tree["practice_code"], tree["practice_name"], strict=True) if n}


def practices_of(locality: str) -> list[str]:
    tree = geography_tree()
    return sorted(tree.loc[tree["locality"] == locality, "practice_code"].unique().tolist())


@cache.memoize()
def _quality(version_key: str) -> tuple[pd.DataFrame, list[quality_mod.Completeness]]:
    if not database_exists(_url()):
        return pd.DataFrame(), []
    with _reader() as conn:
        return quality_mod.read_coverage(conn), quality_mod.read_completeness(conn)  # stored at refresh


def source_coverage() -> pd.DataFrame:
    return _quality(version())[0]


def completeness() -> list[quality_mod.Completeness]:
    return _quality(version())[1]


def completeness_display() -> pd.DataFrame:
    """Completeness of the patient spine through the disclosure policy (metrics.quality)."""
    return quality_mod.completeness_for_display(completeness(), policy())


def rows_display(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A table of row counts (source coverage, load log) with its counts under the policy."""
    if frame.empty or column not in frame:
        return frame
    return protect(frame, {column: Col(Kind.DETAIL)}, policy()).drop(columns="suppressed")


def load_log() -> pd.DataFrame:
    from data_loaders.load import read_load_log

    with _reader() as conn:
        return read_load_log(_url(), conn)


def audit_log(limit: int | None = 200) -> pd.DataFrame:
    """The audit log, newest first (never cached: it changes with every sign-in)."""
    from data_loaders.audit import read_audit

    return read_audit(settings().audit_url, limit=limit)


def rejections() -> list[dict[str, object]]:
    from data_loaders.load import read_rejections

    return read_rejections(settings().data_dir)


@cache.memoize()
def _has_results(version_key: str, url: str) -> bool:
    return database_exists(url)


def has_results() -> bool:
    return _has_results(version(), _url())


def build_pack(place: str, period: str | None = None) -> bytes | None:
    """Run the Excel pack builder (exports.pack.build_pack) on a short-lived read connection."""
    from exports import pack

    if not database_exists(_url()):
        return None
    with _reader() as conn:
        return pack.build_pack(conn, place, period, rule=policy(), prepost_window=prepost_window())


@cache.memoize()
def _prepost(version_key: str, cohort: str, window: int) -> pd.DataFrame:
    from metrics import prepost

    if not database_exists(_url()):
        return pd.DataFrame()
    with _reader() as conn:
        return prepost.for_display(prepost.read_prepost(conn, cohort, window), policy())


def prepost_display(cohort: str = "pilot", window: int = 6) -> pd.DataFrame:
    """Stored pre/post INT rows for one cohort preset and window, after disclosure control."""
    return _prepost(version(), cohort, window)


@cache.memoize()
def _int_teams(version_key: str) -> pd.DataFrame:
    from metrics import prepost

    if not database_exists(_url()):
        return pd.DataFrame(columns=["int_team_code", "int_team", "locality"])
    with _reader() as conn:
        return prepost.int_teams(conn)


def int_teams() -> pd.DataFrame:
    """INT teams (reference data): int_team_code, int_team, locality."""
    return _int_teams(version())


@cache.memoize()
def _caseload_profile(version_key: str, scope: str, cohort: str) -> pd.DataFrame:
    from metrics import prepost

    if not database_exists(_url()):
        return pd.DataFrame()
    with _reader() as conn:  # stored at refresh: no patient rows read here
        return prepost.profile_for_display(prepost.read_profile(conn, scope, cohort), policy())


def caseload_profile_display(scope: str = "BSol", cohort: str = "pilot") -> pd.DataFrame:
    """Caseload profile (an INT code, a locality or BSol) for a cohort preset, after disclosure control."""
    return _caseload_profile(version(), scope, cohort)


@cache.memoize()
def _cohort_flow_total(version_key: str, cohort: str, window: int) -> dict[str, float]:
    from metrics import prepost

    if not database_exists(_url()):
        return {}
    with _reader() as conn:
        flow = prepost.read_flow(conn, cohort, window)  # stored at refresh: no patient rows read here
    total = flow[flow["int_team_code"] == prepost.TOTAL_CODE]
    if total.empty:
        return {}
    return prepost.flow_for_display({k: float(v) for k, v in total.iloc[0].items() if k != "int_team_code"},
                                    policy())


def cohort_flow_total(cohort: str = "pilot", window: int = 6) -> dict[str, float]:
    """Who the rules leave out, BSol Total only (metrics.prepost.flow_for_display: 1-7 hidden as NaN)."""
    return _cohort_flow_total(version(), cohort, window)
