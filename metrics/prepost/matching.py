"""The comparison cohort: similar people never on a caseload, matched by exact stratification,
for a difference-in-differences estimate (docs/prepost.md).

Why this module exists: the control pool, its sampling and its per-stratum sums are the costly,
engine-heavy part of pre/post; keeping them here bounds what a change to the matching touches.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Date, and_, case, func, literal, or_, select

from metrics.prepost.cohorts import (
    AGE_RANGES,
    DEFAULT_WINDOW,
    DID_ACTIVITIES,
    DID_COLUMNS,
    PRIOR_BANDS,
    STRATUM,
    T,
    Window,
    _activity_sources,
    _age_years,
    _band,
    _band_case,
    _compute,
    _shift,
    _window,
)
from metrics.prepost.stats import difference_in_differences

MAX_CONTROL_POOL = 200_000
"""At most this many never-on-a-caseload people form the control pool (a deterministic random
sample above it), which bounds the comparison's cost whatever the population."""
LIMITATIONS = (
    "This is observational. Matching on age, sex, deprivation, locality and prior A&E and inpatient use does "
    "not capture why a person was referred (frailty, multimorbidity, a clinician's concern, social "
    "circumstances), so some difference remains and its direction is unknown.",
    "Matching on one prior window does not remove regression to the mean entirely when people were chosen on a "
    "longer or different history.",
    "The comparison pool excludes everyone ever on a caseload, including people referred later who resembled "
    "the cases, so it is slightly lower-need. The same comparison person can serve several index months.",
    "GP appointments are not compared: the GP extract only covers people who have been on a caseload.",
    "Read the difference as an order of magnitude, not a causal effect.",
)
"""What the comparison cohort cannot do, said beside every comparison (page and downloads)."""


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
                    _band_case(age, AGE_RANGES).label("age_band"),
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
                     _band_case(_age_years(mv2.c.m, grouped.c.birth_month), AGE_RANGES).label("age_band"),
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
    cases["age_band"] = _band(age, AGE_RANGES)
    cases["prior_band"] = _band(cases["pre_ae_attendances"] + cases["pre_inpatient_spells"], PRIOR_BANDS)
    cases["m"] = idx.dt.to_period("M").dt.to_timestamp()
    cases["imd_quintile"] = cases["imd_quintile"].fillna(0).astype(int)
    return cases


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
