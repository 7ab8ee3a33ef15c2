"""Compile catalogue indicators to SQL and refresh the tidy `measure_result` table.

Every source becomes ONE SQLAlchemy Core query: the source rows joined to the patient spine,
practice and LSOA lookups and to a small table of reporting periods, aggregated with GROUPING SETS
so every geography level and breakdown comes out of a single scan in the database engine. Python
then only combines numerators with denominators and adds confidence intervals, vectorised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Double,
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    delete,
    exists,
    extract,
    false,
    func,
    literal,
    or_,
    select,
    values,
)
from sqlalchemy.sql import ColumnElement

from data_loaders.calendar import DATA_START
from data_loaders.db import ensure_derived_table
from data_loaders.dialect import add_months, engine_memory_for, fetch_frame
from data_loaders.extracts import EXTRACTS_BY_NAME
from data_loaders.tables import EXTRACT_TABLES, dataset_info, measure_result
from metrics import clustered, disclosure, stats
from metrics.catalogue import (
    BANDED_AGGREGATIONS,
    INDICATORS,
    CaseloadExposure,
    CaseloadPeople,
    Events,
    Expected,
    Indicator,
    Population,
    Source,
    disclosure_columns,
)
from metrics.dimensions import AGE_BANDS, BREAKDOWN_KEYS, IMD_LABELS, ROLLING_MONTHS, SEX_LABELS

GEO_LEVELS = ("bsol", "place", "locality", "neighbourhood", "practice")
BREAKDOWN_DIMS = BREAKDOWN_KEYS  # metrics/dimensions.py
DIMS = ("place", "locality", "neighbourhood", "practice", *BREAKDOWN_DIMS, "age5", "std_sex")
KEY = ["period_type", "period", "geography_level", "geography", "breakdown", "group"]

T = EXTRACT_TABLES
patient_t, practice_t, lsoa_t = T["patient"], T["practice"], T["lsoa"]
ethnicity_t, code_list_t, caseload_t = T["ethnicity_code"], T["code_list"], T["int_caseload"]


# ------------------------------------------------------------------------------------ periods
def last_complete_month_end(today: date | None = None) -> date:
    today = today or date.today()
    return today.replace(day=1) - timedelta(days=1)


def _fy_label(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def _fy_start_year(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def rolling_label(month: pd.Period) -> str:
    """The period label of the rolling 12 months ending with `month`: "12m to 2026-11"."""
    return f"{ROLLING_MONTHS}m to {month}"


def reporting_periods(data_start: date, data_end: date) -> pd.DataFrame:
    """Complete months and quarters, rolling 12 months ending each complete month that has 12
    months of data, and financial years (the last one possibly to date)."""
    rows: list[dict[str, Any]] = []
    month = pd.Timestamp(data_start).to_period("M")
    first = month
    last = pd.Timestamp(data_end).to_period("M")
    while month <= last:
        start, end = month.start_time.date(), month.end_time.date()
        if end <= data_end:
            rows.append(dict(period_type="month", period=str(month), period_start=start, period_end=end))
            if (month - first).n >= ROLLING_MONTHS - 1:
                rows.append(dict(period_type="rolling_12m", period=rolling_label(month),
                                 period_start=(month - (ROLLING_MONTHS - 1)).start_time.date(), period_end=end))
        month += 1
    fy = _fy_start_year(data_start)
    while date(fy, 4, 1) <= data_end:
        for q in range(4):
            qs = (pd.Timestamp(date(fy, 4, 1)) + pd.DateOffset(months=3 * q)).date()
            qe = (pd.Timestamp(qs) + pd.DateOffset(months=3) - pd.Timedelta(days=1)).date()
            if qs >= data_start and qe <= data_end:
                rows.append(dict(period_type="quarter", period=f"{_fy_label(fy)} Q{q + 1}", period_start=qs, period_end=qe))
        rows.append(dict(period_type="financial_year", period=_fy_label(fy),
                         period_start=max(date(fy, 4, 1), data_start), period_end=min(date(fy + 1, 3, 31), data_end)))
        fy += 1
    frame = pd.DataFrame(rows)
    # The year a period's yearly denominators (population, prevalence) come from: a rolling year
    # takes its last month's financial year.
    anchor = frame["period_start"].where(frame["period_type"] != "rolling_12m", frame["period_end"])
    frame["fy"] = anchor.map(lambda d: _fy_label(_fy_start_year(d)))
    frame["quarter_of_fy"] = frame["period_start"].map(lambda d: ((d.month - 4) % 12) // 3 + 1)
    frame["years"] = frame.apply(lambda r: ((r.period_end - r.period_start).days + 1) / 365.25, axis=1)
    return frame


def _periods_clause(periods: pd.DataFrame):
    """The periods as an inline VALUES table (bound values; no string-built SQL)."""
    return values(
        column("period_type", String), column("period", String), column("period_start", Date),
        column("period_end", Date), column("fy", String), name="periods",
    ).data([(r.period_type, r.period, r.period_start, r.period_end, r.fy) for r in periods.itertuples()])


def _period_months_clause(periods: pd.DataFrame):
    """Each period once per calendar month it covers: events join it on their month (a hash join,
    far cheaper than a range join over tens of millions of rows)."""
    rows = []
    for r in periods.itertuples():
        for month in pd.period_range(r.period_start, r.period_end, freq="M"):
            rows.append((month.start_time.date(), r.period_type, r.period))
    return values(
        column("month_start", Date), column("period_type", String), column("period", String),
        name="period_months",
    ).data(rows)


# ------------------------------------------------------------------------------------ filter rows
class Row:
    """What catalogue filters see: the source's columns plus derived values and helpers."""

    def __init__(self, table, when: ColumnElement | None, age: ColumnElement | None, data_end: date,
                 codes: CodeLists | None = None):
        self._table = table
        self._when = when
        self._age = age
        self._data_end = data_end
        self._codes = codes or {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._table.c[name]
        except KeyError:
            raise AttributeError(f"{self._table.name} has no column {name!r}") from None

    @property
    def age(self) -> ColumnElement:
        if self._age is None:
            raise AttributeError(f"{self._table.name} rows have no age")
        return self._age

    @property
    def patient_care_home(self) -> ColumnElement:
        return patient_t.c.care_home

    def on_caseload(self, when: ColumnElement) -> ColumnElement:
        ic = caseload_t.alias("oncase")
        return exists(select(literal(1)).where(
            ic.c.patient_id == self._table.c.patient_id,
            ic.c.start_date <= when,
            or_(ic.c.end_date.is_(None), ic.c.end_date >= when),
        ))

    def has_earlier(self, date_col: str, **equal: Any) -> ColumnElement:
        """The same patient has an earlier row of this table (matching `equal`), e.g. an earlier
        permanent care-home admission, which makes this one a transfer (ASCOF 2C)."""
        other = self._table.alias(f"earlier_{self._table.name}")
        return exists(select(literal(1)).where(
            other.c.patient_id == self._table.c.patient_id,
            other.c[date_col] < self._table.c[date_col],
            *(other.c[k] == v for k, v in equal.items()),
        ))

    # Code lists are read once per scan (read_code_lists) and written into the SQL as literals: a
    # correlated EXISTS on code_list per list made the engine plan for ~25 s a scan of 44 of them.
    def in_codes(self, col: ColumnElement, list_name: str) -> ColumnElement:
        """The code starts with a prefix of the list (a missing code matches nothing)."""
        by_length: dict[int, list[str]] = {}
        for prefix in self._codes.get(list_name, ()):
            by_length.setdefault(len(prefix), []).append(prefix)
        if not by_length:
            return false()
        return func.coalesce(or_(*(func.substr(col, 1, n).in_(sorted(prefixes))
                                   for n, prefixes in sorted(by_length.items()))), false())

    def any_in_codes(self, codes: ColumnElement, list_name: str) -> ColumnElement:
        """Any code of a space-separated list (secondary diagnoses, procedures) starts with a prefix
        of the list; an empty cell holds no codes."""
        prefixes = self._codes.get(list_name, ())
        if not prefixes:
            return false()
        spaced = literal(" ") + codes
        return func.coalesce(or_(*(spaced.contains(" " + prefix) for prefix in prefixes)), false())

    def followed_up(self, when: ColumnElement, days: int) -> ColumnElement:
        """True when `days` after `when` has passed by the data end (follow-up complete)."""
        return when + timedelta(days=days) <= literal(self._data_end, Date)

    @staticmethod
    def months_before(when: ColumnElement, months: int) -> ColumnElement:
        """Calendar months back (12 months before 30 June is 30 June a year earlier, leap years too)."""
        return add_months(when, -int(months))

    @staticmethod
    def days_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
        return cast(end - start, Integer)

    @staticmethod
    def hours_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
        """Elapsed hours between two timestamps (same SQL on DuckDB and PostgreSQL)."""
        return extract("epoch", end - start) / 3600.0


def _age_at(when: ColumnElement) -> ColumnElement:
    birth = patient_t.c.birth_month
    return (
        extract("year", when) - extract("year", birth)
        - case((extract("month", when) < extract("month", birth), 1), else_=0)
    )


def _age_band(age: ColumnElement) -> ColumnElement:
    whens = [(age < nxt, label) for (_, label), (nxt, _) in zip(AGE_BANDS, AGE_BANDS[1:], strict=False)]
    return case(*whens, else_=AGE_BANDS[-1][1])


def _age5(age: ColumnElement) -> ColumnElement:
    return cast(func.least(func.floor(age / 5.0) * 5, 90), Integer)


# ------------------------------------------------------------------------------------ queries
@dataclass
class ScanBase:
    """One source table as the engine scans it: FROM clause, filter context, dimensions.

    `period_cols` are what a row is grouped by in time: (period_type, period) for events and
    caseloads, or the financial year for yearly tables (population, modelled prevalence), which
    are aggregated once per year and then repeated for every period of that year in Python.
    """

    from_: Any
    row: Row | None
    dims: dict[str, ColumnElement]
    period_cols: list[ColumnElement]
    by_year: bool
    p: Any  # the periods clause's columns (for caseload measures)
    spans: Any = None  # caseload: each person's merged time on any INT caseload


def _patient_dims(age: ColumnElement | None) -> dict[str, ColumnElement]:
    dims: dict[str, ColumnElement] = {
        "place": practice_t.c.place,
        "locality": practice_t.c.locality,
        "neighbourhood": practice_t.c.neighbourhood_name,
        "practice": practice_t.c.practice_code,
        "imd_quintile": func.coalesce(cast(lsoa_t.c.imd_quintile, String), "Unknown"),
        "ethnicity": func.coalesce(ethnicity_t.c.ethnic_group, "Not stated"),
        "sex": patient_t.c.sex,
    }
    if age is not None:
        dims["age_band"] = _age_band(age)
        dims["age5"] = _age5(age)
    # A standardisation stratum (age and sex DSRs), not a breakdown: a distinct SQL expression from
    # "sex", or GROUPING() could not tell the two apart.
    dims["std_sex"] = func.upper(patient_t.c.sex)
    return dims


def _geo_dims() -> dict[str, ColumnElement]:
    return {
        "place": practice_t.c.place,
        "locality": practice_t.c.locality,
        "neighbourhood": practice_t.c.neighbourhood_name,
        "practice": practice_t.c.practice_code,
    }


def _join_patient(base, patient_key: ColumnElement, with_patient: bool = True):
    j = base
    if with_patient:
        j = j.join(patient_t, patient_t.c.patient_id == patient_key)
    return (
        j.join(practice_t, practice_t.c.practice_code == patient_t.c.practice_code)
        .outerjoin(lsoa_t, lsoa_t.c.lsoa_code == patient_t.c.lsoa_code)
        .outerjoin(ethnicity_t, ethnicity_t.c.code == patient_t.c.ethnic_category)
    )


def scan_key(source: Source) -> tuple:
    """Sources with the same key are answered by one scan of the same rows and joins."""
    if isinstance(source, Events):
        return ("events", source.table, source.date, source.until)
    if isinstance(source, CaseloadPeople | CaseloadExposure):
        return ("caseload",)
    return (type(source).__name__.lower(),)


CodeLists = dict[str, tuple[str, ...]]


def read_code_lists(conn: Connection) -> CodeLists:
    """Every code list's prefixes (the code_list table: shipped, or loaded as an extract)."""
    frame = fetch_frame(conn, select(code_list_t.c.list_name, code_list_t.c.code_prefix))
    return {name: tuple(sorted(group["code_prefix"].astype(str))) for name, group in frame.groupby("list_name")}


def _scan_base(source: Source, periods_df: pd.DataFrame, data_end: date, codes: CodeLists | None = None,
               by_month: bool = False) -> ScanBase:
    """`by_month`: events dated to one month each, grouped by that month (`month_start`) and not
    joined to the periods (`_from_histogram` joins its small aggregate to them instead)."""
    periods = _periods_clause(periods_df)
    p = periods.c
    period_cols = [p.period_type.label("period_type"), p.period.label("period")]
    if isinstance(source, Events):
        table = T[source.table]
        raw = table.c[source.date]
        when = cast(raw, Date) if isinstance(raw.type, DateTime) else raw
        patient_level = "patient_id" in table.c
        if source.until is not None:
            end = func.coalesce(table.c[source.until], data_end)
            in_period = and_(when <= p.period_end, end >= p.period_start)
            age = _age_at(p.period_start) if patient_level else None
        else:
            month = cast(func.date_trunc("month", when), Date)
            periods = _period_months_clause(periods_df)
            in_period = periods.c.month_start == month
            age = _age_at(when) if patient_level else None
            period_cols = ([month.label("month_start")] if by_month else
                           [periods.c.period_type.label("period_type"), periods.c.period.label("period")])
        if by_month and source.until is not None:
            raise ValueError(f"{source.table}: rows spanning periods ({source.until}) have no one month")
        if patient_level:
            from_ = _join_patient(table, table.c.patient_id, with_patient=source.table != "patient")
            dims = _patient_dims(age)
        else:
            from_ = table.join(practice_t, practice_t.c.practice_code == table.c.practice_code)
            dims = _geo_dims()
        if not by_month:
            from_ = from_.join(periods, in_period)
        return ScanBase(from_, Row(table, when, age, data_end, codes), dims, period_cols, False, p)
    if isinstance(source, Population):
        pop = T["population"]
        dims = {
            **_geo_dims(),
            "imd_quintile": case((pop.c.imd_quintile == 0, "Unknown"), else_=cast(pop.c.imd_quintile, String)),
            "ethnicity": pop.c.ethnic_group,
            "sex": pop.c.sex,
            "age_band": _age_band(pop.c.age_band_start),
            "age5": pop.c.age_band_start,
            "std_sex": func.upper(pop.c.sex),
        }
        from_ = pop.join(practice_t, practice_t.c.practice_code == pop.c.practice_code)
        return ScanBase(from_, Row(pop, None, pop.c.age_band_start, data_end, codes), dims,
                        [pop.c.financial_year.label("fy")], True, p)
    if isinstance(source, Expected):
        mp = T["modelled_prevalence"]
        from_ = mp.join(practice_t, practice_t.c.practice_code == mp.c.practice_code)
        return ScanBase(from_, None, _geo_dims(), [mp.c.financial_year.label("fy")], True, p)
    if isinstance(source, CaseloadPeople | CaseloadExposure):
        spans = _caseload_spans(data_end)
        overlap = and_(spans.c.start_date <= p.period_end, spans.c.end_date >= p.period_start)
        from_ = _join_patient(spans, spans.c.patient_id).join(periods, overlap)
        return ScanBase(from_, None, _patient_dims(_age_at(p.period_start)), period_cols, False, p, spans)
    raise TypeError(f"unknown source {source!r}")


def _where(source: Source, base: ScanBase) -> ColumnElement | None:
    """The source's own row filter (None: every row of the scan)."""
    if isinstance(source, Expected):
        return T["modelled_prevalence"].c.condition == source.condition
    if isinstance(source, Events | Population) and source.where is not None:
        return source.where(base.row)
    return None


def _quantile(indicator: Indicator) -> float | None:
    """The quantile a median or percentile indicator reads (None for every other aggregation)."""
    if indicator.aggregation == "median" and indicator.quantile != 0.5:
        raise ValueError(f"{indicator.id}: a median is the 0.5 quantile")
    return indicator.quantile if indicator.aggregation in ("median", "percentile") else None


def _measures(source: Source, base: ScanBase, quantile: float | None) -> dict[str, ColumnElement]:
    """What is aggregated for one source (before its filter is applied)."""
    if isinstance(source, Events):
        assert base.row is not None  # events scans always have a row context
        table = base.row._table
        if source.count == "rows":
            return {"n": func.count()}
        if source.count == "patients":
            return {"n": func.count(func.distinct(table.c.patient_id))}
        if source.count == "sum":
            if source.column is None:
                raise ValueError(f"{source.table}: count='sum' needs a column")
            return {"n": func.sum(cast(table.c[source.column], Double))}
        if source.value is None:
            raise ValueError(f"{source.table}: count={source.count!r} needs a value function")
        v = cast(source.value(base.row), Double)
        measures: dict[str, Any] = {"n": func.count(v), "s": func.sum(v), "ss": func.sum(v * v)}
        if quantile is not None:
            measures["quantile"] = func.percentile_cont(quantile).within_group(v)
        return measures
    if isinstance(source, Population):
        return {"n": func.sum(cast(T["population"].c.persons, Double))}
    if isinstance(source, Expected):
        return {"n": func.sum(cast(T["modelled_prevalence"].c.expected_patients, Double))}
    spans, p = base.spans, base.p
    if isinstance(source, CaseloadPeople):
        return {"n": func.count(func.distinct(spans.c.patient_id))}
    days = cast(func.least(spans.c.end_date, p.period_end) - func.greatest(spans.c.start_date, p.period_start),
                Integer) + 1
    return {"n": func.sum(cast(days, Double)) / 365.25}


def _caseload_spans(data_end: date):
    """Each person's time on ANY INT caseload: the union of their episodes (gaps and islands).

    An episode ends at its end date, at death, or at the data end, whichever is first; episodes that
    overlap are merged, so a person on two teams at once is counted once (issue 9, defect 1).
    """
    ic = caseload_t
    end = func.least(func.coalesce(ic.c.end_date, data_end), func.coalesce(patient_t.c.date_of_death, data_end))
    episodes = (select(ic.c.patient_id, ic.c.start_date.label("start_date"), end.label("end_date"))
                .select_from(ic.join(patient_t, patient_t.c.patient_id == ic.c.patient_id))
                .where(ic.c.start_date <= end).subquery("caseload_episodes"))
    e = episodes.c
    order = (e.start_date, e.end_date)
    reach = func.max(e.end_date).over(partition_by=e.patient_id, order_by=order, rows=(None, -1))
    starts_island = case((e.start_date <= reach, 0), else_=1)
    flagged = select(e.patient_id, e.start_date, e.end_date, starts_island.label("new_island")).subquery("cs_flag")
    f = flagged.c
    island = func.sum(f.new_island).over(partition_by=f.patient_id, order_by=(f.start_date, f.end_date),
                                         rows=(None, 0))
    numbered = select(f.patient_id, f.start_date, f.end_date, island.label("island")).subquery("cs_island")
    n = numbered.c
    return (select(n.patient_id, func.min(n.start_date).label("start_date"), func.max(n.end_date).label("end_date"))
            .group_by(n.patient_id, n.island).subquery("caseload_spans"))


def _grouping_sets(breakdowns: Iterable[str], dims_available: dict[str, Any], dsr: bool,
                   by_sex: bool = False) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    for geo in (None, "place", "locality"):
        for bd in (None, *breakdowns):
            sets.append(tuple(d for d in (geo, bd) if d))
    sets += [("neighbourhood",), ("practice",)]
    sets = [s for s in sets if all(d in dims_available for d in s)]
    if dsr:
        sets = [(*s, "age5", *(("std_sex",) if by_sex else ())) for s in sets]
    return sets


@dataclass
class Job:
    """One indicator's numerator or denominator, answered from a shared scan."""

    indicator: Indicator
    role: str  # numerator | denominator
    source: Source
    period_types: frozenset[str]
    data_end: date  # the indicator's own data end (its sources' latest complete data)


def _jobs(indicators: Iterable[Indicator], periods_by_end: dict[date, pd.DataFrame],
          ind_ends: dict[str, date]) -> list[Job]:
    jobs = []
    for ind in indicators:
        end = ind_ends[ind.id]
        for role in ("numerator", "denominator"):
            source = getattr(ind, role)
            if source is not None:
                wanted = set(_source_periods(source, ind, periods_by_end[end]).period_type)
                jobs.append(Job(ind, role, source, frozenset(wanted), end))
    return jobs


def _gid(dims: Iterable[str], used: list[str]) -> int:
    """The GROUPING() bitmask of a grouping set: bit set = column rolled up (absent)."""
    present = set(dims)
    n = len(used)
    return sum(1 << (n - 1 - i) for i, d in enumerate(used) if d not in present)


def run_scan(conn: Connection, jobs: list[Job], periods_df: pd.DataFrame, data_end: date,
             timings: list[dict] | None = None) -> list[pd.DataFrame | PerYear]:
    """One query for every job reading the same rows: each job's aggregates under its own FILTER,
    over the union of their grouping sets; each job then keeps only its own sets, period types and
    the groups where its filter matched a row (exactly what a query of its own would return)."""
    started = time.perf_counter()
    derived = all(_rolls_from_months(j) for j in jobs)  # rolling years summed from months below
    wanted_periods = sorted({t for j in jobs for t in _scanned_periods(j, derived)})
    scan_periods = periods_df[periods_df.period_type.isin(wanted_periods)]
    codes = read_code_lists(conn)
    base = _scan_base(jobs[0].source, scan_periods, data_end, codes)
    job_sets = [_grouping_sets(j.indicator.breakdowns, base.dims, j.indicator.aggregation in BANDED_AGGREGATIONS,
                               j.indicator.standardise_by_sex) for j in jobs]
    sets = list(dict.fromkeys(s for js in job_sets for s in js))
    used = [d for d in DIMS if any(d in s for s in sets)]

    def aggregates(b: ScanBase) -> tuple[list[ColumnElement], list]:
        """Each job's aggregates under its own FILTER, and the scan's row filter, on one scan base."""
        wheres = [_where(j.source, b) for j in jobs]
        cols: list[ColumnElement] = []
        for k, (job, where) in enumerate(zip(jobs, wheres, strict=True)):
            measures = _measures(job.source, b, _quantile(job.indicator))
            if "n" in measures and isinstance(job.source, Events) and job.source.count == "rows":
                pass  # the row count doubles as the match count
            else:
                measures = {**measures, "rows": func.count()}
            for name, m in measures.items():
                cols.append((m.filter(where) if where is not None else m).label(f"j{k}_{name}"))
        filters = [w for w in wheres if w is not None]
        return cols, ([or_(*filters)] if len(filters) == len(wheres) else [])

    if all(_additive(j) for j in jobs):
        frame = fetch_frame(conn, _rolled_up(base, used, sets, *aggregates(base)))
    elif _histogram_value(jobs, base) is not None:
        frame = _from_histogram(conn, jobs, scan_periods, data_end, codes, used, sets)
    else:
        parts = []
        for part_periods, per_query in _holistic_parts(scan_periods, base.by_year):
            b = base if part_periods is scan_periods else _scan_base(jobs[0].source, part_periods, data_end, codes)
            cols, row_filter = aggregates(b)
            parts += [_holistic(conn, b, used, batch, cols, row_filter) for batch in _batches(sets, per_query)]
        frame = pd.concat(parts, ignore_index=True)
    fetched = time.perf_counter()
    out = []
    for k, (job, js) in enumerate(zip(jobs, job_sets, strict=True)):
        names = [c[len(f"j{k}_"):] for c in frame.columns if c.startswith(f"j{k}_")]
        match = frame[f"j{k}_rows" if f"j{k}_rows" in frame.columns else f"j{k}_n"]
        keep = frame["gid"].isin([_gid(s, used) for s in js]) & (pd.to_numeric(match).fillna(0) > 0)
        if not base.by_year:
            keep &= frame["period_type"].isin(_scanned_periods(job, derived))
        kept = [n for n in names if n != "rows"]
        sub = frame.loc[keep, [*(c.name for c in base.period_cols), *used, "gid"]]
        sub = sub.assign(**{n: frame.loc[keep, f"j{k}_{n}"] for n in kept})
        if base.by_year:  # one aggregate per year, repeated for each of the job's periods in it
            job_periods = scan_periods.loc[scan_periods.period_type.isin(job.period_types), ["period_type", "period", "fy"]]
            rows = int(sub["fy"].map(job_periods["fy"].value_counts()).fillna(0).sum())
            out.append(PerYear(partial(_job_frame, sub, job, used, kept, derived, periods_df, job_periods), rows))
        else:
            out.append(_job_frame(sub, job, used, kept, derived, periods_df))
    if timings is not None:
        timings.append({"scan": ":".join(str(x) for x in scan_key(jobs[0].source) if x),
                        "rolled_up": all(_additive(j) for j in jobs) or _histogram_value(jobs, base) is not None,
                        "jobs": [f"{j.indicator.id}.{j.role}" for j in jobs], "rows_fetched": len(frame),
                        "query_s": round(fetched - started, 4), "split_s": round(time.perf_counter() - fetched, 4)})
    return out


@dataclass(frozen=True)
class PerYear:
    """A by-year aggregate (population, expected prevalence), repeated for each period of its year
    only when its indicator is combined: held repeated, the population frames of every indicator
    were most of the memory of the scans (m16's alone 1.2 m rows at full size)."""
    expand: Callable[[], pd.DataFrame]
    rows: int  # once expanded


def _frame(fetched: pd.DataFrame | PerYear) -> pd.DataFrame:
    return fetched.expand() if isinstance(fetched, PerYear) else fetched


def _job_frame(sub: pd.DataFrame, job: Job, used: list[str], kept: list[str], derived: bool,
               periods_df: pd.DataFrame, job_periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """One job's rows of a scan, labelled: its geography, breakdown and group columns. A by-year
    aggregate is labelled once per year, then repeated for each of the job's periods in it."""
    empty = pd.DataFrame(columns=[*KEY, "age5", "std_sex", *kept])
    if sub.empty:
        return empty
    dsr = job.indicator.aggregation in BANDED_AGGREGATIONS
    labelled = _label_groups(sub.reset_index(drop=True), used, kept, with_age5=dsr,
                             with_std_sex=dsr and job.indicator.standardise_by_sex)
    if job_periods is not None:
        columns = ["period_type", "period", *labelled.columns]
        labelled = job_periods.merge(labelled.assign(fy=sub["fy"].to_numpy()), on="fy")[columns]
        if labelled.empty:
            return empty
    if derived and "rolling_12m" in job.period_types:
        labelled = _rolling_from_months(labelled, periods_df, kept, job.period_types)
    return _compact_periods(labelled)


def _compact_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Period columns as the string dtype, not Python objects: a population frame repeated for every
    period of its year holds a million rows at full size, and an object column costs ~65 bytes a row."""
    for col in ("period_type", "period"):
        if frame[col].dtype == object:
            frame[col] = frame[col].astype("str")
    return frame


HOLISTIC_SETS_PER_QUERY = 6
"""Grouping sets per query for distinct counts and quantiles. These cannot be rolled up, and the
engine keeps every value of every group of every set in memory at once (quantile state cannot
spill): all 21 sets of the discharge-delay medians in one query need ~1 GB at full size."""


HOLISTIC_ROLLING_SETS_PER_QUERY = 2
"""The same for rolling 12-month windows, scanned in their own queries: each row falls in up to 12
windows (against one month, quarter and year), so a set holds four times the values; two sets a
query keep the state near that of six sets of the other periods (the full-size build ran out of
DuckDB's 1 GB on the discharge-delay medians once rolling windows were added)."""


def _holistic_parts(scan_periods: pd.DataFrame, by_year: bool) -> list[tuple[pd.DataFrame, int]]:
    """(periods, sets per query) of a non-additive scan: rolling windows apart from the others."""
    rolling = scan_periods["period_type"].eq("rolling_12m")
    if by_year or not rolling.any() or rolling.all():
        return [(scan_periods, HOLISTIC_ROLLING_SETS_PER_QUERY if rolling.any() and not by_year
                 else HOLISTIC_SETS_PER_QUERY)]
    return [(scan_periods[~rolling], HOLISTIC_SETS_PER_QUERY), (scan_periods[rolling], HOLISTIC_ROLLING_SETS_PER_QUERY)]


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _holistic(conn: Connection, base: ScanBase, used: list[str], sets: list[tuple[str, ...]], cols: list,
              row_filter: list) -> pd.DataFrame:
    """Some of a non-additive scan's grouping sets in one query, `gid` numbered over all of `used`."""
    here = [d for d in used if any(d in s for s in sets)]
    grouping_sets = func.grouping_sets(*[_tuple(*base.period_cols, *(base.dims[d] for d in s)) for s in sets])
    gid = func.grouping(*(base.dims[d] for d in here)).label("gid") if here else literal(0).label("gid")
    absent = [literal(None).label(d) for d in used if d not in here]
    stmt = (
        select(*base.period_cols, *(base.dims[d].label(d) for d in here), *absent, gid, *cols)
        .select_from(base.from_)
        .where(*row_filter)
        .group_by(grouping_sets)
    )
    frame = fetch_frame(conn, stmt)
    frame["gid"] = frame["gid"].map({_gid(s, here): _gid(s, used) for s in sets})
    return frame


def _histogram_value(jobs: list[Job], base: ScanBase) -> ColumnElement | None:
    """The one integer value (e.g. days) whose quantiles every job of a scan asks for, or None.

    Integer values have few distinct values, so counts per value can stand in for the values:
    they add up over months and groups, and a quantile read from them is the one the engine's
    `percentile_cont` gives (the same ranks, the same interpolation)."""
    if base.row is None or base.by_year:
        return None
    exprs: dict[str, ColumnElement] = {}
    for job in jobs:
        src = job.source
        if not (isinstance(src, Events) and src.count == "value" and src.value is not None
                and src.until is None and _quantile(job.indicator) is not None):
            return None
        value = src.value(base.row)
        if not isinstance(value.type, Integer):
            return None
        exprs[str(value.compile(compile_kwargs={"literal_binds": True}))] = value
    return next(iter(exprs.values())) if len(exprs) == 1 else None


def _from_histogram(conn: Connection, jobs: list[Job], scan_periods: pd.DataFrame, data_end: date,
                    codes: CodeLists, used: list[str], sets: list[tuple[str, ...]]) -> pd.DataFrame:
    """Counts, sums and quantiles of an integer value from how many rows had each value.

    The rows are counted once per month x finest group x value; those counts are joined to every
    period covering the month (rolling years included) and summed to every grouping set, so the
    engine never holds each group's values (a quantile's state, which cannot be rolled up or
    spilled). The frame has the columns `_holistic` gives, filled from the counts."""
    base = _scan_base(jobs[0].source, scan_periods, data_end, codes, by_month=True)
    value = _histogram_value(jobs, base)
    assert value is not None
    wheres = [_where(j.source, base) for j in jobs]
    counts = [(func.count().filter(w) if w is not None else func.count()).label(f"c{k}") for k, w in enumerate(wheres)]
    filters = [w for w in wheres if w is not None]
    stmt = _rolled_up_by_month(base, scan_periods, used, sets, counts,
                               [or_(*filters)] if len(filters) == len(wheres) else [], value=value)
    hist = fetch_frame(conn, stmt)
    keys = ["period_type", "period", *used, "gid"]
    group = hist.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    out = hist.loc[np.unique(group, return_index=True)[1], keys].reset_index(drop=True)
    n_groups = len(out)
    v = pd.to_numeric(hist["v"], errors="coerce").to_numpy(float)
    for k, job in enumerate(jobs):
        c = pd.to_numeric(hist[f"c{k}"], errors="coerce").fillna(0).to_numpy(float)
        out[f"j{k}_rows"] = np.bincount(group, weights=c, minlength=n_groups)
        known = ~np.isnan(v) & (c > 0)
        g, x, w = group[known], v[known], c[known]
        n = np.bincount(g, weights=w, minlength=n_groups)
        out[f"j{k}_n"] = n
        out[f"j{k}_s"] = np.where(n > 0, np.bincount(g, weights=w * x, minlength=n_groups), np.nan)
        out[f"j{k}_ss"] = np.where(n > 0, np.bincount(g, weights=w * x * x, minlength=n_groups), np.nan)
        out[f"j{k}_quantile"] = _quantile_from_counts(g, x, w, n, float(_quantile(job.indicator) or 0))
    return out


def _quantile_from_counts(group: np.ndarray, value: np.ndarray, count: np.ndarray, n: np.ndarray,
                          q: float) -> np.ndarray:
    """`percentile_cont(q)` of each group from (value, count) pairs: rank h = q(n - 1) of the
    sorted values, interpolated between the values at ranks floor(h) and ceil(h)."""
    order = np.lexsort((value, group))
    x, cum = value[order], np.cumsum(count[order])
    before = np.cumsum(n) - n  # rows of the groups sorted ahead of each group
    h = q * (n - 1)
    lo, hi = np.floor(h), np.ceil(h)
    if not len(x):
        return np.full(len(n), np.nan)
    last = len(x) - 1  # an empty group's ranks point past the end; its result is NaN anyway
    x_lo = x[np.minimum(np.searchsorted(cum, before + lo, side="right"), last)]
    x_hi = x[np.minimum(np.searchsorted(cum, before + hi, side="right"), last)]
    return np.where(n > 0, np.where(lo == hi, x_lo, x_lo + (h - lo) * (x_hi - x_lo)), np.nan)


def _additive(job: Job) -> bool:
    """Can the job's aggregates be summed from finer groups (counts, sums, sums of squares)?"""
    src = job.source
    if isinstance(src, Events):
        return src.count in ("rows", "sum") or (src.count == "value" and _quantile(job.indicator) is None)
    return isinstance(src, Population | Expected)


def _rolls_from_months(job: Job) -> bool:
    """Is the job's rolling year the sum of its 12 months? True for additive aggregates of events
    dated to one month (each row in exactly one month): the scan then skips the rolling periods,
    which would otherwise join every row to 12 of them. Spells (``until``), distinct people,
    quantiles and caseloads are scanned over the rolling periods themselves."""
    src = job.source
    return isinstance(src, Events) and src.until is None and _additive(job)


def _scanned_periods(job: Job, derived: bool) -> frozenset[str]:
    if derived and "rolling_12m" in job.period_types:
        return (job.period_types - {"rolling_12m"}) | {"month"}
    return job.period_types


def _rolling_from_months(frame: pd.DataFrame, periods_df: pd.DataFrame, measures: list[str],
                         wanted: frozenset[str]) -> pd.DataFrame:
    """Rolling-year rows as the sums of each group's monthly rows (months the job did not ask for
    are then dropped)."""
    rolling = periods_df[periods_df.period_type == "rolling_12m"]
    months = frame[frame.period_type == "month"]
    parts = [frame[frame.period_type.isin(wanted)]]
    if not rolling.empty and not months.empty:
        window = pd.DataFrame([(str(m), r.period) for r in rolling.itertuples()
                               for m in pd.period_range(r.period_start, r.period_end, freq="M")],
                              columns=["period", "rolling"])
        keys = [c for c in frame.columns if c not in (*measures, "period_type", "period")]
        joined = months.merge(window, on="period")
        summed = (joined.groupby(["rolling", *keys], dropna=False, sort=False)[measures]
                  .sum(min_count=1).reset_index().rename(columns={"rolling": "period"}))
        summed.insert(0, "period_type", "rolling_12m")
        parts.append(summed[frame.columns])
    return pd.concat(parts, ignore_index=True)


def _rolled_up_by_month(base: ScanBase, scan_periods: pd.DataFrame, used: list[str], sets: list[tuple[str, ...]],
                        cols: list, row_filter: list, value: ColumnElement | None = None):
    """`_rolled_up` for rows dated to one month (`base` from `_scan_base(by_month=True)`): the rows
    are aggregated once per month x finest group (x `value`: counts per value), and those groups
    are joined to the periods covering each month (rolling years too) and summed to every grouping
    set. (Tried for the additive scans as well: no faster, as their finest groups are about as many
    as their rows, so they keep `_rolled_up`.)"""
    month = base.period_cols[0]
    extra = [value] if value is not None else []
    fine = (
        select(month, *(base.dims[d].label(d) for d in used), *(v.label("v") for v in extra), *cols)
        .select_from(base.from_)
        .where(*row_filter)
        .group_by(month, *(base.dims[d] for d in used), *extra)
        .subquery("fine")
    )
    f = fine.c
    tail = [f.v] if value is not None else []
    pm = _period_months_clause(scan_periods)
    grouping_sets = func.grouping_sets(*[_tuple(pm.c.period_type, pm.c.period, *(f[d] for d in s), *tail) for s in sets])
    gid = func.grouping(*(f[d] for d in used)).label("gid") if used else literal(0).label("gid")
    return (
        select(pm.c.period_type.label("period_type"), pm.c.period.label("period"), *(f[d] for d in used), *tail, gid,
               *(func.sum(f[c.name]).label(c.name) for c in cols))
        .select_from(fine.join(pm, pm.c.month_start == f.month_start))
        .group_by(grouping_sets)
    )


def _rolled_up(base: ScanBase, used: list[str], sets: list[tuple[str, ...]], cols: list, row_filter: list):
    """Aggregate the rows once to the finest grain every grouping set needs, then roll those few
    groups up to each set: the big table is hashed once instead of once per grouping set."""
    keys = [*base.period_cols, *(base.dims[d].label(d) for d in used)]
    fine = (
        select(*keys, *cols)
        .select_from(base.from_)
        .where(*row_filter)
        .group_by(*base.period_cols, *(base.dims[d] for d in used))
        .subquery("fine")
    )
    f = fine.c
    period = [f[c.name] for c in base.period_cols]
    grouping_sets = func.grouping_sets(*[_tuple(*period, *(f[d] for d in s)) for s in sets])
    gid = func.grouping(*(f[d] for d in used)).label("gid") if used else literal(0).label("gid")
    totals = [func.sum(f[c.name]).label(c.name) for c in cols]
    return select(*period, *(f[d] for d in used), gid, *totals).group_by(grouping_sets)


def _tuple(*cols: ColumnElement):
    from sqlalchemy import tuple_

    return tuple_(*cols)


def _label_groups(frame: pd.DataFrame, used: list[str], measures: Iterable[str], with_age5: bool,
                  with_std_sex: bool = False) -> pd.DataFrame:
    """Turn GROUPING() bitmasks into geography_level/geography/breakdown/group columns."""
    n = len(used)
    gid = frame["gid"].astype(int).to_numpy()
    present = {d: ((gid >> (n - 1 - i)) & 1) == 0 for i, d in enumerate(used)}
    level = np.full(len(frame), "bsol", dtype=object)
    geography = np.full(len(frame), "BSol", dtype=object)
    for d in ("place", "locality", "neighbourhood", "practice"):
        if d in present:
            mask = present[d]
            level[mask] = d
            geography[mask] = frame.loc[mask, d].astype(str).to_numpy()
    breakdown = np.full(len(frame), "none", dtype=object)
    group = np.full(len(frame), "All", dtype=object)
    for d in BREAKDOWN_DIMS:
        if d in present:
            mask = present[d]
            breakdown[mask] = d
            vals = frame.loc[mask, d].astype(str)
            if d == "imd_quintile":
                vals = vals.map(lambda v: IMD_LABELS.get(v.split(".")[0], v))
            elif d == "sex":
                vals = vals.map(lambda v: SEX_LABELS.get(v, v))
            group[mask] = vals.to_numpy()
    out = pd.DataFrame({
        **{c: frame[c].astype(object) for c in ("period_type", "period") if c in frame},  # by-year: none yet
        "geography_level": level, "geography": geography, "breakdown": breakdown, "group": group,
    })
    if with_age5:
        out["age5"] = frame["age5"].astype(int)
    if with_std_sex:
        out["std_sex"] = frame["std_sex"].astype(str)
    if "std_sex" in present:
        out["std_sex"] = frame["std_sex"].astype(str)
    for k in measures:
        out[k] = pd.to_numeric(frame[k], errors="coerce").astype(float)
    return out


# ------------------------------------------------------------------------------------ combining
def _derive_fy(frame: pd.DataFrame, periods_df: pd.DataFrame, quarter: int | None) -> pd.DataFrame:
    """Financial-year rows from one quarter's rows (snapshots: the latest; cohorts: a fixed one)."""
    quarters = periods_df[periods_df.period_type == "quarter"][["period", "fy", "quarter_of_fy"]]
    q = frame[frame.period_type == "quarter"].merge(quarters, on="period")
    if q.empty:
        return frame
    if quarter is None:
        chosen = q.groupby("fy")["quarter_of_fy"].transform("max")
        q = q[q.quarter_of_fy == chosen]
    else:
        q = q[q.quarter_of_fy == quarter]
    fy_rows = q.drop(columns=["period", "quarter_of_fy"]).rename(columns={"fy": "period"})
    fy_rows["period_type"] = "financial_year"
    return pd.concat([frame[frame.period_type != "financial_year"], fy_rows], ignore_index=True)


def _source_periods(source: Source, indicator: Indicator, periods_df: pd.DataFrame) -> pd.DataFrame:
    wanted = set(indicator.frequency)
    if isinstance(source, Events) and (source.snapshot or source.fy_quarter):
        wanted = {"quarter"}
    return periods_df[periods_df.period_type.isin(wanted)]


def source_frames(conn: Connection, indicators: Iterable[Indicator], ind_ends: dict[str, date],
                  progress: Callable[[str], None] | None = None, timings: list[dict] | None = None,
                  ) -> tuple[dict[tuple[str, str], pd.DataFrame | PerYear], dict[date, pd.DataFrame]]:
    """Every indicator's numerator and denominator frames (by-year ones to be expanded: `PerYear`),
    one scan per source table and join (and data end), plus the reporting periods of each data end."""
    periods_by_end = {end: reporting_periods(DATA_START, end) for end in set(ind_ends.values())}
    scans: dict[tuple, list[Job]] = {}
    for job in _jobs(indicators, periods_by_end, ind_ends):  # additive jobs roll up; the rest scan alone
        scans.setdefault((*scan_key(job.source), _additive(job), job.data_end), []).append(job)
    out: dict[tuple[str, str], pd.DataFrame | PerYear] = {}
    for key, jobs in scans.items():
        if progress:
            progress("scan " + ":".join(str(x) for x in key[:-2] if x))
        periods_df = periods_by_end[jobs[0].data_end]
        for job, frame in zip(jobs, run_scan(conn, jobs, periods_df, jobs[0].data_end, timings), strict=True):
            src, ind = job.source, job.indicator
            if isinstance(src, Events) and (src.snapshot or src.fy_quarter) and "financial_year" in ind.frequency:
                frame = _derive_fy(_frame(frame), periods_df, src.fy_quarter)
            out[(ind.id, job.role)] = frame
    return out, periods_by_end


def compute_indicator(indicator: Indicator, num: pd.DataFrame, den: pd.DataFrame | None,
                      periods_df: pd.DataFrame, standard_population: pd.Series) -> pd.DataFrame:
    """Combine one indicator's numerator and denominator frames into its result rows."""
    years = periods_df.set_index(["period_type", "period"])["years"]
    if indicator.aggregation == "count":
        num = _with_zero_periods(num, periods_df)
    if indicator.aggregation == "dsr":
        out = _dsr(num, den, indicator, years, standard_population)
    elif indicator.aggregation == "isr":
        out = _isr(num, den, indicator)
    else:
        out = _combine(num, den, indicator, years)
    out = out[out.period_type.isin(indicator.frequency)]
    out.insert(0, "measure", indicator.measure)
    out.insert(0, "indicator_id", indicator.id)
    bounds = periods_df.drop_duplicates(["period_type", "period"]).set_index(["period_type", "period"])
    idx = pd.MultiIndex.from_frame(out[["period_type", "period"]])
    out["period_start"] = bounds["period_start"].reindex(idx).to_numpy()
    out["period_end"] = bounds["period_end"].reindex(idx).to_numpy()
    return out


OUT_COLUMNS = [*KEY, "numerator", "denominator", "value", *stats.LIMIT_COLUMNS]


def _combine(num: pd.DataFrame, den: pd.DataFrame | None, ind: Indicator, years: pd.Series) -> pd.DataFrame:
    if den is None:
        out = num.copy()
        if ind.aggregation == "count":
            out["numerator"], out["denominator"], out["value"] = out["n"], np.nan, out["n"]
        elif ind.aggregation == "mean":
            out["numerator"], out["denominator"] = out["s"], out["n"]
            for level, lo_col, hi_col in stats.CONFIDENCE_LEVELS:
                out["value"], out[lo_col], out[hi_col] = stats.mean_ci_array(
                    out["n"], out["s"], out["ss"], level, lower_bound=0.0)
        elif ind.aggregation in ("median", "percentile"):
            out["numerator"], out["denominator"], out["value"] = np.nan, out["n"], out["quantile"]
        else:
            raise ValueError(ind.aggregation)
        return out.reindex(columns=OUT_COLUMNS)
    # Outer join: a group with events but no denominator row keeps its count (value unknown).
    merged = den[KEY + ["n"]].rename(columns={"n": "denominator"}).merge(
        num[KEY + ["n"]].rename(columns={"n": "numerator"}), on=KEY, how="outer")
    merged["numerator"] = merged["numerator"].fillna(0.0)
    d = merged["denominator"].astype(float)
    if ind.annualised:
        d = d * years.reindex(pd.MultiIndex.from_frame(merged[["period_type", "period"]])).to_numpy()
    d = d.where(d > 0)
    nmr = merged["numerator"].astype(float)
    merged["value"] = nmr / d * ind.multiplier
    for level, lo_col, hi_col in stats.CONFIDENCE_LEVELS:
        if ind.ci == "wilson":
            ok = d.notna() & (nmr <= d)
            lo, hi = stats.wilson_ci_array(nmr.where(ok, 0).to_numpy(), d.where(ok, 1).to_numpy(), level)
            merged[lo_col] = np.where(ok, lo * ind.multiplier, np.nan)
            merged[hi_col] = np.where(ok, hi * ind.multiplier, np.nan)
        elif ind.ci == "byar":
            lo, hi = stats.byars_ci_array(nmr.to_numpy(), level, ind.exact_poisson_below)
            merged[lo_col] = lo / d * ind.multiplier
            merged[hi_col] = hi / d * ind.multiplier
    return merged.reindex(columns=OUT_COLUMNS)


def _with_zero_periods(frame: pd.DataFrame, periods_df: pd.DataFrame) -> pd.DataFrame:
    """Counts: a group seen in any period of a type gets an explicit 0 in that type's other periods."""
    parts = []
    for ptype, sub in frame.groupby("period_type", sort=False):
        periods = periods_df.loc[periods_df.period_type == ptype, ["period_type", "period"]]
        groups = sub[KEY[2:]].drop_duplicates()
        grid = periods.merge(groups, how="cross")
        parts.append(grid.merge(sub, on=KEY, how="left").fillna({"n": 0.0}))
    return pd.concat(parts, ignore_index=True) if parts else frame


def _numbered(frames: list[pd.DataFrame]) -> tuple[list[np.ndarray], pd.DataFrame]:
    """Each frame's KEY as one integer per group (the same group, the same number, across frames),
    and the groups' KEY columns, row i being group i: merges and grids then join on one integer
    column, not six text ones (the standardised rates' frames hold a million rows at full size)."""
    local = [f.groupby(KEY, sort=False, dropna=False).ngroup().to_numpy() for f in frames]
    firsts = [f[KEY].iloc[np.unique(c, return_index=True)[1]] for f, c in zip(frames, local, strict=True)]
    both = pd.concat(firsts, ignore_index=True)
    numbers = both.groupby(KEY, sort=False, dropna=False).ngroup().to_numpy()
    per_frame = np.split(numbers, np.cumsum([len(f) for f in firsts])[:-1])
    groups = both.iloc[np.unique(numbers, return_index=True)[1]].reset_index(drop=True)
    return [m[c] for m, c in zip(per_frame, local, strict=True)], groups


def _dsr(num: pd.DataFrame, den: pd.DataFrame, ind: Indicator, years: pd.Series,
         standard_population: pd.Series) -> pd.DataFrame:
    """Direct standardisation per group with Dobson limits: ``stats.dsr_by_group`` (as phe_dsr)."""
    band = ["age5", *(("std_sex",) if ind.standardise_by_sex else ())]
    (den_g, num_g), groups = _numbered([den, num])
    merged = den[band].reset_index(drop=True).assign(g=den_g, pop=den["n"].to_numpy()).merge(
        num[band].reset_index(drop=True).assign(g=num_g, count=num["n"].to_numpy()), on=["g", *band], how="outer")
    if ind.min_age:
        merged = merged[merged["age5"] >= ind.min_age]
    if ind.standardise_by_sex:
        merged = _age_sex_grid(merged, groups, standard_population, ind.min_age or 0)
    merged["count"] = merged["count"].fillna(0.0)
    merged["pop"] = merged["pop"].fillna(0.0)
    g = merged["g"].to_numpy()
    if ind.annualised:
        merged["pop"] = merged["pop"] * years.reindex(
            pd.MultiIndex.from_frame(groups[["period_type", "period"]])).to_numpy()[g]
    weights = merged["age5"].map(standard_population).astype(float)
    # PHE rule (PHEindicatormethods calculate_dsr: every denominator must be > 0): a band with
    # events and no population has no rate, so the group's DSR is not calculated (its events stay
    # in the numerator) -- implemented in stats.dsr_by_group.
    # Standard weights cover all bands at or above min_age, whether or not a group has people there.
    # (Age and sex: each sex is weighted by the whole standard population, so W is each group's own
    # grid total: 2 x ESP for persons, 1 x ESP for a sex group.)
    total_w = (None if ind.standardise_by_sex
               else float(standard_population[standard_population.index >= (ind.min_age or 0)].sum()))
    out = stats.dsr_by_group(merged[["g"]], merged["count"], merged["pop"], weights, total_standard=total_w,
                             multiplier=ind.multiplier, exact_below=ind.exact_poisson_below,
                             levels=stats.CONFIDENCE_LEVELS)
    keys = groups.iloc[out["g"].to_numpy()].reset_index(drop=True)
    return pd.concat([keys, out.drop(columns="g").reset_index(drop=True)], axis=1).reindex(columns=OUT_COLUMNS)


def _isr(num: pd.DataFrame, den: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """Indirect standardisation (the BCF 2023-25 template's practice ratio): observed / expected x
    multiplier, expected = each area's population x BSol's rate in the same period, age band and sex;
    Byar's (exact below ``exact_poisson_below``) limits on the observed count over a fixed expected.
    Annualisation cancels (both rates are for the same period), so none is applied."""
    band = ["period_type", "period", "age5", "std_sex"]
    merged = den[[*KEY, "age5", "std_sex", "n"]].rename(columns={"n": "pop"}).merge(
        num[[*KEY, "age5", "std_sex", "n"]].rename(columns={"n": "count"}), on=[*KEY, "age5", "std_sex"], how="outer")
    merged = merged[(merged["age5"] >= (ind.min_age or 0)) & merged["std_sex"].isin(("F", "M"))]
    merged = merged.assign(count=merged["count"].fillna(0.0).astype(float), pop=merged["pop"].fillna(0.0).astype(float))
    bsol = merged[(merged["geography_level"] == "bsol") & (merged["breakdown"] == "none")]
    ref = bsol.groupby(band)[["count", "pop"]].sum()
    # PHE's rule, as for DSRs: events in a band with no population leave that band without a rate
    no_rate = ref[(ref["pop"] <= 0) & (ref["count"] > 0)].reset_index()[["period_type", "period"]]
    rate = (ref["count"] / ref["pop"].where(ref["pop"] > 0)).fillna(0.0).rename("rate").reset_index()
    merged = merged.merge(rate, on=band, how="left")
    merged["expected"] = merged["pop"] * merged["rate"].fillna(0.0)
    out = merged.groupby(KEY, sort=False, dropna=False)[["count", "expected"]].sum().reset_index()
    observed, expected = out["count"].to_numpy(float), out["expected"].to_numpy(float)
    undefined = pd.MultiIndex.from_frame(out[["period_type", "period"]]).isin(
        pd.MultiIndex.from_frame(no_rate.drop_duplicates()))
    ok = (expected > 0) & ~undefined
    safe = np.where(ok, expected, 1.0)
    out["numerator"], out["denominator"] = observed, expected
    out["value"] = np.where(ok, observed / safe * ind.multiplier, np.nan)
    for level, lo_col, hi_col in stats.CONFIDENCE_LEVELS:
        lo, hi = stats.byars_ci_array(observed, level, ind.exact_poisson_below)
        out[lo_col] = np.where(ok, lo / safe * ind.multiplier, np.nan)
        out[hi_col] = np.where(ok, hi / safe * ind.multiplier, np.nan)
    return out.reindex(columns=OUT_COLUMNS)


def _age_sex_grid(merged: pd.DataFrame, groups: pd.DataFrame, standard_population: pd.Series,
                  min_age: int) -> pd.DataFrame:
    """Every group (``g``, numbering ``groups``) on the full grid of standard age bands x sex (F, M;
    a sex group its own sex only), so a band with no one in it weighs in as rate 0. Unknown sex is
    excluded (NHS OF 2.3.i)."""
    known = merged["std_sex"].isin(("F", "M"))
    if not known.all():
        merged = merged[known]
    present = pd.DataFrame({"g": pd.unique(merged["g"])})
    bands = pd.DataFrame({"age5": [int(a) for a in standard_population.index if a >= min_age]})
    # each group x (band x sex), in the order of a cross with the bands and then the sexes
    grid = present.merge(bands.merge(pd.DataFrame({"std_sex": ["F", "M"]}), how="cross"), how="cross")
    g = grid["g"].to_numpy()
    by_sex = groups["breakdown"].eq("sex").to_numpy()[g]
    own = ~by_sex | (groups["group"].to_numpy(dtype=object)[g] == grid["std_sex"].map(SEX_LABELS).to_numpy(dtype=object))
    if not own.all():
        grid = grid[own]
    return grid.merge(merged, on=["g", "age5", "std_sex"], how="left")


# ------------------------------------------------------------------------------------ refresh
def data_end_of(conn: Connection) -> date:
    value = conn.execute(select(dataset_info.c.value).where(dataset_info.c.key == "data_end")).scalar()
    return date.fromisoformat(value) if value else last_complete_month_end()


def standard_population_of(conn: Connection) -> pd.Series:
    sp = T["standard_population"]
    rows = conn.execute(select(sp.c.age_band_start, sp.c.persons)).all()
    if not rows:
        raise RuntimeError("standard_population is empty: load the shipped reference data first")
    return pd.Series({int(a): float(p) for a, p in rows})


RESULT_COLUMNS = [c.name for c in measure_result.columns]


def stored_suppression(conn: Connection, flagged: pd.DataFrame, policy: disclosure.DisclosurePolicy,
                       indicators: Iterable[Indicator] = INDICATORS) -> np.ndarray:
    """The stored ``suppressed`` flag: the row rules plus secondary suppression over ALL results.

    Why at refresh: complementary cells depend on every sibling area, group and period, and a page
    reads only some of them; storing the flag makes every reader hide the same cells.
    """
    from metrics.quality import geography_tree

    primary = disclosure.results_hidden(flagged, policy)
    tree = disclosure.hierarchy_from_tree(geography_tree(conn))
    return disclosure.secondary_suppression(flagged, primary, tree, disclosure.additive_over_time(indicators), policy)


def source_data_ends(conn: Connection, data_end: date) -> dict[str, date]:
    """Each extract's own data end (never after the dataset's): a lagging source's missing months are
    missing, not zero. A practice-level monthly extract ends with its latest month present; any
    extract's end can be declared in dataset_info as `data_end.<table>` (e.g. by the loader)."""
    declared = dict(conn.execute(select(dataset_info.c.key, dataset_info.c.value)
                                 .where(dataset_info.c.key.startswith("data_end."))).all())
    ends: dict[str, date] = {}
    for name, table in T.items():
        end = data_end
        if f"data_end.{name}" in declared:
            end = min(end, date.fromisoformat(declared[f"data_end.{name}"]))
        elif EXTRACTS_BY_NAME[name].kind == "aggregate" and "month" in table.c:
            latest = conn.execute(select(func.max(table.c.month))).scalar()
            if latest is not None:
                end = min(end, pd.Timestamp(latest).to_period("M").end_time.date())
        ends[name] = end
    return ends


def _indicator_tables(ind: Indicator) -> set[str]:
    return {s.table for s in (ind.numerator, ind.denominator) if isinstance(s, Events)} | (
        {"int_caseload"} if any(isinstance(s, CaseloadExposure | CaseloadPeople)
                                for s in (ind.numerator, ind.denominator)) else set())


def _provisional(results: pd.DataFrame, ind: Indicator, ends: dict[str, date]) -> np.ndarray:
    """Periods holding the latest month of a usually-revised source are provisional."""
    revised = [ends[t] for t in _indicator_tables(ind) if EXTRACTS_BY_NAME[t].revised]
    if not revised:
        return np.zeros(len(results), dtype=bool)
    latest_month_start = max(revised).replace(day=1)
    return (pd.to_datetime(results["period_end"]) >= pd.Timestamp(latest_month_start)).to_numpy()


def followed_up_periods(frame: pd.DataFrame, indicator: Indicator, data_end: date) -> np.ndarray:
    """Rows of periods whose cohort has been followed up `indicator.follow_up_days` by the data end:
    a quarter once its end plus the follow-up has passed; a year that takes one quarter's cohort
    (ASCOF 2B(1): October-December) once that quarter's has."""
    ends = pd.to_datetime(frame["period_end"])
    quarter = getattr(indicator.numerator, "fy_quarter", None)
    if quarter:
        starts = pd.to_datetime(frame["period_start"])
        fy_start = pd.to_datetime({"year": starts.dt.year - (starts.dt.month < 4), "month": 4, "day": 1})
        cohort_end = fy_start + pd.DateOffset(months=3 * quarter) - pd.Timedelta(days=1)
        ends = ends.where(frame["period_type"] != "financial_year", cohort_end)
    return (ends + pd.Timedelta(days=indicator.follow_up_days) <= pd.Timestamp(data_end)).to_numpy()


def compute_all(conn: Connection, indicators: Iterable[Indicator] = INDICATORS,
                progress: Callable[[str], None] | None = None,
                data_end: date | None = None,
                policy: disclosure.DisclosurePolicy | None = None,
                timings: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every indicator's result rows. `timings` (a dict) receives per-scan query and split times
    and per-indicator combine times, for the benchmark."""
    indicators = tuple(indicators)
    data_end = data_end or data_end_of(conn)
    ends = source_data_ends(conn, data_end)
    ind_ends = {ind.id: min((ends[t] for t in _indicator_tables(ind)), default=data_end) for ind in indicators}
    std = standard_population_of(conn)
    scans: list[dict] = []
    with engine_memory_for(conn, "refreshing"):
        sources, periods_by_end = source_frames(conn, indicators, ind_ends, progress, scans)
        with engine_memory_for(conn, "combining"):  # the scans are done: the memory is pandas' now
            results = _combined(conn, indicators, sources, periods_by_end, ind_ends, ends, std, policy, progress,
                                timings)
    if timings is not None:
        timings.update(scans=scans)
    return results


def _combined(conn: Connection, indicators: tuple[Indicator, ...],
              sources: dict[tuple[str, str], pd.DataFrame | PerYear],
              periods_by_end: dict[date, pd.DataFrame], ind_ends: dict[str, date], ends: dict[str, date],
              std: pd.Series, policy: disclosure.DisclosurePolicy | None, progress: Callable[[str], None] | None,
              timings: dict[str, Any] | None) -> pd.DataFrame:
    """compute_all's second half: each indicator from its fetched frames, then the suppression flags."""
    combine: dict[str, float] = {}
    frames = []
    # The indicators with the most fetched rows first, while the fewest results are held (the rows
    # are sorted below, so the order changes nothing stored).
    fetched = {ind.id: sum(f.rows if isinstance(f, PerYear) else len(f)
                           for f in (sources[(ind.id, "numerator")], sources.get((ind.id, "denominator")))
                           if f is not None) for ind in indicators}
    for ind in sorted(indicators, key=lambda i: -fetched[i.id]):
        if progress:
            progress(ind.id)
        started = time.perf_counter()
        ind_end = ind_ends[ind.id]
        # popped, not read: each indicator's fetched rows are let go once it is computed (memory)
        denominator = sources.pop((ind.id, "denominator"), None)
        frame = compute_indicator(ind, _frame(sources.pop((ind.id, "numerator"))),
                                  None if denominator is None else _frame(denominator), periods_by_end[ind_end], std)
        if ind.follow_up_days:
            frame = frame[followed_up_periods(frame, ind, ind_end)].reset_index(drop=True)
        frame["provisional"] = _provisional(frame, ind, ends)
        frame["clustered"] = False
        if clustered.applies(ind):  # caseload rates: person-clustered limits on the area rows
            frame, frame["clustered"] = clustered.apply(conn, frame, ind, periods_by_end[ind_end], ind_end)
        frames.append(frame)
        combine[ind.id] = round(time.perf_counter() - started, 4)
    # One row order whatever the engine returned, so order-dependent choices (e.g. which
    # complementary cell secondary suppression hides) are the same on DuckDB and PostgreSQL.
    results = pd.concat(frames, ignore_index=True).sort_values(["indicator_id", *KEY], kind="stable",
                                                               ignore_index=True)
    del frames
    flagged = results.assign(**disclosure_columns(results["indicator_id"]))
    results["suppressed"] = stored_suppression(conn, flagged, policy or disclosure.DEFAULT_RULE, indicators)
    del flagged
    for col in ("numerator", "denominator", "value", *stats.LIMIT_COLUMNS):
        results[col] = results[col].astype(float).replace([np.inf, -np.inf], np.nan)
    method = results["indicator_id"].map({i.id: stats.INTERVAL_METHODS[i.ci] for i in INDICATORS})
    has_interval = results["lower_ci"].notna() | results["upper_ci"].notna()
    method = method.where(~results["clustered"].astype(bool), stats.CLUSTERED_METHOD)
    results["interval_method"] = method.where(has_interval, None)
    results["interval_level"] = np.where(has_interval & method.notna(), stats.CONFIDENCE_LEVELS[0][0], np.nan)
    period_ends = pd.to_datetime(results["period_end"])
    results["to_date"] = (results["period_type"] == "financial_year").to_numpy() & ~(
        (period_ends.dt.month == 3) & (period_ends.dt.day == 31)).to_numpy()
    if timings is not None:
        timings.update(combine_s=combine)
    return results[RESULT_COLUMNS]


def refresh_results(conn: Connection, progress: Callable[[str], None] | None = None,
                    timings: dict[str, Any] | None = None, policy: disclosure.DisclosurePolicy | None = None) -> int:
    """Recompute every indicator and replace the stored results (inside the caller's transaction)."""
    from data_loaders.bulk import bulk_insert

    results = compute_all(conn, progress=progress, timings=timings, policy=policy)
    ensure_derived_table(conn, measure_result)
    conn.execute(delete(measure_result))
    bulk_insert(conn, measure_result, results)
    return len(results)


def timed_refresh(conn: Connection) -> tuple[int, float]:
    started = time.perf_counter()
    rows = refresh_results(conn)
    return rows, time.perf_counter() - started
