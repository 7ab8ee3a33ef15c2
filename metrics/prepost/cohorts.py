"""The pre/post cohort: who is included, their windows and their per-person activity counts.

Why this module exists: every pre/post figure (the plan's table, the comparison cohort, the cohort
flow) starts from the same rules -- index date, windows, data-start and data-end cut-offs, deaths --
so they live once here, with the vocabulary (activities, presets, bands) the other parts share.
Patient-level frames built here never leave the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Date, and_, case, cast, func, literal, or_, select

from data_loaders import calendar
from data_loaders.calendar import DATA_START
from data_loaders.dialect import add_months
from data_loaders.tables import EXTRACT_TABLES, dataset_info
from metrics import dimensions

# ------------------------------------------------------------------------------ constants
ACTIVITIES: tuple[str, ...] = (
    "gp_appointments", "ae_attendances", "inpatient_spells", "op_community_contacts", "care_packages",
)
"""Activity keys, in the plan's column order (same keys as data_loaders.demo.ACTIVITIES)."""

ACTIVITY_LABELS: dict[str, str] = {
    "gp_appointments": "GP APPOINTMENTS",
    "ae_attendances": "A&E ATTENDANCES",
    "inpatient_spells": "INPATIENT SPELLS",
    "op_community_contacts": "OUTPATIENTS & COMMUNITY CONTACTS",
    "care_packages": "CARE PACKAGES",
}
ACTIVITY_NAMES = {
    "gp_appointments": "GP appointments",
    "ae_attendances": "A&E attendances",
    "inpatient_spells": "Inpatient spells",
    "op_community_contacts": "Outpatient & community contacts",
    "care_packages": "Care packages",
}
"""Activity names in sentence case, for pages and downloads (ACTIVITY_LABELS are the plan's headers)."""
PHASE_LABELS = {"pre": "PRE-INT INTERVENTION", "post": "POST INT INTERVENTION",
                "variance": "VARIANCE"}

DID_ACTIVITIES: tuple[str, ...] = ACTIVITIES[1:]
"""GP appointments are excluded from the comparison: the gp_appointment extract only covers people
who have been on a caseload, so controls would have none by construction."""

TOTAL_CODE = "TOTAL"
TOTAL_NAME = "Total"
DEFAULT_WINDOW = 6
STORED_WINDOWS: tuple[int, ...] = (3, 6, 12)
DID_SEED = 20240626  # not used for sampling (the comparison is deterministic); kept for reports

COHORT_PRESETS: dict[str, tuple[str, date | None, date | None]] = {
    "pilot": ("Implementation Plan pilot (Oct-Dec 2023)", date(2023, 10, 1), date(2023, 12, 31)),
    "all": ("All eligible", None, None),
}

AGE_RANGES: tuple[tuple[str, int, int | None], ...] = tuple(
    (label, lo, (dimensions.AGE_BANDS[i + 1][0] - 1) if i + 1 < len(dimensions.AGE_BANDS) else None)
    for i, (lo, label) in enumerate(dimensions.AGE_BANDS))
"""(label, lowest age, highest age or None) of the age bands of metrics.dimensions."""
PRIOR_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5+", 5, None),
)
"""Bands of prior acute activity (A&E attendances + inpatient spells in the pre window)."""

RTM_CAUTION = (
    "People join a caseload because their use of services is high, and high users' activity "
    "tends to fall afterwards even without any intervention (regression to the mean). The "
    "before/after change therefore overstates the INT's effect; see the comparison-cohort "
    "(difference-in-differences) estimate for how much of the fall the INT may explain."
)

TABLE_COLUMNS: tuple[str, ...] = (
    "int_team_code", "int_team", "locality", "activity", "people", "died_in_post", "pre", "post",
    "variance", "pct_change", "pre_person_years", "post_person_years", "pre_per_person",
    "post_per_person", "pre_rate", "post_rate", "rate_ratio", "rate_ratio_lower",
    "rate_ratio_upper", "rr_robust_lower", "rr_robust_upper",
)
DID_COLUMNS: tuple[str, ...] = (
    "did_cases", "did_unmatched", "did_controls", "did_control_fraction", "case_change_pp",
    "control_change_pp", "did_pp", "did_lower", "did_upper", "did_share",
)


