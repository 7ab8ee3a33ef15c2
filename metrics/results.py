"""Read the stored results and shape them for pages and exports (no Dash, no raw rows).

Everything leaving this module for display has passed through `for_display`, the one place the
disclosure rule is applied, so pages, downloads and Excel packs cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from data_loaders.tables import measure_result
from metrics import disclosure, spc, stats
from metrics.catalogue import (
    INDICATORS,
    INDICATORS_BY_ID,
    Indicator,
    disclosure_columns,
    measure_of,
)
from metrics.dimensions import BREAKDOWN_LABELS, LEVEL_LABELS  # noqa: F401  (re-exported for readers of results)

PERIOD_TYPES = ("month", "quarter", "financial_year")
PERIOD_TYPE_LABELS = {"month": "Month", "quarter": "Quarter", "financial_year": "Financial year"}


def read_results(conn: Connection, indicator_ids: list[str] | None = None, period_type: str | None = None,
                 geography_level: str | None = None, geographies: list[str] | None = None,
                 breakdown: str | None = None, period: str | None = None) -> pd.DataFrame:
    """Filtered rows of measure_result (bound parameters; exact values)."""
    t = measure_result
    stmt = select(t)
    for col, wanted in (("indicator_id", indicator_ids), ("geography", geographies)):
        if wanted:
            stmt = stmt.where(t.c[col].in_(wanted))
    for col, value in (("period_type", period_type), ("geography_level", geography_level),
                       ("breakdown", breakdown), ("period", period)):
        if value:
            stmt = stmt.where(t.c[col] == value)
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in t.columns])
    return frame.sort_values(["indicator_id", "period_start", "geography_level", "geography", "breakdown", "group"],
                             ignore_index=True)


def for_display(frame: pd.DataFrame, rule: disclosure.DisclosurePolicy | None = None) -> pd.DataFrame:
    """Results as they may be shown anywhere (disclosure.protect_results with the catalogue facts)."""
    rule = rule or disclosure.configured_rule()
    if frame.empty:
        return frame.assign(suppressed=pd.Series(dtype=bool))
    extra = disclosure_columns(frame["indicator_id"])
    shown = disclosure.protect_results(frame.assign(**extra), rule)
    return shown.drop(columns=list(extra))


def periods_available(frame: pd.DataFrame) -> list[str]:
    return list(frame.drop_duplicates("period").sort_values("period_start")["period"])


def default_period_type(indicator: Indicator) -> str:
    """Monthly where the indicator has it (more SPC points), else quarterly."""
    return "month" if "month" in indicator.frequency else "quarter"


@dataclass(frozen=True)
class ScorecardRow:
    indicator: Indicator
    period: str | None
    value: float | None
    lower: float | None
    upper: float | None
    suppressed: bool
    comparison: str
    comparator: str
    variation: str | None
    assurance: str | None
    rule: str | None
    trial_limits: bool
    spark: list[float | None]
    spark_periods: list[str]


def spc_frame(series: pd.DataFrame, indicator: Indicator,
              rule: disclosure.DisclosureRule | None = None) -> pd.DataFrame:
    """XmR chart for one series of EXACT stored rows (oldest first), safe to show.

    Why here: limits must come from exact values (not display-rounded ones) and must not let
    anyone recover a hidden point, so suppressed points are gaps excluded from every calculation,
    the ``value`` column is replaced by the displayed values, and the limit and centre lines are
    rounded to the indicator's display precision. Rebases come from the catalogue (``spc_rebase``).
    """
    exact = series["value"].astype(float).where(~series["suppressed"].astype(bool))
    frame = spc.xmr(exact.to_numpy(), dates=pd.to_datetime(series["period_start"]).reset_index(drop=True),
                    polarity=indicator.polarity.value, target=indicator.target,
                    rebase=indicator.spc_rebase or None)
    shown = for_display(series.reset_index(drop=True), rule)
    frame["value"] = shown["value"].astype(float).where(~shown["suppressed"].astype(bool)).to_numpy()
    frame[spc.LINE_COLUMNS[1:]] = frame[spc.LINE_COLUMNS[1:]].astype(float).round(indicator.decimals)
    frame["mean"] = frame["mean"].astype(float).round(indicator.decimals)
    frame["mr"] = np.nan  # moving ranges would difference the exact values: never shown
    frame["period"] = series["period"].to_numpy()
    return frame


def spc_summary(series: pd.DataFrame, indicator: Indicator) -> spc.SpcSummary:
    """Variation/assurance icons from EXACT stored rows (suppressed points are gaps)."""
    exact = series["value"].astype(float).where(~series["suppressed"].astype(bool))
    frame = spc.xmr(exact.to_numpy(), dates=pd.to_datetime(series["period_start"]).reset_index(drop=True),
                    polarity=indicator.polarity.value, target=indicator.target,
                    rebase=indicator.spc_rebase or None)
    return spc.summarise(frame, polarity=indicator.polarity.value, target=indicator.target)


def scorecard(conn: Connection, geography_level: str = "bsol", geography: str = "BSol",
              period_type: str | None = None) -> list[ScorecardRow]:
    """One row per indicator: latest value, CI, comparison, SPC variation and assurance."""
    wanted = [geography] if geography_level == "bsol" else [geography, "BSol"]
    exact = read_results(conn, geographies=wanted, breakdown="none")
    frame = for_display(exact)
    rows: list[ScorecardRow] = []
    for ind in INDICATORS:
        ptype = period_type if period_type in ind.frequency else default_period_type(ind)
        sub = frame[(frame.indicator_id == ind.id) & (frame.period_type == ptype)]
        local = sub[(sub.geography_level == geography_level) & (sub.geography == geography)].sort_values("period_start")
        bsol = sub[sub.geography_level == "bsol"].set_index("period")
        mine = exact[(exact.indicator_id == ind.id) & (exact.period_type == ptype)
                     & (exact.geography_level == geography_level) & (exact.geography == geography)]
        rows.append(_scorecard_row(ind, local, bsol, geography_level, mine.sort_values("period_start")))
    return rows


def _scorecard_row(ind: Indicator, local: pd.DataFrame, bsol: pd.DataFrame, level: str,
                   exact: pd.DataFrame | None = None) -> ScorecardRow:
    """One scorecard row from displayed rows; SPC icons from the exact rows when given."""
    if local.empty:
        return ScorecardRow(ind, None, None, None, None, False, "not compared", "", None, None,
                            "No data for this selection", False, [], [])
    last = local.iloc[-1]
    value = _num(last["value"])
    lower, upper = _num(last["lower_ci"]), _num(last["upper_ci"])
    if level != "bsol" and last["period"] in bsol.index:
        benchmark = _num(bsol.loc[last["period"], "value"])
        comparator = "BSol"
    else:
        benchmark, comparator = ind.target, ("target" if ind.target is not None else "")
    if ind.target is not None and level == "bsol":
        benchmark, comparator = ind.target, "target"
    comparison = (
        stats.compare_with_benchmark(value, lower, upper, benchmark, ind.polarity.value)
        if benchmark is not None and value is not None else "not compared"
    )
    summary = spc_summary(local if exact is None or exact.empty else exact, ind)
    return ScorecardRow(
        indicator=ind, period=str(last["period"]), value=value, lower=lower, upper=upper,
        suppressed=bool(last["suppressed"]), comparison=comparison, comparator=comparator,
        variation=summary.variation, assurance=summary.assurance, rule=summary.rule,
        trial_limits=summary.trial_limits,
        spark=[_num(v) for v in local["value"]], spark_periods=list(local["period"]),
    )


def _num(x: object) -> float | None:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def format_value(value: float | None, indicator: Indicator, suppressed: bool = False) -> str:
    """One formatting rule for pages and packs: [c] suppressed, [x] not available."""
    if suppressed:
        return "[c]"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "[x]"
    if indicator.unit == "percent":
        return f"{value:.{indicator.decimals}f}%"
    if indicator.unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.{indicator.decimals}f}"


__all__ = [
    "read_results", "for_display", "scorecard", "ScorecardRow", "format_value",
    "INDICATORS_BY_ID", "measure_of", "PERIOD_TYPES",
]
