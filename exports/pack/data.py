"""What the pack reads: stored results for the scope and period (through the disclosure rule),
neighbourhoods, dataset information, load log and source currency.

Why this module exists: the pack reads aggregates only; keeping every read here makes that easy to
check and keeps the sheets free of queries about what to show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, func, select

from data_loaders.dialect import stored_columns
from data_loaders.tables import dataset_info, load_log, measure_result, prepost_result
from exports.pack.periods import PackPeriod, Scope, _nominal_end, _when, get_scope, parse_period
from metrics import dimensions, disclosure, events, results
from metrics.prepost import DEFAULT_WINDOW

_BREAKDOWNS = (("none", "Area"), *((k, dimensions.BREAKDOWN_LABELS[k]) for k in ("imd_quintile", "ethnicity")))


def _available_periods(conn: Connection) -> pd.DataFrame:
    t = measure_result
    stmt = (select(t.c.period_type, t.c.period, func.min(t.c.period_start).label("start"),
                   func.max(t.c.period_end).label("end"))
            .group_by(t.c.period_type, t.c.period))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=["period_type", "period", "start", "end"])
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame.sort_values("start", ignore_index=True)


def _data_end(conn: Connection, periods: pd.DataFrame) -> date | None:
    info = _dataset_info(conn)
    try:
        return date.fromisoformat(info.get("data_end", ""))
    except ValueError:
        months = periods[periods.period_type == "month"]
        return max(months["end"]) if len(months) else None


def resolve_period(conn: Connection, period: str | None = None) -> PackPeriod:
    """The pack's period: the label given, or the latest complete quarter in the results."""
    periods = _available_periods(conn)
    if periods.empty:
        raise ValueError("No results are stored: load data (or build the demo) first.")
    if period is None:
        quarters = periods[periods.period_type == "quarter"].copy()
        if quarters.empty:
            raise ValueError("No quarterly results are stored.")
        data_end = _data_end(conn, periods)
        quarters["nominal"] = [_nominal_end("quarter", s) for s in quarters["start"]]
        complete = quarters[quarters["nominal"] <= data_end] if data_end else quarters.iloc[0:0]
        row = (complete if len(complete) else quarters).iloc[-1]
        ptype, label = "quarter", str(row["period"])
    else:
        ptype, label = parse_period(period)
        row = None
    match = periods[(periods.period_type == ptype) & (periods.period == label)]
    if match.empty:
        known = ", ".join(periods[periods.period_type == ptype]["period"]) or "none"
        raise ValueError(f"No results for {ptype.replace('_', ' ')} {label}; available: {known}")
    row = match.iloc[0]
    return PackPeriod(ptype, label, row["start"], row["end"], _nominal_end(ptype, row["start"]))


# --------------------------------------------------------------------------- data access
def _dataset_info(conn: Connection) -> dict[str, str]:
    if not sa.inspect(conn).has_table(dataset_info.name):
        return {}
    return {k: v for k, v in conn.execute(select(dataset_info.c.key, dataset_info.c.value)).all()}


def _neighbourhoods(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Neighbourhood -> locality for the scope's localities (practice reference table)."""
    from data_loaders.tables import EXTRACT_TABLES

    practice = EXTRACT_TABLES["practice"]
    if not sa.inspect(conn).has_table(practice.name):
        return pd.DataFrame(columns=["neighbourhood", "locality"])
    stmt = (select(practice.c.neighbourhood_name.label("neighbourhood"), practice.c.locality)
            .where(practice.c.locality.in_(scope.localities)).distinct())
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=["neighbourhood", "locality"])
    order = {loc: i for i, loc in enumerate(scope.localities)}
    return frame.sort_values(["locality", "neighbourhood"], key=lambda s: s.map(order) if s.name == "locality" else s,
                             ignore_index=True)


def _in_areas(frame: pd.DataFrame, areas: Iterable[tuple[str, str]]) -> pd.DataFrame:
    keys = pd.MultiIndex.from_tuples(list(areas), names=["geography_level", "geography"])
    index = pd.MultiIndex.from_frame(frame[["geography_level", "geography"]])
    return frame[index.isin(keys)]