STRATUM = ["m", "locality", "sex", "imd_quintile", "age_band"]
"""Matching keys besides the prior band: index month, practice locality, sex, IMD quintile, age band."""

T = EXTRACT_TABLES
Area = Literal["locality", "neighbourhood"]


@dataclass(frozen=True)
class Window:
    """The analysis settings shared by every query of one run."""

    months: int
    data_start: date
    data_end: date
    cohort_from: date | None
    cohort_to: date | None


# ------------------------------------------------------------------------------ SQL helpers
def _months_later(col: sa.ColumnElement, months: int) -> sa.ColumnElement:
    """``col + n months`` as a DATE, clipped to month end (same on DuckDB and PostgreSQL, and the
    same as pandas DateOffset). ``months`` is an int rendered literally (never user text)."""
    return cast(add_months(col, int(months)), Date)


_shift = calendar.add_months  # a Python date plus months (the one helper: data_loaders.calendar)


def _age_years(at: sa.ColumnElement, birth: sa.ColumnElement) -> sa.ColumnElement:
    """Whole years from a birth month (always the 1st) to a date."""
    return (func.extract("year", at) - func.extract("year", birth)
            - case((func.extract("month", at) < func.extract("month", birth), 1), else_=0))


def _band_case(value: sa.ColumnElement, bands: Sequence[tuple[str, int, int | None]]) -> sa.ColumnElement:
    whens = [(value <= hi, label) for label, _lo, hi in bands if hi is not None]
    return case(*whens, else_=bands[-1][0])


