"""Person-clustered intervals for caseload rates, from per-person counts at refresh.

Why: the catalogue declares ``dispersion="person_clustered"`` for rates whose events recur within
people (INT caseload activity per person-year). Their Poisson (Byar's) interval treats every event
as independent; here each area's interval is the sandwich one (``stats.clustered_rate_ci_array``),
made from each person's events y_i and person-time t_i in the period, so the stored limits (and
the funnel built from them) are honest about a few high users driving the rate.

Only the area rows (breakdown "none") are replaced; breakdown groups keep their Poisson interval and
say so in ``interval_method``. Per-person rows never leave this module: only group sums do.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from data_loaders.dialect import fetch_frame
from metrics import stats
from metrics.catalogue import CaseloadExposure, Events, Indicator
from metrics.dimensions import LEVEL_KEYS

GEO = ["place", "locality", "neighbourhood", "practice"]


def applies(ind: Indicator) -> bool:
    """Person-clustered rates: events per person-time on a caseload."""
    return (ind.dispersion == "person_clustered" and isinstance(ind.numerator, Events)
            and isinstance(ind.denominator, CaseloadExposure))


def _per_person(conn: Connection, ind: Indicator, periods_df: pd.DataFrame, data_end: date) -> pd.DataFrame:
    """Each person's events (y) and person-time (t) per period and geography (in memory only)."""
    from metrics import compute as c  # the scan bases and filters the stored results use

    keys = ["period_type", "period", *GEO, "patient_id"]
    periods_df = periods_df[periods_df.period_type.isin(ind.frequency)]
    frames = []
    codes = c.read_code_lists(conn)
    for source, name in ((ind.numerator, "y"), (ind.denominator, "t")):
        assert source is not None, f"{ind.id}: a caseload rate has a numerator and a denominator"
        if isinstance(source, Events) and source.until is None and source.count in ("rows", "sum"):
            frames.append(_events_per_person(conn, source, periods_df, data_end, codes, name).set_index(keys)[name])
            continue
        base = c._scan_base(source, periods_df, data_end, codes)
        pid = base.row._table.c.patient_id if base.row is not None else base.spans.c.patient_id
        cols = [*base.period_cols, *(base.dims[g].label(g) for g in GEO), pid.label("patient_id")]
        stmt = select(*cols, c._measures(source, base, None)["n"].label(name)).select_from(base.from_)
        where = c._where(source, base)
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.group_by(*(col.element if hasattr(col, "element") else col for col in cols))
        frames.append(fetch_frame(conn, stmt).set_index(keys)[name].astype(float))
    both = pd.concat(frames, axis=1).fillna(0.0).reset_index()
    return both


def _events_per_person(conn: Connection, source: Events, periods_df: pd.DataFrame, data_end: date,
                       codes: dict, name: str) -> pd.DataFrame:
    """Each person's events per period, counted once per month and then summed to the periods
    covering it: the rows' filter (the caseload check among them) runs once per row, not once per
    row and period (each month is in up to 15: itself, its quarter and year, 12 rolling years)."""
    from metrics import compute as c

    base = c._scan_base(source, periods_df, data_end, codes, by_month=True)
    assert base.row is not None
    month, pid = base.period_cols[0], base.row._table.c.patient_id
    geo = [base.dims[g] for g in GEO]
    where = c._where(source, base)
    fine = (select(month, *(d.label(g) for d, g in zip(geo, GEO, strict=True)), pid.label("patient_id"),
                   c._measures(source, base, None)["n"].label(name))
            .select_from(base.from_).where(*([where] if where is not None else []))
            .group_by(month, *geo, pid).subquery("per_person_month"))
    pm = c._period_months_clause(periods_df)
    f = fine.c
    cols = [pm.c.period_type.label("period_type"), pm.c.period.label("period"), *(f[g] for g in GEO), f.patient_id]
    stmt = (select(*cols, func.sum(f[name]).label(name))
            .select_from(fine.join(pm, pm.c.month_start == f.month_start))
            .group_by(pm.c.period_type, pm.c.period, *(f[g] for g in GEO), f.patient_id))
    frame = fetch_frame(conn, stmt)
    frame[name] = frame[name].astype(float)
    return frame


def group_sums(per_person: pd.DataFrame) -> pd.DataFrame:
    """Per period and area (every geography level): people, events y, time t and sum (y - R t)^2."""
    out = []
    for level in LEVEL_KEYS:
        by = ["period_type", "period"] + ([] if level == "bsol" else [level])
        sums = per_person.groupby(by)[["y", "t"]].sum()
        rate = (sums["y"] / sums["t"].where(sums["t"] > 0)).rename("rate")
        person = per_person.join(rate, on=by)
        person["resid_ss"] = (person["y"] - person["rate"] * person["t"]) ** 2
        frame = person.groupby(by).agg(y=("y", "sum"), t=("t", "sum"), people=("patient_id", "nunique"),
                                       resid_ss=("resid_ss", "sum")).reset_index()
        frame["geography_level"] = level
        frame["geography"] = "BSol" if level == "bsol" else frame[level].astype(str)
        out.append(frame[["period_type", "period", "geography_level", "geography", "y", "t", "people", "resid_ss"]])
    return pd.concat(out, ignore_index=True)


def apply(conn: Connection, results: pd.DataFrame, ind: Indicator, periods_df: pd.DataFrame,
          data_end: date) -> tuple[pd.DataFrame, np.ndarray]:
    """``results`` (one indicator's rows) with person-clustered limits on its area rows, and a
    mask of the rows that got them (elsewhere, e.g. no events or one person, Byar's stays)."""
    sums = group_sums(_per_person(conn, ind, periods_df, data_end))
    key = ["period_type", "period", "geography_level", "geography"]
    area = (results["breakdown"] == "none").to_numpy()
    merged = results.loc[area, key].merge(sums, on=key, how="left")
    out = results.copy()
    done = np.zeros(len(out), dtype=bool)
    for level, lo_col, hi_col in stats.CONFIDENCE_LEVELS:
        lo, hi = stats.clustered_rate_ci_array(merged["y"].fillna(0), merged["t"].fillna(0),
                                               merged["resid_ss"].fillna(0), merged["people"].fillna(0), level)
        ok = np.isfinite(lo) & np.isfinite(hi)
        rows = np.flatnonzero(area)[ok]
        out.loc[out.index[rows], lo_col] = lo[ok] * ind.multiplier
        out.loc[out.index[rows], hi_col] = hi[ok] * ind.multiplier
        done[rows] = True
    return out, done


__all__ = ["applies", "apply", "group_sums"]
