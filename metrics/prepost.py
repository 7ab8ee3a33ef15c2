"""Pre/post INT activity: the Implementation Plan's table, its statistics, a comparison cohort and
the caseload profile (docs/prepost.md explains every rule and method).

Why this module exists: the plan's headline table (activity in the months before and after people
joined an INT caseload) is the pilot's main evidence, so it is recomputed here from the extracts
under the rules of docs/design.md "Pre/post INT rules" -- and put beside what a fair reading needs:
exposure-adjusted rates, rate ratios with confidence intervals, a regression-to-the-mean caution,
a matched comparison cohort with a difference-in-differences estimate, and who the caseload
reaches compared with the population it serves.

How: SQLAlchemy Core on DuckDB or PostgreSQL. Events are counted per person in SQL (one query for
the five activity types); pandas then sums per-person aggregates. Patient-level frames never leave
this module: every public function returns aggregates (team x activity, stratum, group).

Rules (docs/design.md; repeated so a reader of the code need not switch files):
* index date = a person's FIRST caseload start with that team (re-joins ignored); the Total row
  counts each person once, at their first start with any team (so team rows need not add to it
  when someone was on two teams);
* pre window ``[index - W months, index)``, post window ``[index, index + W months)``; activity on
  the index day is post; month arithmetic clips to month end (31 Aug - 6 months = 29 Feb);
* included only when ``index - W >= data start`` and ``index + W <= data end + 1 day``; people
  recorded as dead before their index date are excluded (a data error);
* intention to treat: leaving the caseload does not stop follow-up; deaths in the post window keep
  their raw counts and their person-time ends at the end of the day of death.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats as st
from sqlalchemy import Connection, Date, Interval, and_, case, cast, func, literal, or_, select

from data_loaders.db import ensure_derived_table
from data_loaders.extracts import LOCALITIES
from data_loaders.tables import EXTRACT_TABLES, dataset_info, prepost_result
from metrics import disclosure
from metrics.disclosure import protect as protect_frame

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
PHASE_LABELS = {"pre": "PRE-INT INTERVENTION", "post": "POST INT INTERVENTION",
                "variance": "VARIANCE"}

DID_ACTIVITIES: tuple[str, ...] = ACTIVITIES[1:]
"""GP appointments are excluded from the comparison: the gp_appointment extract only covers people
who have been on a caseload, so controls would have none by construction."""

DATA_START = date(2023, 4, 1)
TOTAL_CODE = "TOTAL"
TOTAL_NAME = "Total"
DEFAULT_WINDOW = 6
STORED_WINDOWS: tuple[int, ...] = (3, 6, 12)
DID_SEED = 20240626  # not used for sampling (the comparison is deterministic); kept for reports

COHORT_PRESETS: dict[str, tuple[str, date | None, date | None]] = {
    "pilot": ("Implementation Plan pilot (Oct-Dec 2023)", date(2023, 10, 1), date(2023, 12, 31)),
    "all": ("All eligible", None, None),
}

AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-14", 0, 14), ("15-44", 15, 44), ("45-64", 45, 64), ("65-74", 65, 74), ("75-84", 75, 84),
    ("85+", 85, None),
)
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
MAX_CONTROL_POOL = 200_000
"""At most this many never-on-a-caseload people form the control pool (a deterministic random
sample above it), which bounds the comparison's cost whatever the population."""
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
def _add_months(col: sa.ColumnElement, months: int) -> sa.ColumnElement:
    """``col + n months`` as a DATE, clipped to month end (same on DuckDB and PostgreSQL, and the
    same as pandas DateOffset). ``months`` is an int rendered literally (never user text)."""
    n = int(months)
    return cast(col + sa.literal_column(f"INTERVAL '{n} months'", type_=Interval), Date)


def _shift(day: date, months: int) -> date:
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


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
        _add_months(firsts.c.index_date, -w.months).label("pre_start"),
        _add_months(firsts.c.index_date, w.months).label("post_end"),
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


