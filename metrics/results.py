"""Read the stored results and shape them for pages and exports (no Dash, no raw rows).

Everything leaving this module for display has passed through `for_display`, the one place the
disclosure rule is applied, so pages, downloads and Excel packs cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, Integer, select

from data_loaders.dialect import fetch_frame
from data_loaders.tables import measure_result
from metrics import disclosure, events, spc, stats
from metrics.catalogue import (
    INDICATORS,
    INDICATORS_BY_ID,
    Indicator,
    disclosure_columns,
    measure_of,
)
from metrics.dimensions import (  # noqa: F401  (re-exported for readers of results)
    BREAKDOWN_LABELS,
    LEVEL_LABELS,
    PERIOD_TYPE_LABELS,
    PERIOD_TYPES,
)


def parts_by(frame: pd.DataFrame, columns: list[str]) -> Callable[..., pd.DataFrame]:
    """part(*values): the rows of `frame` with those values of `columns`, in frame's order (an empty
    frame if none). Why: one grouping instead of a mask, a sort and an index over the frame for each
    of the 44 series a scorecard picks out (a third of a cold scorecard's time)."""
    at = frame.groupby(columns, sort=False).indices
    none = frame.iloc[:0]

    def part(*values: object) -> pd.DataFrame:
        rows = at.get(values if len(values) > 1 else values[0])
        return none if rows is None else frame.iloc[rows]
    return part


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
    frame = fetch_frame(conn, stmt).reindex(columns=[c.name for c in t.columns])  # columnar (no Row objects)
    for c in t.columns:  # the types the row path gave: dates as dates, integers as int64
        if isinstance(c.type, Date) and pd.api.types.is_datetime64_any_dtype(frame[c.name]):
            frame[c.name] = frame[c.name].dt.date
        elif isinstance(c.type, Integer) and not frame[c.name].isna().any():
            frame[c.name] = frame[c.name].astype("int64")
    return frame.sort_values(["indicator_id", "period_start", "geography_level", "geography", "breakdown", "group"],
                             ignore_index=True)


def for_display(frame: pd.DataFrame, rule: disclosure.DisclosurePolicy | None = None) -> pd.DataFrame:
    """Results as they may be shown anywhere (disclosure.protect_results with the catalogue facts)."""
    rule = rule or disclosure.DEFAULT_RULE
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
    # 0.998 when the 99.8% interval also excludes the comparator, 0.95 when only the 95% one does
    comparison_level: float | None = None
    period_note: str = ""  # "to date", "provisional" (period_note below): said beside the period

    @property
    def period_label(self) -> str | None:
        return period_label(self.period, self.period_note) if self.period else None


def period_note(row: pd.Series | dict | None) -> str:
    """The one wording of a partial period, from the stored flags: "to date" (a financial year not
    complete at the data end) and "provisional" (it holds the latest month of a usually-revised
    source); "" for a complete, final period."""
    if row is None:
        return ""
    get = row.get
    return ", ".join(word for col, word in (("to_date", "to date"), ("provisional", "provisional"))
                     if bool(get(col, False)) and not pd.isna(get(col, False)))


def period_label(period: str, note: str = "") -> str:
    """A period as every page, grid, download and pack shows it: "2026-27 (to date)"."""
    return f"{period} ({note})" if note else str(period)


def _rebase(series: pd.DataFrame, indicator: Indicator, area_events: pd.DataFrame | None) -> list[object] | None:
    """The catalogue's fixed rebase dates plus, where declared, the area's stored INT go-lives."""
    points: list[object] = list(indicator.spc_rebase)
    if indicator.rebase_at_go_live and area_events is not None and not area_events.empty:
        points += events.rebase_points(area_events, series)
    return points or None


def _xmr(series: pd.DataFrame, indicator: Indicator, area_events: pd.DataFrame | None) -> pd.DataFrame:
    """XmR on the values of one series as given (callers pass DISPLAYED rows: the controlled values;
    suppressed points are gaps)."""
    values = series["value"].astype(float).where(~series["suppressed"].astype(bool))
    frame = spc.xmr(values.to_numpy(), dates=pd.to_datetime(series["period_start"]).reset_index(drop=True),
                    polarity=indicator.polarity.value, target=indicator.target,
                    rebase=_rebase(series, indicator, area_events))
    if _rolling(series):  # a rolling series keeps its points but no limits, centre line or signals
        frame[list(spc.LINE_COLUMNS)] = np.nan
        frame[list(spc.FLAG_COLUMNS)] = False
        frame["segment"] = 0
        frame["rule"] = None
        frame["point_type"] = ["common_cause" if shown else None for shown in frame["value"].notna()]
    return frame


# Rolling years overlap by 11 months, so consecutive points are not independent: the XmR rules
# (runs, trends, limits from moving ranges) would fire on the overlap itself.
NO_SPC_ROLLING = ("No SPC rules: rolling 12-month values overlap by 11 months, so they are not "
                  "independent points (see the monthly or quarterly view for variation)")


def _rolling(series: pd.DataFrame) -> bool:
    return "period_type" in series and bool(series["period_type"].eq("rolling_12m").any())


def spc_frame(series: pd.DataFrame, indicator: Indicator,
              rule: disclosure.DisclosureRule | None = None,
              area_events: pd.DataFrame | None = None, shown: pd.DataFrame | None = None) -> pd.DataFrame:
    """XmR chart for one series of EXACT stored rows (oldest first), safe to show. ``shown``: the
    same rows through ``for_display`` under ``rule``, when the caller has them already.

    Disclosure rule (README "Disclosure control"): the centre line and process limits are
    computed from the CONTROLLED values -- the shown points, derived from rounded counts, with
    hidden points as gaps excluded from every calculation. Why: lines from exact values give the
    exact values back (mean x n = the exact total; with the limits, mean +- 2.66 x the mean moving
    range, a short segment's points), so they would undo the rounding; lines from the shown points
    carry nothing the points do not. The lines are rounded to the indicator's display precision.
    Rebases: the catalogue's ``spc_rebase`` and, for ``rebase_at_go_live`` indicators, the area's
    stored go-lives (``area_events``, metrics/events.py); the ``event`` column labels the periods in
    which an event falls (for the chart's annotations).
    """
    shown = for_display(series.reset_index(drop=True), rule) if shown is None else shown.reset_index(drop=True)
    frame = _xmr(shown, indicator, area_events)
    frame["event"] = (events.in_periods(area_events, series.reset_index(drop=True)).to_numpy()
                      if area_events is not None and not area_events.empty and not _rolling(series) else None)
    frame["value"] = shown["value"].astype(float).where(~shown["suppressed"].astype(bool)).to_numpy()
    frame[spc.LINE_COLUMNS[1:]] = frame[spc.LINE_COLUMNS[1:]].astype(float).round(indicator.decimals)
    frame["mean"] = frame["mean"].astype(float).round(indicator.decimals)
    frame["mr"] = np.nan  # moving ranges would difference the exact values: never shown
    frame["period"] = series["period"].to_numpy()
    return frame


COMPARISON_KEY = ["indicator_id", "period_type", "period"]


def with_comparisons(frame: pd.DataFrame, benchmarks: pd.DataFrame | None = None) -> pd.DataFrame:
    """DISPLAYED rows with ``comparison`` (better/similar/worse, or higher/lower) and
    ``comparison_level`` (0.998, 0.95 or NaN: ``stats.compare_levels``) against their benchmark.

    The benchmark (one rule for every chart and grid): an area's overall row is compared with BSol
    in the same period; a breakdown group with its own area's overall value. BSol's overall row,
    counts (a count against a total means nothing), suppressed rows and rows without a shown
    benchmark are "not compared". ``benchmarks`` holds the overall rows to look up (default: the
    frame's own). Why here: pages draw the comparison; they do not compute it (issue 11).
    """
    out = frame.copy()
    if frame.empty:
        return out.assign(comparison=pd.Series(dtype=object), comparison_level=pd.Series(dtype=float))
    src = frame if benchmarks is None else benchmarks
    overall = src[src["breakdown"] == "none"].copy()
    overall["shown"] = overall["value"].astype(float).where(~overall["suppressed"].astype(bool))
    area_key = [*COMPARISON_KEY, "geography_level", "geography"]
    bsol = overall[overall["geography_level"] == "bsol"].drop_duplicates(COMPARISON_KEY).set_index(COMPARISON_KEY)["shown"]
    area = overall.drop_duplicates(area_key).set_index(area_key)["shown"]
    whole = (frame["breakdown"] == "none").to_numpy()
    vs_bsol = bsol.reindex(pd.MultiIndex.from_frame(frame[COMPARISON_KEY])).to_numpy(float)
    vs_area = area.reindex(pd.MultiIndex.from_frame(frame[area_key])).to_numpy(float)
    bench = np.where(whole, np.where(frame["geography_level"].to_numpy() == "bsol", np.nan, vs_bsol), vs_area)
    value = frame["value"].astype(float).where(~frame["suppressed"].astype(bool)).to_numpy(float)

    def col(name: str) -> np.ndarray:
        return frame[name].astype(float).to_numpy() if name in frame else np.full(len(frame), np.nan)

    limits = [col(c) for c in stats.LIMIT_COLUMNS]
    ids = frame["indicator_id"].to_numpy()
    result = np.full(len(frame), "not compared", dtype=object)
    level = np.full(len(frame), np.nan)
    for indicator_id in pd.unique(ids):
        ind = INDICATORS_BY_ID.get(str(indicator_id))
        if ind is None or ind.unit == "count":
            continue
        at = ids == indicator_id
        lo95, hi95, lo998, hi998 = (lim[at] for lim in limits)
        r, lv = stats.compare_levels_array(value[at], lo95, hi95, lo998, hi998, bench[at], ind.polarity.value)
        result[at], level[at] = r, lv
    out["comparison"], out["comparison_level"] = result, level
    return out


def spc_summary(series: pd.DataFrame, indicator: Indicator,
                area_events: pd.DataFrame | None = None) -> spc.SpcSummary:
    """Variation/assurance icons from DISPLAYED rows (``for_display``; suppressed points are gaps):
    the same controlled values as the chart's lines (``spc_frame``)."""
    frame = _xmr(series, indicator, area_events)
    if _rolling(series):
        values = frame["value"].dropna()
        return spc.SpcSummary(None, None, NO_SPC_ROLLING, False, len(values),
                              float(values.iloc[-1]) if len(values) else None)
    return spc.summarise(frame, polarity=indicator.polarity.value, target=indicator.target)


def scorecard(conn: Connection, geography_level: str = "bsol", geography: str = "BSol",
              period_type: str | None = None, rule: disclosure.DisclosurePolicy | None = None) -> list[ScorecardRow]:
    """One row per indicator: latest value, CI, comparison, SPC variation and assurance."""
    wanted = [geography] if geography_level == "bsol" else [geography, "BSol"]
    exact = read_results(conn, geographies=wanted, breakdown="none")
    frame = for_display(exact, rule)
    area_events = events.read_events(conn, geography_level, geography)
    series = ["indicator_id", "period_type"]  # one series' periods are unique: the sort has no ties
    local_of = parts_by(frame[(frame.geography_level == geography_level) & (frame.geography == geography)]
                        .sort_values("period_start"), series)
    bsol_of = parts_by(frame[frame.geography_level == "bsol"].set_index("period"), series)
    rows: list[ScorecardRow] = []
    for ind in INDICATORS:
        ptype = period_type if period_type in ind.frequency else default_period_type(ind)
        rows.append(scorecard_row(ind, local_of(ind.id, ptype), bsol_of(ind.id, ptype), geography_level,
                                  area_events=area_events))
    return rows


def scorecard_row(ind: Indicator, local: pd.DataFrame, bsol: pd.DataFrame, level: str,
                  exact: pd.DataFrame | None = None, area_events: pd.DataFrame | None = None) -> ScorecardRow:
    """One scorecard row from displayed rows; the SPC icons too (the chart's controlled values).

    ``exact`` is not used for the icons any more (kept so callers need not change): icons from exact
    values could signal what the shown points cannot, and the chart's lines are from shown values."""
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
    compared = stats.compare_row(last, benchmark, ind.polarity.value)  # at 95% and 99.8%
    summary = spc_summary(local, ind, area_events)  # displayed rows: the same controlled values as the chart
    return ScorecardRow(
        indicator=ind, period=str(last["period"]), value=value, lower=lower, upper=upper,
        suppressed=bool(last["suppressed"]), comparison=compared.result, comparator=comparator,
        comparison_level=compared.level,
        variation=summary.variation, assurance=summary.assurance, rule=summary.rule,
        trial_limits=summary.trial_limits,
        spark=[_num(v) for v in local["value"]], spark_periods=list(local["period"]),
        period_note=period_note(last),
    )


def patients_to_target(shown: pd.DataFrame, indicator: Indicator) -> pd.Series:
    """CVDPREVENT's "patients needed to reach the target" per row of DISPLAYED results (``for_display``):
    ceil(target share x denominator - numerator), 0 where the target is met, NaN where either count
    is hidden or the indicator has no such gap. From the shown (rounded) counts only, so it reveals
    nothing the row itself does not."""
    if not indicator.patients_to_target or indicator.target is None or shown.empty:
        return pd.Series(np.nan, index=shown.index, dtype=float)
    num = pd.to_numeric(shown["numerator"], errors="coerce")
    den = pd.to_numeric(shown["denominator"], errors="coerce")
    hidden = shown["suppressed"].astype(bool) | num.isna() | den.isna() | (den <= 0)
    share = indicator.target / indicator.multiplier
    gap = np.ceil((share * den - num).round(6))  # round first: 0.8 x 1000 - 700 is not 100.0000001
    return gap.clip(lower=0).where(~hidden)


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
    "read_results", "for_display", "scorecard", "scorecard_row", "ScorecardRow", "format_value",
    "patients_to_target", "period_label", "period_note", "parts_by",
    "INDICATORS_BY_ID", "measure_of", "PERIOD_TYPES",
]
