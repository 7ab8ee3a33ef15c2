"""The Implementation Plan's pre/post table: per INT team (and Total) and activity, the counts,
rates and rate ratios, and the plan's three-rows-per-INT layout.

Why this module exists: it turns the cohort's per-person counts into the headline table, kept apart
from the comparison cohort and the stored-results code so each can change alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Connection

from metrics.prepost.cohorts import (
    ACTIVITIES,
    ACTIVITY_LABELS,
    DEFAULT_WINDOW,
    PHASE_LABELS,
    TABLE_COLUMNS,
    TOTAL_CODE,
    TOTAL_NAME,
    _compute,
    _teams,
    _window,
)
from metrics.prepost.stats import rate_ratio_exact, rate_ratio_robust


def _summarise(per: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (grp, act), g in per.groupby(["grp", "activity"], sort=False):
        pre, post = int(g["pre"].sum()), int(g["post"].sum())
        t0, t1 = float(g["pre_py"].sum()), float(g["post_py"].sum())
        n = len(g)
        rr, lo, hi = rate_ratio_exact(pre, post, t0, t1)
        rlo, rhi = rate_ratio_robust(g["pre"].to_numpy(), g["post"].to_numpy(),
                                     g["pre_py"].to_numpy(), g["post_py"].to_numpy())
        rows.append({
            "grp": grp, "activity": act, "people": n, "died_in_post": int(g["died_in_post"].sum()),
            "pre": pre, "post": post, "variance": post - pre,
            "pct_change": (post - pre) / pre * 100 if pre else math.nan,
            "pre_person_years": t0, "post_person_years": t1,
            "pre_per_person": pre / n, "post_per_person": post / n,
            "pre_rate": pre / t0 if t0 > 0 else math.nan,
            "post_rate": post / t1 if t1 > 0 else math.nan,
            "rate_ratio": rr, "rate_ratio_lower": lo, "rate_ratio_upper": hi,
            "rr_robust_lower": rlo, "rr_robust_upper": rhi,
        })
    return pd.DataFrame(rows)


def _label(summary: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    out = summary.merge(teams, on="grp", how="left")
    total = out["grp"] == TOTAL_CODE
    out["int_team"] = out["int_team"].where(out["int_team"].notna(), out["grp"])
    out.loc[total, "int_team"] = TOTAL_NAME
    out.loc[total, "locality"] = None
    out = out.rename(columns={"grp": "int_team_code"})
    out["_total"] = total
    out["_act"] = out["activity"].map({a: i for i, a in enumerate(ACTIVITIES)})
    out = out.sort_values(["_total", "int_team_code", "_act"], ignore_index=True)
    return out.drop(columns=["_total", "_act"])


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})


def prepost_table(conn: Connection, window_months: int = DEFAULT_WINDOW,
                  cohort_from: date | None = None, cohort_to: date | None = None,
                  data_start: date | None = None, data_end: date | None = None) -> pd.DataFrame:
    """One row per (INT team or Total, activity): the plan's counts plus rates and rate ratios.

    Exact values (no disclosure control: use ``for_display`` before showing them). ``data_start``
    / ``data_end`` default to dataset_info ('data_start', 'data_end'), then 2023-04-01 / the end
    of the last complete month (as the measures). Rate ratio = post rate / pre rate (per
    person-year alive): ``rate_ratio_lower/upper`` exact conditional (Poisson),
    ``rr_robust_lower/upper`` person-clustered log-normal. Columns: TABLE_COLUMNS.
    """
    w = _window(conn, window_months, cohort_from, cohort_to, data_start, data_end)
    _people_frame, per = _compute(conn, w)
    if per.empty:
        return _empty_table()
    return _label(_summarise(per), _teams(conn))[list(TABLE_COLUMNS)]


def plan_layout(table: pd.DataFrame, teams: Sequence[str] | None = None) -> pd.DataFrame:
    """The plan's layout (F4:376-385): three rows per INT and Total, one column per activity.

    Works on exact (``prepost_table``/``read_prepost``) or displayed (``for_display``) frames;
    suppressed cells stay NaN. ``teams`` (INT names) limits and orders the INT rows.
    """
    if table.empty:
        return pd.DataFrame(columns=["INT", "MEASURE", *ACTIVITY_LABELS.values()])
    names = list(dict.fromkeys(table.loc[table["int_team_code"] != TOTAL_CODE, "int_team"]))
    if teams is not None:
        names = [t for t in teams if t in names]
    names.append(TOTAL_NAME)
    rows = []
    for name in names:
        sub = table[table["int_team"] == name].set_index("activity")
        if sub.empty:
            continue
        for phase, label in PHASE_LABELS.items():
            row: dict[str, object] = {"INT": name.upper(), "MEASURE": label}
            for act, col in ACTIVITY_LABELS.items():
                row[col] = sub.at[act, phase] if act in sub.index else math.nan
            rows.append(row)
    return pd.DataFrame(rows)