@dataclass
class PackData:
    """Everything the sheets need, read once (aggregates only, disclosure rule applied)."""

    scope: Scope
    period: PackPeriod
    current: pd.DataFrame  # the pack period: scope areas + neighbourhoods, all breakdowns
    series: pd.DataFrame  # headline + BSol, breakdown none, pack period type, up to the period
    exact_headline: pd.DataFrame  # headline series, EXACT values: only for SPC (never written)
    events: pd.DataFrame  # the headline area's chart events (INT go-lives: SPC rebases)
    neighbourhoods: pd.DataFrame
    info: dict[str, str]
    rule: disclosure.DisclosurePolicy
    prepost_window: int  # the configured pre/post window (settings.prepost_window_months)


def read_pack_data(conn: Connection, place: str, period: str | None = None,
                   rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE,
                   prepost_window: int = DEFAULT_WINDOW) -> PackData:
    """Read only what the pack shows; apply the disclosure rule to all of it."""
    scope = get_scope(place)
    pack_period = resolve_period(conn, period)
    hoods = _neighbourhoods(conn, scope)
    names = sorted({g for _, g in scope.areas} | set(hoods["neighbourhood"]))
    current = results.read_results(conn, period_type=pack_period.period_type, period=pack_period.label,
                                   geographies=names)
    current = current[current.breakdown.isin([b for b, _ in _BREAKDOWNS])]
    hood_areas = [("neighbourhood", n) for n in hoods["neighbourhood"]]
    current = results.for_display(_in_areas(current, [*scope.areas, *hood_areas]), rule)
    series = results.read_results(conn, period_type=pack_period.period_type, breakdown="none",
                                  geographies=sorted({scope.headline[1], "BSol"}))
    series = _in_areas(series, {scope.headline, ("bsol", "BSol")})
    series = series[pd.to_datetime(series["period_start"]).dt.date <= pack_period.start]
    level, area = scope.headline
    exact = series[(series.geography_level == level) & (series.geography == area)]
    return PackData(scope, pack_period, current.reset_index(drop=True),
                    results.for_display(series, rule).reset_index(drop=True), exact.reset_index(drop=True),
                    events.read_events(conn, level, area), hoods, _dataset_info(conn), rule, prepost_window)


def _prepost_table_current(conn: Connection) -> bool:
    """True when prepost_result exists with today's columns (a stale table needs a refresh).

    Checked up front rather than by catching the error: a failed statement would abort the
    caller's transaction on PostgreSQL and take the rest of the pack with it.
    """
    stored = stored_columns(conn, prepost_result.name)
    return stored is not None and {c.name for c in prepost_result.columns} <= stored


def _sources(conn: Connection) -> pd.DataFrame:
    """Source, first/last date and last load per extract (metrics.quality when present)."""
    log = _load_log(conn)
    from metrics.quality import read_coverage

    coverage = read_coverage(conn)  # stored at refresh
    loaded = log[log["outcome"] == "loaded"] if len(log) else log
    latest = (loaded.sort_values("loaded_at").groupby("extract").tail(1).set_index("extract")
              if len(loaded) else pd.DataFrame(columns=["loaded_at", "file_name"]))
    if coverage.empty and len(latest):
        coverage = pd.DataFrame({"Source": latest.index, "Extract": latest.index, "Rows": latest["rows"],
                                 "Period column": "—", "First": "—", "Last": "—"})
    coverage = coverage.copy()
    coverage["Last loaded"] = [
        _when(latest.loc[e, "loaded_at"]) if e in latest.index else "not recorded" for e in coverage["Extract"]
    ]
    coverage["File"] = [latest.loc[e, "file_name"] if e in latest.index else "—" for e in coverage["Extract"]]
    return coverage


def _load_log(conn: Connection) -> pd.DataFrame:
    cols = [c.name for c in load_log.columns]
    if not sa.inspect(conn).has_table(load_log.name):
        return pd.DataFrame(columns=cols)
    rows = conn.execute(select(load_log).order_by(load_log.c.loaded_at.desc())).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)
