"""Stored pre/post results: compute every preset x window at refresh and read them back.

Why this module exists: pages read precomputed results only, so the refresh (delete + insert into
prepost_result) and the read API are one small module between the computation and the callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, or_, select

from data_loaders.db import ensure_derived_table
from data_loaders.extracts import LOCALITIES
from data_loaders.tables import caseload_profile_result, prepost_flow, prepost_result
from metrics.prepost.cohorts import (
    ACTIVITIES,
    COHORT_PRESETS,
    DEFAULT_WINDOW,
    DID_COLUMNS,
    STORED_WINDOWS,
    TOTAL_CODE,
    _compute,
    _teams,
    _window,
    cohort_flow,
)
from metrics.prepost.matching import _did_for
from metrics.prepost.profile import PROFILE_COLUMNS, caseload_profile
from metrics.prepost.table import _label, _summarise


# ------------------------------------------------------------------------------ stored results
def _preset_dates(cohort: str) -> tuple[str, date | None, date | None]:
    try:
        return COHORT_PRESETS[cohort]
    except KeyError:
        raise ValueError(f"unknown cohort {cohort!r}; presets: {', '.join(COHORT_PRESETS)}") from None


def compute_preset(conn: Connection, cohort: str = "pilot", window_months: int = DEFAULT_WINDOW,
                   with_did: bool = True, data_start: date | None = None,
                   data_end: date | None = None) -> pd.DataFrame:
    """The stored shape for one preset and window: table rows plus comparison-cohort columns."""
    _label_text, frm, to = _preset_dates(cohort)
    w = _window(conn, window_months, frm, to, data_start, data_end)
    people, per = _compute(conn, w)
    if per.empty:
        return pd.DataFrame(columns=[c.name for c in prepost_result.columns])
    table = _label(_summarise(per), _teams(conn))
    if with_did:
        did = _did_for(conn, w, people, per).rename(columns={"grp": "int_team_code"})
        table = table.merge(did, on=["int_team_code", "activity"], how="left")
    for col in DID_COLUMNS:
        if col not in table:
            table[col] = math.nan
    table["cohort"] = cohort
    table["window_months"] = w.months
    table["cohort_from"], table["cohort_to"] = frm, to
    table["data_start"], table["data_end"] = w.data_start, w.data_end
    table["geography_level"] = np.where(table["int_team_code"] == TOTAL_CODE, "bsol", "int")
    table["computed_at"] = datetime.now().replace(microsecond=0)
    return table[[c.name for c in prepost_result.columns]]


def stored_windows(configured: int = DEFAULT_WINDOW) -> tuple[int, ...]:
    """Windows refreshed: 3, 6, 12 and the configured one (BSOL_PREPOST_MONTHS, read by the edges)."""
    return tuple(sorted({*STORED_WINDOWS, configured}))


def stored_did_windows(configured: int = DEFAULT_WINDOW) -> tuple[int, ...]:
    """Windows that also get the comparison cohort (the costly part): 6 and the configured one."""
    return tuple(sorted({DEFAULT_WINDOW, configured}))


def refresh_prepost(conn: Connection, windows: Sequence[int] | None = None,
                    cohorts: Sequence[str] | None = None,
                    did_windows: Sequence[int] | None = None, configured: int = DEFAULT_WINDOW) -> int:
    """Recompute prepost_result (delete + insert, inside the caller's transaction): every preset x
    stored window (3, 6, 12 and the configured window); the comparison cohort for ``did_windows``
    (default 6 and the configured window; NULL elsewhere). Aggregates only. Returns rows written."""
    windows = tuple(windows or stored_windows(configured))
    cohorts = tuple(cohorts or COHORT_PRESETS)
    with_did = set(did_windows if did_windows is not None else stored_did_windows(configured))
    frames = [compute_preset(conn, c, wm, with_did=wm in with_did) for c in cohorts for wm in windows]
    frames = [f for f in frames if not f.empty]
    ensure_derived_table(conn, prepost_result)
    conn.execute(sa.delete(prepost_result))
    if not frames:
        return 0
    out = pd.concat(frames, ignore_index=True)
    ints = {c.name for c in prepost_result.columns if isinstance(c.type, sa.Integer)}
    records = [{k: _db_value(v, k in ints) for k, v in r.items()} for r in out.to_dict("records")]
    conn.execute(sa.insert(prepost_result), records)
    return len(records)


FLOW_COUNTS = ("on_caseload", "in_cohort_dates", "pre_before_data", "post_incomplete", "died_before_index",
               "included")


def refresh_flow(conn: Connection, configured: int = DEFAULT_WINDOW, cohorts: Sequence[str] | None = None) -> int:
    """Recompute prepost_flow (delete + insert, in the caller's transaction) for every preset x
    stored window, so the page's "who is counted" sentence reads stored counts. Returns rows written."""
    ensure_derived_table(conn, prepost_flow)
    conn.execute(sa.delete(prepost_flow))
    records = []
    for cohort in cohorts or COHORT_PRESETS:
        _label_text, frm, to = _preset_dates(cohort)
        for window in stored_windows(configured):
            flow = cohort_flow(conn, window, frm, to)
            records += [{"cohort": cohort, "window_months": window, "int_team_code": str(r["int_team_code"]),
                         **{k: int(r[k] or 0) for k in FLOW_COUNTS}} for r in flow.to_dict("records")]
    if records:
        conn.execute(sa.insert(prepost_flow), records)
    return len(records)


def read_flow(conn: Connection, cohort: str, window_months: int) -> pd.DataFrame:
    """Stored cohort flow of one preset and window: int_team_code and the FLOW_COUNTS (exact)."""
    t = prepost_flow
    if not sa.inspect(conn).has_table(t.name):  # a database refreshed before the table existed
        return pd.DataFrame(columns=["int_team_code", *FLOW_COUNTS])
    stmt = (select(t.c.int_team_code, *(t.c[k] for k in FLOW_COUNTS))
            .where(t.c.cohort == cohort, t.c.window_months == int(window_months)).order_by(t.c.int_team_code))
    return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=["int_team_code", *FLOW_COUNTS])


def profile_scopes(conn: Connection) -> list[str]:
    """What the pre/post page can ask a profile of: BSol, each locality and each INT team code."""
    teams = _teams(conn)
    codes = sorted(str(c) for c in teams["grp"]) if not teams.empty else []
    return ["BSol", *LOCALITIES, *codes]


def refresh_profile(conn: Connection, cohorts: Sequence[str] | None = None) -> int:
    """Recompute caseload_profile_result (delete + insert, in the caller's transaction) for every
    preset x scope, so the page reads stored counts, never patient rows. Returns rows written."""
    ensure_derived_table(conn, caseload_profile_result)
    conn.execute(sa.delete(caseload_profile_result))
    records: list[dict[str, object]] = []
    scopes = profile_scopes(conn)
    for cohort in cohorts or COHORT_PRESETS:
        _label_text, frm, to = _preset_dates(cohort)
        for scope in scopes:
            profile = caseload_profile(conn, scope, cohort_from=frm, cohort_to=to)
            records += [{"cohort": cohort, "position": i, **{k: _db_value(r[k]) for k in PROFILE_COLUMNS}}
                        for i, r in enumerate(profile.to_dict("records"))]
    if records:
        conn.execute(sa.insert(caseload_profile_result), records)
    return len(records)


def read_profile(conn: Connection, scope: str, cohort: str) -> pd.DataFrame:
    """Stored caseload profile of one scope and preset (exact; ``profile_for_display`` protects it),
    in the columns and row order ``caseload_profile`` returns. Empty for an unknown scope, or a
    database refreshed before the table existed (until the next refresh)."""
    t = caseload_profile_result
    if not sa.inspect(conn).has_table(t.name):
        return pd.DataFrame(columns=list(PROFILE_COLUMNS))
    stmt = (select(*(t.c[k] for k in PROFILE_COLUMNS))
            .where(t.c.cohort == cohort, t.c.caseload_of == scope.strip()).order_by(t.c.position))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=list(PROFILE_COLUMNS))
    return frame.assign(flag=frame["flag"].fillna(""))


def _db_value(v: object, integer: bool = False) -> object:
    """A DataFrame cell as a DB-API value: NaN/inf -> NULL, numpy scalars -> Python."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            return None
        return int(round(float(v))) if integer else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def read_prepost(conn: Connection, cohort: str = "pilot", window_months: int = DEFAULT_WINDOW,
                 teams: Sequence[str] | None = None) -> pd.DataFrame:
    """Stored rows for one preset and window (exact values), teams then Total, plan column order.

    Empty when that window was not stored: callers may fall back to ``compute_preset``.
    """
    t = prepost_result
    stmt = select(t).where(t.c.cohort == cohort, t.c.window_months == int(window_months))
    if teams:
        stmt = stmt.where(or_(t.c.int_team_code.in_(list(teams)), t.c.int_team.in_(list(teams)),
                              t.c.int_team_code == TOTAL_CODE))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in t.columns])
    if frame.empty:
        return frame
    frame["_total"] = frame["int_team_code"] == TOTAL_CODE
    frame["_act"] = frame["activity"].map({a: i for i, a in enumerate(ACTIVITIES)})
    frame = frame.sort_values(["_total", "int_team_code", "_act"], ignore_index=True)
    return frame.drop(columns=["_total", "_act"])