# ------------------------------------------------------------------------------ statistics
def rate_ratio_exact(pre: float, post: float, pre_py: float, post_py: float,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """Post/pre rate ratio with the exact conditional (binomial, Clopper-Pearson) interval.

    Why: conditional on the total n = pre + post, post ~ Binomial(n, pi) with
    pi = RR*T1 / (T0 + RR*T1), so exact limits for pi map to exact limits for RR. Treats events as
    Poisson (no clustering within people: see ``rate_ratio_robust``). Returns NaN where undefined:
    no events at all, or an infinite ratio/limit (pre = 0).
    """
    nan = math.nan
    if not (pre_py > 0 and post_py > 0) or pre + post == 0:
        return nan, nan, nan
    n, x = pre + post, post
    alpha = 1.0 - confidence
    lo_pi = 0.0 if x == 0 else float(st.beta.ppf(alpha / 2, x, n - x + 1))
    hi_pi = 1.0 if x == n else float(st.beta.ppf(1 - alpha / 2, x + 1, n - x))
    scale = pre_py / post_py
    rr = nan if pre == 0 else (post / post_py) / (pre / pre_py)
    lower = lo_pi / (1 - lo_pi) * scale
    upper = nan if hi_pi >= 1 else hi_pi / (1 - hi_pi) * scale
    return rr, lower, upper


def rate_ratio_robust(y0: np.ndarray, y1: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                      confidence: float = 0.95) -> tuple[float, float]:
    """Person-clustered (sandwich) log-normal interval for the same rate ratio.

    Why: activity clusters within people and pre/post are paired, so the Poisson interval is too
    narrow. Delta method on log(sum y1/sum t1) - log(sum y0/sum t0) with per-person influence
    u_i = (y1_i - R1 t1_i)/sum y1 - (y0_i - R0 t0_i)/sum y0, variance n/(n-1) sum u_i^2.
    NaN when either total is 0 or fewer than 2 people.
    """
    y0, y1, t0, t1 = (np.asarray(a, dtype=float) for a in (y0, y1, t0, t1))
    n = len(y0)
    s0, s1, T0, T1 = y0.sum(), y1.sum(), t0.sum(), t1.sum()
    if n < 2 or s0 <= 0 or s1 <= 0 or T0 <= 0 or T1 <= 0:
        return math.nan, math.nan
    u = (y1 - s1 / T1 * t1) / s1 - (y0 - s0 / T0 * t0) / s0
    se = math.sqrt(n / (n - 1) * float(np.sum(u**2)))
    z = float(st.norm.ppf(0.5 + confidence / 2))
    log_rr = math.log((s1 / T1) / (s0 / T0))
    return math.exp(log_rr - z * se), math.exp(log_rr + z * se)


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


def _teams(conn: Connection) -> pd.DataFrame:
    t = T["int_team"]
    return pd.DataFrame(conn.execute(select(t.c.int_team_code, t.c.int_team_name, t.c.locality)).all(),
                        columns=["grp", "int_team", "locality"])


def int_teams(conn: Connection) -> pd.DataFrame:
    """INT teams (reference data): int_team_code, int_team (name), locality; in code order."""
    return _teams(conn).rename(columns={"grp": "int_team_code"}).sort_values("int_team_code", ignore_index=True)


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


# ------------------------------------------------------------------------------ public API
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


# ------------------------------------------------------------------------------ comparison cohort
def _month_index(col: sa.ColumnElement) -> sa.ColumnElement:
    """Months since year 0 (an integer): windows of whole months become integer offsets."""
    return func.extract("year", col) * 12 + func.extract("month", col) - 1


def _months_values(months: list[date], name: str) -> sa.Values:
    rows = [(m, m.year * 12 + m.month - 1) for m in months]
    return sa.values(sa.column("m", Date), sa.column("m_idx", sa.Integer), name=name).data(rows)


def _not_on_caseload(patient_id: sa.ColumnElement) -> sa.ColumnElement:
    cl = T["int_caseload"]
    return ~sa.exists(select(literal(1)).where(cl.c.patient_id == patient_id))


def _sampled(patient_id: sa.ColumnElement, fraction: float) -> sa.ColumnElement:
    """A deterministic, portable simple random sample of people: the first 4 hex digits of
    md5(patient_id) below fraction x 65536 (md5 is the same on DuckDB and PostgreSQL)."""
    threshold = int(fraction * 65536)
    if threshold >= 65536:
        return sa.true()
    return func.substr(func.md5(patient_id), 1, 4) < f"{threshold:04x}"


def control_fraction(conn: Connection) -> float:
    """Share of the never-on-a-caseload population used as the control pool (<= MAX_CONTROL_POOL
    people, so the comparison stays bounded on 1.7 million patients)."""
    p = T["patient"]
    n = conn.execute(select(func.count()).select_from(p).where(_not_on_caseload(p.c.patient_id))).scalar() or 0
    return 1.0 if n <= MAX_CONTROL_POOL else MAX_CONTROL_POOL / n


def _control_pool(fraction: float) -> sa.Subquery:
    p, pr, ls = T["patient"], T["practice"], T["lsoa"]
    return (select(p.c.patient_id, pr.c.locality, p.c.sex,
                   func.coalesce(ls.c.imd_quintile, 0).label("imd_quintile"), p.c.birth_month,
                   p.c.date_of_death)
            .select_from(p.join(pr, pr.c.practice_code == p.c.practice_code)
                         .outerjoin(ls, ls.c.lsoa_code == p.c.lsoa_code))
            .where(_not_on_caseload(p.c.patient_id), _sampled(p.c.patient_id, fraction))
            .subquery("pool"))


def _control_events(pool: sa.Subquery, first: date, last: date) -> sa.Subquery:
    """Events of people in the control pool, counted per (person, activity, calendar month).

    Pseudo-index dates are month starts, so every window is whole months and a monthly count is
    all the windows need: far fewer rows to join to the months than raw events.
    """
    sources = _activity_sources()
    parts = []
    for act in DID_ACTIVITIES:
        table, when, where = sources[act]
        stmt = (select(table.c.patient_id.label("patient_id"),
                       literal(act, sa.String(32)).label("activity"),
                       _month_index(when).label("month_idx"))
                .where(when >= first, when < last))
        if where is not None:
            stmt = stmt.where(where)
        parts.append(stmt)
    ev = sa.union_all(*parts).subquery("raw_events")
    return (select(ev.c.patient_id, ev.c.activity, ev.c.month_idx, func.count().label("k"))
            .select_from(ev.join(pool, pool.c.patient_id == ev.c.patient_id))
            .group_by(ev.c.patient_id, ev.c.activity, ev.c.month_idx)
            .subquery("events"))


def _control_strata(conn: Connection, months: list[date], w: Window, fraction: float = 1.0) -> pd.DataFrame:
    """Per stratum (month, locality, sex, IMD quintile, age band, prior band): number of control
    person-months and, per activity, sum of pre, post and squared change. Aggregates only.

    Active people (any counted event in the window) are aggregated from the events; people with
    no events are all in prior band 0 with zero change, so band 0's count is the stratum's
    eligible population minus the active people in bands above 0. Month windows are integer
    offsets (equality joins, not range joins): an event month belongs to pseudo-index month m
    when ``month - m`` is in ``[-W, W)``, pre when negative.
    """
    pool = _control_pool(fraction)
    mv = _months_values(months, "months")
    offsets = sa.values(sa.column("d", sa.Integer), name="offsets").data(
        [(d,) for d in range(-w.months, w.months)])
    ev = _control_events(pool, _shift(months[0], -w.months), _shift(months[-1], w.months))
    sums = []
    for act in DID_ACTIVITIES:
        is_act = ev.c.activity == act
        sums += [func.sum(case((and_(is_act, offsets.c.d < 0), ev.c.k), else_=0)).label(f"pre_{act}"),
                 func.sum(case((and_(is_act, offsets.c.d >= 0), ev.c.k), else_=0)).label(f"post_{act}")]
    per_pm = (select(ev.c.patient_id, mv.c.m, *sums)
              .select_from(ev.join(offsets, sa.true())
                           .join(mv, mv.c.m_idx == ev.c.month_idx - offsets.c.d))
              .group_by(ev.c.patient_id, mv.c.m)
              .subquery("per_pm"))
    prior = per_pm.c.pre_ae_attendances + per_pm.c.pre_inpatient_spells
    age = _age_years(per_pm.c.m, pool.c.birth_month)
    alive = or_(pool.c.date_of_death.is_(None), pool.c.date_of_death >= per_pm.c.m)
    keyed = (select(per_pm, pool.c.locality, pool.c.sex, pool.c.imd_quintile,
                    _band_case(age, AGE_BANDS).label("age_band"),
                    _band_case(prior, PRIOR_BANDS).label("prior_band"))
             .select_from(per_pm.join(pool, pool.c.patient_id == per_pm.c.patient_id))
             .where(alive, pool.c.birth_month <= per_pm.c.m)
             .subquery("keyed"))
    keys = [keyed.c[k] for k in (*STRATUM, "prior_band")]
    aggs = [func.count().label("n")]
    for act in DID_ACTIVITIES:
        pre, post = keyed.c[f"pre_{act}"], keyed.c[f"post_{act}"]
        aggs += [func.sum(pre).label(f"pre_{act}"), func.sum(post).label(f"post_{act}"),
                 func.sum((post - pre) * (post - pre)).label(f"ss_{act}")]
    active = pd.DataFrame(conn.execute(select(*keys, *aggs).group_by(*keys)).mappings().all())

    # eligible population per stratum (no prior band): group people first, then cross months
    pool2 = _control_pool(fraction)
    attrs = [pool2.c.locality, pool2.c.sex, pool2.c.imd_quintile, pool2.c.birth_month, pool2.c.date_of_death]
    grouped = select(*attrs, func.count().label("n")).group_by(*attrs).subquery("grouped")
    mv2 = _months_values(months, "months2")
    banded = (select(mv2.c.m, grouped.c.locality, grouped.c.sex, grouped.c.imd_quintile,
                     _band_case(_age_years(mv2.c.m, grouped.c.birth_month), AGE_BANDS).label("age_band"),
                     grouped.c.n)
              .select_from(grouped.join(mv2, sa.true()))
              .where(or_(grouped.c.date_of_death.is_(None), grouped.c.date_of_death >= mv2.c.m),
                     grouped.c.birth_month <= mv2.c.m)
              .subquery("banded"))
    pkeys = [banded.c[k] for k in STRATUM]
    pop_stmt = select(*pkeys, func.sum(banded.c.n).label("population")).group_by(*pkeys)
    pop = pd.DataFrame(conn.execute(pop_stmt).mappings().all())
    return _strata_frame(active, pop)


def _strata_frame(active: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    value_cols = ["n"] + [f"{k}_{a}" for a in DID_ACTIVITIES for k in ("pre", "post", "ss")]
    if pop.empty:
        return pd.DataFrame(columns=[*STRATUM, "prior_band", *value_cols])
    pop = pop.assign(m=pd.to_datetime(pop["m"]), imd_quintile=pop["imd_quintile"].astype(int),
                     population=pop["population"].astype(float))
    if active.empty:
        active = pd.DataFrame(columns=[*STRATUM, "prior_band", *value_cols])
    active = active.assign(m=pd.to_datetime(active["m"]), imd_quintile=active["imd_quintile"].astype(int))
    active[value_cols] = active[value_cols].astype(float)
    above = active[active["prior_band"] != "0"]
    busy = above.groupby(STRATUM, as_index=False)["n"].sum().rename(columns={"n": "busy"})
    zero = pop.merge(busy, on=STRATUM, how="left").fillna({"busy": 0.0})
    zero = zero.merge(active[active["prior_band"] == "0"].drop(columns="n"), on=STRATUM, how="left")
    zero["prior_band"] = "0"
    zero["n"] = zero["population"] - zero["busy"]
    zero[value_cols[1:]] = zero[value_cols[1:]].fillna(0.0)
    out = pd.concat([zero[[*STRATUM, "prior_band", *value_cols]], above[[*STRATUM, "prior_band", *value_cols]]],
                    ignore_index=True)
    return out[out["n"] > 0].reset_index(drop=True)


def _case_strata(people: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """Per (group, person): stratum keys and per-activity pre/post (internal only)."""
    wide = per.pivot_table(index=["grp", "patient_id"], columns="activity", values=["pre", "post"],
                           aggfunc="sum", fill_value=0)
    wide.columns = [f"{k}_{a}" for k, a in wide.columns]
    wide = wide.reset_index()
    cases = people.merge(wide, on=["grp", "patient_id"], how="left")
    idx, birth = cases["index_date"], cases["birth_month"]
    age = idx.dt.year - birth.dt.year - (idx.dt.month < birth.dt.month).astype(int)
    cases["age_band"] = _band(age, AGE_BANDS)
    cases["prior_band"] = _band(cases["pre_ae_attendances"] + cases["pre_inpatient_spells"], PRIOR_BANDS)
    cases["m"] = idx.dt.to_period("M").dt.to_timestamp()
    cases["imd_quintile"] = cases["imd_quintile"].fillna(0).astype(int)
    return cases


def difference_in_differences(cases: pd.DataFrame, strata: pd.DataFrame,
                              confidence: float = 0.95) -> pd.DataFrame:
    """DiD per (group, activity) from per-case changes and per-stratum control sums.

    Estimator (exact stratification, every eligible control in the case's stratum):
    DiD = mean over matched cases of [change_i - mean control change in i's stratum]. Variance =
    var(case changes)/N + sum_s (N_s/N)^2 S_s^2 / n_s, with S_s^2 the control variance in stratum s
    (pooled control variance where n_s < 2), strata weights fixed; normal-theory interval.
    ``did_share`` = DiD / case change: the part of the before/after change the INT may explain.
    """
    z = float(st.norm.ppf(0.5 + confidence / 2))
    keys = [*STRATUM, "prior_band"]
    rows = []
    for act in DID_ACTIVITIES:
        s = strata[[*keys, "n", f"pre_{act}", f"post_{act}", f"ss_{act}"]].copy()
        s["sum_d"] = s[f"post_{act}"] - s[f"pre_{act}"]
        s["mean_d"] = s["sum_d"] / s["n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            s["var_d"] = (s[f"ss_{act}"] - s["sum_d"] ** 2 / s["n"]) / (s["n"] - 1)
        tot_n = s["n"].sum()
        pooled = ((s[f"ss_{act}"].sum() - s["sum_d"].sum() ** 2 / tot_n) / (tot_n - 1)) if tot_n > 1 else 0.0
        s["var_d"] = s["var_d"].where(s["n"] >= 2, pooled).clip(lower=0)
        c = cases[["grp", *keys]].assign(d=cases[f"post_{act}"] - cases[f"pre_{act}"])
        c = c.merge(s[[*keys, "n", "mean_d", "var_d"]], on=keys, how="left")
        for grp, g in c.groupby("grp", sort=False):
            matched = g[g["n"].notna()]
            n_cases = len(matched)
            row = {"grp": grp, "activity": act, "did_cases": n_cases, "did_unmatched": len(g) - n_cases}
            if n_cases == 0:
                rows.append(row)
                continue
            case_change = float(matched["d"].mean())
            control_change = float(matched["mean_d"].mean())
            did = case_change - control_change
            per_stratum = matched.groupby(keys).agg(k=("d", "size"), n=("n", "first"), v=("var_d", "first"))
            var_cases = float(matched["d"].var(ddof=1)) / n_cases if n_cases > 1 else 0.0
            var_controls = float(((per_stratum["k"] / n_cases) ** 2 * per_stratum["v"] / per_stratum["n"]).sum())
            se = math.sqrt(var_cases + var_controls)
            row.update({
                "did_controls": float(per_stratum["n"].sum()), "case_change_pp": case_change,
                "control_change_pp": control_change, "did_pp": did, "did_lower": did - z * se,
                "did_upper": did + z * se, "did_share": did / case_change if case_change < 0 else math.nan,
            })
            rows.append(row)
    return pd.DataFrame(rows, columns=["grp", "activity", *[c for c in DID_COLUMNS if c != "did_control_fraction"]])


def comparison_cohort(conn: Connection, window_months: int = DEFAULT_WINDOW,
                      cohort_from: date | None = None, cohort_to: date | None = None,
                      data_start: date | None = None, data_end: date | None = None) -> pd.DataFrame:
    """Difference-in-differences against similar people never on a caseload (docs/prepost.md).

    Controls: everyone registered at a BSol practice who has never been on any INT caseload, alive
    at a pseudo-index date = the first day of the case's index month, in the same stratum: index
    month, practice locality, sex, IMD quintile, age band and prior acute-activity band (A&E +
    spells in the pre window). Controls get the same windows from their pseudo-index date. One row
    per (team code or TOTAL, activity in DID_ACTIVITIES) with DID_COLUMNS; aggregates only.
    Observational: residual confounding (need, frailty, why people were referred) remains.
    """
    w = _window(conn, window_months, cohort_from, cohort_to, data_start, data_end)
    people, per = _compute(conn, w)
    return _did_for(conn, w, people, per)


def _did_for(conn: Connection, w: Window, people: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    if people.empty:
        return pd.DataFrame(columns=["grp", "activity", *DID_COLUMNS])
    cases = _case_strata(people, per)
    months = sorted({m.date() for m in cases["m"]})
    months = [m for m in months
              if _shift(m, -w.months) >= w.data_start and _shift(m, w.months) <= w.data_end + timedelta(days=1)]
    fraction = control_fraction(conn)
    strata = (_control_strata(conn, months, w, fraction) if months
              else _strata_frame(pd.DataFrame(), pd.DataFrame()))
    out = difference_in_differences(cases, strata)
    out["did_control_fraction"] = fraction
    return out


# ------------------------------------------------------------------------------ caseload profile
PROFILE_BREAKDOWNS = ("age_band", "sex", "imd_quintile", "ethnicity")


def _population_band(start: pd.Series) -> np.ndarray:
    return _band(start, AGE_BANDS)


def caseload_profile(conn: Connection, team_or_locality: str = "BSol", area: Area = "locality",
                     cohort_from: date | None = None, cohort_to: date | None = None,
                     financial_year: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Who the caseload reaches against the registered population it serves.

    ``team_or_locality``: an INT code or name (that team's caseload vs its locality -- or its
    neighbourhood when ``area="neighbourhood"`` and the team has one), a locality (every team
    serving it), or "BSol". People are counted once, at their first start (filtered by
    ``cohort_from``/``cohort_to``), age at that date. Population: ``population`` for
    ``financial_year`` (default: the latest loaded). Per breakdown (age band, sex, IMD quintile,
    ethnicity) and group: caseload count and share, population and share, representation index =
    caseload share / population share with a Wilson interval on the caseload share; ``flag`` marks
    groups whose interval lies wholly below 1 ("under-represented") or above 1. Not need-adjusted:
    a caseload of frail high users should be older than the population.
    """
    cl, p, pr, ls, team = T["int_caseload"], T["patient"], T["practice"], T["lsoa"], T["int_team"]
    eth, pop = T["ethnicity_code"], T["population"]
    teams = pd.DataFrame(conn.execute(select(team)).mappings().all())
    key = team_or_locality.strip()
    level = "bsol"
    if not teams.empty and key in set(teams["int_team_code"]) | set(teams["int_team_name"]):
        t = teams[(teams["int_team_code"] == key) | (teams["int_team_name"] == key)].iloc[0]
        codes = [t["int_team_code"]]
        if area == "neighbourhood" and isinstance(t["neighbourhood_code"], str) and t["neighbourhood_code"]:
            area_filter = pr.c.neighbourhood_code == t["neighbourhood_code"]
            area_name = f"neighbourhood {t['neighbourhood_code']}"
        else:
            area_filter = pr.c.locality == t["locality"]
            area_name = t["locality"]
        level = "int"
    elif key.lower() == "bsol":
        codes, area_filter, area_name = None, sa.true(), "BSol"
    else:
        match = [loc for loc in LOCALITIES if loc.lower() == key.lower()]
        if not match:
            raise ValueError(f"{team_or_locality!r} is not an INT code or name, a locality or 'BSol'")
        locality = match[0]
        codes = list(teams.loc[teams["locality"] == locality, "int_team_code"]) if not teams.empty else []
        area_filter, area_name, level = pr.c.locality == locality, locality, "locality"
    firsts = select(cl.c.patient_id, func.min(cl.c.start_date).label("first_start"))
    if codes is not None:
        firsts = firsts.where(cl.c.int_team_code.in_(codes))
    first = firsts.group_by(cl.c.patient_id).subquery("first")
    conds = []
    if cohort_from is not None:
        conds.append(first.c.first_start >= cohort_from)
    if cohort_to is not None:
        conds.append(first.c.first_start <= cohort_to)
    attrs = (select(_band_case(_age_years(first.c.first_start, p.c.birth_month), AGE_BANDS).label("age_band"),
                    func.coalesce(p.c.sex, "U").label("sex"),
                    func.coalesce(ls.c.imd_quintile, 0).label("imd_quintile"),
                    func.coalesce(eth.c.ethnic_group, "Not stated").label("ethnicity"))
             .select_from(first.outerjoin(p, p.c.patient_id == first.c.patient_id)
                          .outerjoin(ls, ls.c.lsoa_code == p.c.lsoa_code)
                          .outerjoin(eth, eth.c.code == p.c.ethnic_category))
             .where(*conds)
             .subquery("attrs"))
    case_stmt = select(*attrs.c, func.count().label("n")).group_by(*attrs.c)
    cases = pd.DataFrame(conn.execute(case_stmt).mappings().all(),
                         columns=["age_band", "sex", "imd_quintile", "ethnicity", "n"])
    if financial_year is None:
        financial_year = conn.execute(select(func.max(pop.c.financial_year))).scalar()
    pop_stmt = (select(pop.c.age_band_start, pop.c.sex, pop.c.imd_quintile,
                       pop.c.ethnic_group.label("ethnicity"), func.sum(pop.c.persons).label("n"))
                .select_from(pop.join(pr, pr.c.practice_code == pop.c.practice_code))
                .where(pop.c.financial_year == financial_year, area_filter)
                .group_by(pop.c.age_band_start, pop.c.sex, pop.c.imd_quintile, pop.c.ethnic_group))
    popf = pd.DataFrame(conn.execute(pop_stmt).mappings().all(),
                        columns=["age_band_start", "sex", "imd_quintile", "ethnicity", "n"])
    popf["age_band"] = _population_band(popf["age_band_start"])
    rows = []
    n_cases, n_pop = float(cases["n"].sum()), float(popf["n"].sum())
    for bd in PROFILE_BREAKDOWNS:
        c = cases.groupby(bd)["n"].sum()
        q = popf.groupby(bd)["n"].sum()
        for grp in sorted(set(c.index) | set(q.index), key=_group_order(bd)):
            k, pn = float(c.get(grp, 0)), float(q.get(grp, 0))
            rows.append(_profile_row(bd, grp, k, n_cases, pn, n_pop, confidence))
    out = pd.DataFrame(rows, columns=["breakdown", "group", "caseload", "caseload_share", "population",
                                      "population_share", "representation", "representation_lower",
                                      "representation_upper", "flag"])
    out.insert(0, "area", area_name)
    out.insert(0, "caseload_of", key)
    out["geography_level"] = level
    out["financial_year"] = financial_year
    return out


def _group_order(breakdown: str):
    order = {"age_band": [b[0] for b in AGE_BANDS], "sex": ["F", "M", "U"],
             "ethnicity": ["Asian", "Black", "Mixed", "White", "Other", "Not stated"]}.get(breakdown)

    def key(g: object) -> tuple[int, str]:
        if order and g in order:
            return (order.index(g), "")
        if breakdown == "imd_quintile":
            return (int(g) if int(g) > 0 else 99, "")  # type: ignore[call-overload]
        return (100, str(g))
    return key


def _profile_row(bd: str, grp: object, k: float, n_cases: float, pn: float, n_pop: float,
                 confidence: float) -> dict[str, object]:
    from metrics.stats import wilson_ci

    label = grp
    if bd == "imd_quintile":
        label = "Unknown" if int(grp) == 0 else f"Q{int(grp)}"  # type: ignore[call-overload]
    share = k / n_cases if n_cases else math.nan
    pshare = pn / n_pop if n_pop else math.nan
    rep = lo = hi = math.nan
    flag = ""
    if n_cases and pshare and pshare > 0:
        wl, wu = wilson_ci(k, n_cases, confidence)
        rep, lo, hi = share / pshare, wl / pshare, wu / pshare
        flag = "under-represented" if hi < 1 else ("over-represented" if lo > 1 else "")
    return {"breakdown": bd, "group": str(label), "caseload": k, "caseload_share": share,
            "population": pn, "population_share": pshare, "representation": rep,
            "representation_lower": lo, "representation_upper": hi, "flag": flag}


PROFILE_SPEC: dict[str, disclosure.Col | disclosure.Kind] = {
    "caseload": disclosure.Col(disclosure.Kind.COUNT),
    "population": disclosure.Col(disclosure.Kind.COUNT),
    "caseload_share": disclosure.Kind.SHARE, "population_share": disclosure.Kind.SHARE,
    "representation": disclosure.Kind.VALUE, "representation_lower": disclosure.Kind.CI,
    "representation_upper": disclosure.Kind.CI,
}


def _profile_derive(exact: pd.DataFrame, shown: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Shares and representation indices from the rounded counts and rounded totals (HES method)."""
    from metrics.stats import wilson_ci_array

    def total(col: str) -> pd.Series:  # the scope's total: the groups of any one breakdown add up to it
        return exact.groupby(["caseload_of", "breakdown"])[col].transform("sum")

    rule = shown.attrs.get("policy", disclosure.DEFAULT_RULE)
    n_cases = pd.Series(rule.round(total("caseload")), index=shown.index)
    n_pop = pd.Series(rule.round(total("population")), index=shown.index)
    k, pn = shown["caseload"], shown["population"]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (k / n_cases).where(n_cases > 0)
        pshare = (pn / n_pop).where(n_pop > 0)
        kk = np.clip(np.nan_to_num(k.to_numpy(float)), 0, np.nan_to_num(n_cases.to_numpy(float)))
        wl, wu = wilson_ci_array(kk, np.nan_to_num(n_cases.to_numpy(float)), confidence)
        ok = (pshare > 0).to_numpy()
        shown["caseload_share"], shown["population_share"] = share, pshare
        shown["representation"] = np.where(ok, share / pshare, math.nan)
        shown["representation_lower"] = np.where(ok, wl / pshare, math.nan)
        shown["representation_upper"] = np.where(ok, wu / pshare, math.nan)
    hi, lo = shown["representation_upper"], shown["representation_lower"]
    shown["flag"] = np.where(hi < 1, "under-represented", np.where(lo > 1, "over-represented", ""))
    return shown


def profile_for_display(profile: pd.DataFrame, rule: disclosure.DisclosurePolicy | None = None) -> pd.DataFrame:
    """The caseload profile through the one disclosure function: caseload or population groups of
    1-7 hidden with their shares and indices (and, since the groups of a breakdown add up to the
    shown total, the next smallest group too); counts rounded; shares and indices from rounded counts."""
    rule = rule or disclosure.configured_rule()
    if profile.empty:
        return profile.assign(suppressed=pd.Series(dtype=bool))
    frame = profile.copy()

    def derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
        shown.attrs["policy"] = rule
        return _profile_derive(exact, shown)

    out = protect_frame(frame, PROFILE_SPEC, rule, derive=derive, level_col="geography_level",
                        sets=[["caseload_of", "breakdown"]], size="caseload")
    out.loc[out["suppressed"], "flag"] = ""
    return out


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


def stored_windows() -> tuple[int, ...]:
    """Windows refreshed: 3, 6, 12 and BSOL_PREPOST_MONTHS."""
    from data_loaders.settings import load_settings

    return tuple(sorted({*STORED_WINDOWS, load_settings().prepost_window_months}))


def stored_did_windows() -> tuple[int, ...]:
    """Windows that also get the comparison cohort (the costly part): 6 and BSOL_PREPOST_MONTHS."""
    from data_loaders.settings import load_settings

    return tuple(sorted({DEFAULT_WINDOW, load_settings().prepost_window_months}))


def refresh_prepost(conn: Connection, windows: Sequence[int] | None = None,
                    cohorts: Sequence[str] | None = None,
                    did_windows: Sequence[int] | None = None) -> int:
    """Recompute prepost_result (delete + insert, inside the caller's transaction): every preset x
    stored window (3, 6, 12 and BSOL_PREPOST_MONTHS); the comparison cohort for ``did_windows``
    (default 6 and BSOL_PREPOST_MONTHS; NULL elsewhere). Aggregates only. Returns rows written."""
    windows = tuple(windows or stored_windows())
    cohorts = tuple(cohorts or COHORT_PRESETS)
    with_did = set(did_windows if did_windows is not None else stored_did_windows())
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


_PP_BASIS = ("people", "pre", "post")
_DID_BASIS = ("people", "did_cases")
PREPOST_SPEC: dict[str, disclosure.Col | disclosure.Kind] = {
    "people": disclosure.Col(disclosure.Kind.COUNT),
    "pre": disclosure.Col(disclosure.Kind.COUNT, row=False),
    "post": disclosure.Col(disclosure.Kind.COUNT, row=False),
    "died_in_post": disclosure.Col(disclosure.Kind.DETAIL, basis=("people",)),
    **{c: disclosure.Col(disclosure.Kind.VALUE, basis=_PP_BASIS)
       for c in ("variance", "pct_change", "pre_per_person", "post_per_person", "pre_rate", "post_rate",
                 "rate_ratio")},
    **{c: disclosure.Col(disclosure.Kind.CI, basis=_PP_BASIS)
       for c in ("rate_ratio_lower", "rate_ratio_upper", "rr_robust_lower", "rr_robust_upper")},
    "pre_person_years": disclosure.Col(disclosure.Kind.VALUE, basis=("people",)),
    "post_person_years": disclosure.Col(disclosure.Kind.VALUE, basis=("people",)),
    "did_cases": disclosure.Col(disclosure.Kind.COUNT, row=False, basis=("people",)),
    "did_unmatched": disclosure.Col(disclosure.Kind.DETAIL, basis=_DID_BASIS),
    "did_controls": disclosure.Col(disclosure.Kind.DETAIL, basis=_DID_BASIS),
    **{c: disclosure.Col(disclosure.Kind.VALUE, basis=_DID_BASIS)
       for c in ("did_control_fraction", "case_change_pp", "control_change_pp", "did_pp", "did_share")},
    **{c: disclosure.Col(disclosure.Kind.CI, basis=_DID_BASIS) for c in ("did_lower", "did_upper")},
}
PER_PERSON_DECIMALS = 2
"""DiD per-person figures are means over matched cases: shown to 2 decimals after rescaling to the
rounded case count, so value x cases gives no exact total back."""


def _prepost_derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """Every pre/post figure from the rounded counts: variance, % change, per-person values, person-
    years (scaled to the rounded people: a full pre window is people x months / 12), rates, the exact
    rate ratio and its interval; the robust interval keeps its relative width around the new ratio;
    DiD per-person figures rescaled to the rounded case count and rounded to 2 decimals."""
    out = shown
    people0, people1 = exact["people"].to_numpy(float), out["people"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(people0 > 0, people1 / people0, math.nan)
        for c in ("pre_person_years", "post_person_years"):
            if c in out:
                out[c] = exact[c].to_numpy(float) * k
        pre, post = out["pre"].to_numpy(float), out["post"].to_numpy(float)
        out["variance"] = post - pre
        out["pct_change"] = np.where(pre > 0, (post - pre) / pre * 100, math.nan)
        out["pre_per_person"] = np.where(people1 > 0, pre / people1, math.nan)
        out["post_per_person"] = np.where(people1 > 0, post / people1, math.nan)
        t0, t1 = out["pre_person_years"].to_numpy(float), out["post_person_years"].to_numpy(float)
        out["pre_rate"] = np.where(t0 > 0, pre / t0, math.nan)
        out["post_rate"] = np.where(t1 > 0, post / t1, math.nan)
        rr = [rate_ratio_exact(a, b, c, d) if np.isfinite([a, b, c, d]).all() else (math.nan,) * 3
              for a, b, c, d in zip(pre, post, t0, t1, strict=True)]
        rr_arr = np.array(rr, dtype=float).reshape(-1, 3)
        old = exact["rate_ratio"].to_numpy(float)
        out["rate_ratio"], out["rate_ratio_lower"], out["rate_ratio_upper"] = rr_arr.T
        for c in ("rr_robust_lower", "rr_robust_upper"):
            out[c] = np.where(old > 0, exact[c].to_numpy(float) / old * rr_arr[:, 0], math.nan)
        if "did_cases" in out:
            c0, c1 = exact["did_cases"].to_numpy(float), out["did_cases"].to_numpy(float)
            kc = np.where(c1 > 0, c0 / c1, math.nan)
            for c in ("case_change_pp", "control_change_pp", "did_pp", "did_lower", "did_upper"):
                if c in out:
                    out[c] = np.round(exact[c].to_numpy(float) * kc, PER_PERSON_DECIMALS)
            if "did_share" in out:
                out["did_share"] = np.round(exact["did_share"].to_numpy(float), 3)
    return out


def for_display(frame: pd.DataFrame, rule: disclosure.DisclosurePolicy | None = None) -> pd.DataFrame:
    """Pre/post rows through the one disclosure function (pages, CSV, Excel, packs).

    Every row is below England (the Total row is BSol): a people count of 1-7 hides the row, a pre or
    post count of 1-7 hides that count and every figure built on it, a small DiD case count hides the
    comparison. The INT teams of one activity add up to the Total, so a team count hidden alone gets
    a complementary cell. Counts are rounded to 5 and every derived figure is computed from the
    rounded counts (``_prepost_derive``), so a displayed table adds up and cannot be inverted; e.g.
    East INT's care packages (8 -> 3) show as 10 -> [c]. The exact table needs ``--exact``.
    """
    rule = rule or disclosure.configured_rule()
    out = frame.copy()
    if out.empty:
        return out.assign(suppressed=pd.Series(dtype=bool))
    team = (out["int_team_code"] != TOTAL_CODE).to_numpy()
    keys = [c for c in ("cohort", "window_months", "activity") if c in out]
    set_key = out[keys].astype(str).agg("|".join, axis=1) if keys else pd.Series("", index=out.index)
    out["_set"] = np.where(team, set_key, "total#" + pd.Series(np.arange(len(out)), index=out.index).astype(str))
    shown = protect_frame(out, PREPOST_SPEC, rule, derive=_prepost_derive, sets=[["_set"]], size="people")
    return shown.drop(columns="_set")


FLOW_PARTS = ("pre_before_data", "post_incomplete", "died_before_index", "included")
"""The steps of the cohort flow that add up to ``in_cohort_dates``."""


def flow_for_display(flow: Mapping[str, float], rule: disclosure.DisclosurePolicy | None = None) -> dict[str, float]:
    """One team's (or the Total's) cohort flow as it may be shown: counts of 1-7 hidden (NaN), the
    parts that add up to ``in_cohort_dates`` given a complementary cell, the rest rounded."""
    rule = rule or disclosure.configured_rule()
    frame = pd.DataFrame({"step": list(flow), "n": [float(v) for v in flow.values()]})
    frame["_set"] = [("parts" if k in FLOW_PARTS else f"#{k}") for k in frame["step"]]
    shown = protect_frame(frame, {"n": disclosure.Kind.COUNT}, rule, sets=[["_set"]], size="n")
    return dict(zip(shown["step"], shown["n"], strict=True))


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
    pre_bad = _add_months(f.c.idx, -w.months) < w.data_start
    post_bad = _add_months(f.c.idx, w.months) > w.data_end + timedelta(days=1)
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


__all__ = [
    "ACTIVITIES", "ACTIVITY_LABELS", "COHORT_PRESETS", "DID_ACTIVITIES", "RTM_CAUTION", "TOTAL_CODE",
    "caseload_profile", "cohort_flow", "comparison_cohort", "compute_preset", "difference_in_differences",
    "for_display", "int_teams", "plan_layout", "prepost_table", "profile_for_display", "rate_ratio_exact",
    "rate_ratio_robust", "read_prepost", "refresh_prepost",
]
