"""Slope and relative index of inequality across IMD quintiles, computed once at refresh.

Why stored: PHE's method (``phe_sii``) simulates each quintile value from its confidence limits,
which is too slow to do on a page click and must give the same interval every time (fixed seed),
so the refresh computes it for every indicator x period x area and writes ``inequality_result``.

Which indicators: those the catalogue declares ``gradient=True`` that are broken down by IMD
quintile (a count's "gradient" would only measure population size). Which rows: all five quintiles
present, none suppressed, each with a value, a positive denominator and both 95% limits -- the
SII of a set with a hidden quintile could reveal it. Value types follow ``phe_sii``'s advice:
rates (Byar's, Dobson) on the log scale and proportions (Wilson) on the logit scale, fitted on the
transformed scale (``transform = TRUE``); means (Student's t) on the original scale.

Units: the SII is in the indicator's own unit -- percentage points for percentages, "per 100,000"
for rates per 100,000 -- and is least deprived minus most deprived (positive: higher in less
deprived areas), as ``phe_sii``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, inspect, select

from data_loaders.db import ensure_derived_table
from data_loaders.tables import inequality_result, measure_result
from metrics import disclosure, stats
from metrics.catalogue import INDICATORS, Indicator
from metrics.dimensions import IMD_GROUPS

QUINTILES = IMD_GROUPS  # metrics.dimensions
REPETITIONS = 10_000  # PHE's own tests use 10,000; phe_sii's default is 100,000
SEED = 1
CONFIDENCE = 0.95
AREA_KEY = ["indicator_id", "period_type", "period", "period_start", "period_end", "geography_level", "geography"]
COLUMNS = [c.name for c in inequality_result.columns]


def value_type(indicator: Indicator) -> str:
    """phe_sii value type of an indicator: 'proportion', 'rate' or 'normal'."""
    if indicator.ci == "wilson":
        return "proportion"
    if indicator.ci in ("byar", "dobson"):
        return "rate"
    return "normal"


def applies(indicator: Indicator) -> bool:
    """Does a slope index of inequality mean something for this indicator (catalogue + data)?"""
    return indicator.gradient and "imd_quintile" in indicator.breakdowns and indicator.ci != "none"


def method_text(indicator: Indicator) -> str:
    kind = {"proportion": "logit", "rate": "log", "normal": "no"}[value_type(indicator)]
    return (f"PHE phe_sii: {REPETITIONS:,} simulations from the quintiles' 95% limits (seed {SEED}), "
            f"{kind} transform")


def compute_inequality(results: pd.DataFrame) -> pd.DataFrame:
    """SII/RII rows for every area with five usable IMD quintiles in ``results`` (exact rows)."""
    rng = np.random.default_rng(SEED)
    frames = []
    for ind in INDICATORS:
        if not applies(ind):
            continue
        q = results[(results.indicator_id == ind.id) & (results.breakdown == "imd_quintile")
                    & results["group"].isin(QUINTILES)]
        if q.empty:
            continue
        usable = (~q["suppressed"].astype(bool) & q["value"].notna() & q["lower_ci"].notna()
                  & q["upper_ci"].notna() & (q["denominator"] > 0))
        q = q[usable.to_numpy()]
        complete = q.groupby(AREA_KEY, dropna=False)["group"].transform("nunique") == len(QUINTILES)
        q = q[complete.to_numpy()].assign(_q=lambda d: d["group"].map(QUINTILES.index))
        q = q.sort_values([*AREA_KEY, "_q"])
        if q.empty:
            continue
        areas = q.drop_duplicates(AREA_KEY)[AREA_KEY].reset_index(drop=True)
        shape = (len(areas), len(QUINTILES))
        kind = value_type(ind)
        scale = ind.multiplier if kind == "proportion" else 1.0  # proportions on the 0-1 scale

        value, pop, lower, upper = (q[c].to_numpy(float).reshape(shape)
                                    for c in ("value", "denominator", "lower_ci", "upper_ci"))
        res = stats.sii_simulated_array(
            value / scale, pop, lower / scale, upper / scale,
            value_type=kind, transform=kind != "normal", confidence=CONFIDENCE,
            repetitions=REPETITIONS, rng=rng)
        out = areas.assign(
            sii=res.sii * scale, sii_lower=res.sii_lower * scale, sii_upper=res.sii_upper * scale,
            rii=res.rii, rii_lower=res.rii_lower, rii_upper=res.rii_upper,
            interval_method=method_text(ind), interval_level=CONFIDENCE)
        frames.append(out[out["sii"].notna()])
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def refresh_inequality(conn: Connection, policy: disclosure.DisclosurePolicy | None = None) -> int:
    """Recompute ``inequality_result`` from the stored results (inside the caller's transaction).

    Disclosure rule: the SII/RII are computed from the CONTROLLED quintile rows (values, limits
    and denominators as ``results.for_display`` shows them under ``policy``: from rounded counts),
    so the index, a weighted combination of the quintiles, carries nothing about their exact
    counts beyond what the shown quintiles do (README "Disclosure control")."""
    from data_loaders.bulk import bulk_insert
    from metrics.results import for_display

    wanted = [i.id for i in INDICATORS if applies(i)]
    t = measure_result
    stmt = select(t).where(t.c.breakdown == "imd_quintile", t.c.indicator_id.in_(wanted))
    results = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in t.columns])
    for col in ("value", "lower_ci", "upper_ci", "denominator"):
        results[col] = pd.to_numeric(results[col], errors="coerce").astype(float)
    shown = for_display(results, policy or disclosure.DEFAULT_RULE) if not results.empty else results
    rows = compute_inequality(shown)
    ensure_derived_table(conn, inequality_result)
    conn.execute(delete(inequality_result))
    if not rows.empty:
        bulk_insert(conn, inequality_result, rows)
    return len(rows)


def read_inequality(conn: Connection, indicator_id: str, period_type: str | None = None) -> pd.DataFrame:
    """Stored SII/RII rows of one indicator (all areas and periods of a period type).

    A database refreshed by an older build has no table yet: no rows, until the next refresh.
    """
    t = inequality_result
    if not inspect(conn).has_table(t.name):
        return pd.DataFrame(columns=COLUMNS)
    stmt = select(t).where(t.c.indicator_id == indicator_id)
    if period_type:
        stmt = stmt.where(t.c.period_type == period_type)
    return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=COLUMNS)


def describe(row: pd.Series | None, indicator: Indicator, area: str) -> str:
    """The SII in plain English, in the indicator's own unit, with its interval and direction."""
    if row is None:
        return ("Slope index of inequality not calculated: it needs all five deprivation quintiles, "
                "none suppressed." if applies(indicator) else
                "A slope index of inequality is not calculated for this indicator (a count measures "
                "population size, not inequality).")
    unit = "percentage points" if indicator.unit == "percent" else indicator.unit_label
    d = indicator.decimals
    sii, lo, hi = float(row["sii"]), float(row["sii_lower"]), float(row["sii_upper"])
    size = f"{abs(sii):,.{d}f} {unit}"
    higher = "most" if sii < 0 else "least"
    if lo > 0 or hi < 0:
        direction = (f"In {area}, the value is {size} higher at the {higher} deprived end of the population "
                     "than at the other end, and the gradient is statistically significant")
    else:
        direction = (f"In {area}, the modelled gap between the most and least deprived ends is {size} "
                     f"({'higher' if sii != 0 else 'no different'} at the {higher} deprived end), but the "
                     "95% interval includes no gap, so there is no clear gradient")
    return (f"Slope index of inequality: {sii:,.{d}f} {unit} (95% CI {lo:,.{d}f} to {hi:,.{d}f}). "
            f"{direction}. The relative index is {float(row['rii']):.2f} (least deprived ÷ most deprived).")