def _band(values: pd.Series | np.ndarray, bands: Sequence[tuple[str, int, int | None]]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    out = np.full(arr.shape, bands[-1][0], dtype=object)
    for label, lo, hi in reversed(bands):
        top = np.inf if hi is None else hi
        out[(arr >= lo) & (arr <= top)] = label
    return out


def _activity_sources() -> dict[str, tuple[sa.Table, sa.ColumnElement, sa.ColumnElement | None]]:
    """Which rows count for each activity (docs/design.md): table, event date, filter."""
    gp, ae = T["gp_appointment"], T["ae_attendance"]
    sp, cc, pk = T["inpatient_spell"], T["community_contact"], T["social_care_package"]
    return {
        "gp_appointments": (gp, gp.c.appointment_date, gp.c.status == "attended"),
        "ae_attendances": (ae, ae.c.arrival_datetime, None),
        "inpatient_spells": (sp, sp.c.admission_date, None),
        "op_community_contacts": (cc, cc.c.contact_date, None),
        "care_packages": (pk, pk.c.start_date, None),
    }


def _data_dates(conn: Connection, data_start: date | None, data_end: date | None) -> tuple[date, date]:
    """Data start/end: arguments, else dataset_info ('data_start'; 'data_end' via
    metrics.compute.data_end_of, the app's one definition), else 2023-04-01 / last complete month."""
    from metrics.compute import data_end_of

    if data_start is None:
        value = conn.execute(select(dataset_info.c.value).where(dataset_info.c.key == "data_start")).scalar()
        data_start = date.fromisoformat(value) if value else DATA_START
    return data_start, data_end or data_end_of(conn)


# ------------------------------------------------------------------------------ the cohort
def _cohort_cte(w: Window) -> sa.CTE:
    """One row per (group, person) included under the rules: group = team code or TOTAL."""
    cl, p = T["int_caseload"], T["patient"]
    per_team = (select(cl.c.patient_id, cl.c.int_team_code.label("grp"),
                       func.min(cl.c.start_date).label("index_date"))
                .group_by(cl.c.patient_id, cl.c.int_team_code))
    total = (select(cl.c.patient_id, literal(TOTAL_CODE, sa.String(16)).label("grp"),
                    func.min(cl.c.start_date).label("index_date"))
             .group_by(cl.c.patient_id))
    firsts = sa.union_all(per_team, total).subquery("firsts")
    win = select(
        firsts.c.patient_id, firsts.c.grp, firsts.c.index_date,
        _months_later(firsts.c.index_date, -w.months).label("pre_start"),
        _months_later(firsts.c.index_date, w.months).label("post_end"),
    ).subquery("win")
    conds = [win.c.pre_start >= w.data_start, win.c.post_end <= w.data_end + timedelta(days=1),
             or_(p.c.date_of_death.is_(None), p.c.date_of_death >= win.c.index_date)]
    if w.cohort_from is not None:
        conds.append(win.c.index_date >= w.cohort_from)
    if w.cohort_to is not None:
        conds.append(win.c.index_date <= w.cohort_to)
    return (select(win.c.patient_id, win.c.grp, win.c.index_date, win.c.pre_start,
                   win.c.post_end, p.c.date_of_death)
            .select_from(win.outerjoin(p, p.c.patient_id == win.c.patient_id))
            .where(*conds)
            .cte("cohort"))


def _people(conn: Connection, cohort: sa.CTE) -> pd.DataFrame:
    """Per (group, person): windows, death and matching attributes (internal only)."""
    p, pr, ls = T["patient"], T["practice"], T["lsoa"]
    stmt = (select(cohort.c.grp, cohort.c.patient_id, cohort.c.index_date, cohort.c.pre_start,
                   cohort.c.post_end, cohort.c.date_of_death, p.c.sex, p.c.birth_month,
                   pr.c.locality, func.coalesce(ls.c.imd_quintile, 0).label("imd_quintile"))
            .select_from(cohort.outerjoin(p, p.c.patient_id == cohort.c.patient_id)
                         .outerjoin(pr, pr.c.practice_code == p.c.practice_code)
                         .outerjoin(ls, ls.c.lsoa_code == p.c.lsoa_code)))
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=[
        "grp", "patient_id", "index_date", "pre_start", "post_end", "date_of_death", "sex",
        "birth_month", "locality", "imd_quintile"])
    for col in ("index_date", "pre_start", "post_end", "date_of_death", "birth_month"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _counts(conn: Connection, cohort: sa.CTE) -> pd.DataFrame:
    """Per (group, person, activity) pre and post counts, counted in SQL (one round trip)."""
    parts = []
    for act, (table, when, where) in _activity_sources().items():
        on = and_(table.c.patient_id == cohort.c.patient_id, when >= cohort.c.pre_start,
                  when < cohort.c.post_end)
        if where is not None:
            on = and_(on, where)
        parts.append(
            select(cohort.c.grp, cohort.c.patient_id, literal(act, sa.String(32)).label("activity"),
                   func.sum(case((when < cohort.c.index_date, 1), else_=0)).label("pre"),
                   func.sum(case((when >= cohort.c.index_date, 1), else_=0)).label("post"))
            .select_from(cohort.join(table, on))
            .group_by(cohort.c.grp, cohort.c.patient_id))
    frame = pd.DataFrame(conn.execute(sa.union_all(*parts)).all(),
                         columns=["grp", "patient_id", "activity", "pre", "post"])
    return frame.astype({"pre": "int64", "post": "int64"})


def _per_person(people: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Every (group, person, activity) including zeros, with person-years alive in each window."""
    base = people[["grp", "patient_id", "index_date", "pre_start", "post_end", "date_of_death"]]
    grid = base.merge(pd.DataFrame({"activity": list(ACTIVITIES)}), how="cross")
    out = grid.merge(counts, on=["grp", "patient_id", "activity"], how="left")
    out[["pre", "post"]] = out[["pre", "post"]].fillna(0).astype("int64")
    year = 365.25
    out["pre_py"] = (out["index_date"] - out["pre_start"]).dt.days / year
    alive_to = out["date_of_death"] + pd.Timedelta(days=1)
    post_stop = alive_to.where(alive_to < out["post_end"], out["post_end"]).fillna(out["post_end"])
    out["post_py"] = ((post_stop - out["index_date"]).dt.days / year).clip(lower=0)
    out["died_in_post"] = out["date_of_death"].notna() & (out["date_of_death"] < out["post_end"])
    return out


def _teams(conn: Connection) -> pd.DataFrame:
    t = T["int_team"]
    return pd.DataFrame(conn.execute(select(t.c.int_team_code, t.c.int_team_name, t.c.locality)).all(),
                        columns=["grp", "int_team", "locality"])


def int_teams(conn: Connection) -> pd.DataFrame:
    """INT teams (reference data): int_team_code, int_team (name), locality; in code order."""
    return _teams(conn).rename(columns={"grp": "int_team_code"}).sort_values("int_team_code", ignore_index=True)


def _window(conn: Connection, window_months: int, cohort_from: date | None, cohort_to: date | None,
            data_start: date | None, data_end: date | None) -> Window:
    if int(window_months) < 1:
        raise ValueError("window_months must be at least 1")
    start, end = _data_dates(conn, data_start, data_end)
    return Window(int(window_months), start, end, cohort_from, cohort_to)


def _compute(conn: Connection, w: Window) -> tuple[pd.DataFrame, pd.DataFrame]:
    cohort = _cohort_cte(w)
    people = _people(conn, cohort)
    counts = _counts(conn, cohort)
    return people, _per_person(people, counts)


def cohort_flow(conn: Connection, window_months: int = DEFAULT_WINDOW, cohort_from: date | None = None,
                cohort_to: date | None = None, data_start: date | None = None,
                data_end: date | None = None) -> pd.DataFrame:
    """How many people each rule removes, per team and Total (aggregates only).

    Columns: int_team_code, on_caseload, in_cohort_dates, pre_before_data, post_incomplete,
    died_before_index, included. Why: an evaluation table must say who it leaves out.
    """
    w = _window(conn, window_months, cohort_from, cohort_to, data_start, data_end)
    cl, p = T["int_caseload"], T["patient"]
    per_team = (select(cl.c.patient_id, cl.c.int_team_code.label("grp"), func.min(cl.c.start_date).label("idx"))
                .group_by(cl.c.patient_id, cl.c.int_team_code))
    total = (select(cl.c.patient_id, literal(TOTAL_CODE, sa.String(16)).label("grp"),
                    func.min(cl.c.start_date).label("idx")).group_by(cl.c.patient_id))
    f = sa.union_all(per_team, total).subquery("f")
    in_dates = and_(sa.true(), *([f.c.idx >= w.cohort_from] if w.cohort_from else []),
                    *([f.c.idx <= w.cohort_to] if w.cohort_to else []))
    pre_bad = _months_later(f.c.idx, -w.months) < w.data_start
    post_bad = _months_later(f.c.idx, w.months) > w.data_end + timedelta(days=1)
    dead = and_(p.c.date_of_death.is_not(None), p.c.date_of_death < f.c.idx)

    def n(cond: sa.ColumnElement) -> sa.ColumnElement:
        return func.sum(case((cond, 1), else_=0))

    stmt = (select(f.c.grp.label("int_team_code"), func.count().label("on_caseload"),
                   n(in_dates).label("in_cohort_dates"), n(and_(in_dates, pre_bad)).label("pre_before_data"),
                   n(and_(in_dates, ~pre_bad, post_bad)).label("post_incomplete"),
                   n(and_(in_dates, ~pre_bad, ~post_bad, dead)).label("died_before_index"),
                   n(and_(in_dates, ~pre_bad, ~post_bad, ~dead)).label("included"))
            .select_from(f.outerjoin(p, p.c.patient_id == f.c.patient_id))
            .group_by(f.c.grp).order_by(f.c.grp))
    return pd.DataFrame(conn.execute(stmt).mappings().all())
