"""View models: shape already-disclosure-controlled results into the frames pages and downloads show.

Pure pandas (no Dash, no database): the measure page and its CSV/Excel download call the same
function, so the download is exactly the table behind the charts.
"""

from __future__ import annotations

import pandas as pd

from layouts.filters import BSOL, GEOGRAPHIES, Filters
from metrics import dimensions
from metrics.catalogue import Indicator
from metrics.dimensions import BREAKDOWN_LABELS, LEVEL_LABELS
from metrics.results import parts_by, period_note

TABLE_COLUMNS = {
    "section": "Chart", "period": "Period", "period_status": "Period status", "geography_level": "Level", "geography": "Area",
    "practice_name": "Practice name",
    "breakdown": "Breakdown", "group": "Group", "numerator": "Numerator", "denominator": "Denominator",
    "value": "Value", "lower_ci": "Lower 95% CI", "upper_ci": "Upper 95% CI",
    "lower_ci_998": "Lower 99.8% CI", "upper_ci_998": "Upper 99.8% CI", "interval_method": "CI method",
    "suppressed": "suppressed",
}
NUMERIC = ("Numerator", "Denominator", "Value", "Lower 95% CI", "Upper 95% CI", "Lower 99.8% CI", "Upper 99.8% CI")
IMD_ORDER = list(dimensions.IMD_GROUPS)
ETHNIC_ORDER = list(dimensions.ETHNIC_GROUPS)
AGE_ORDER = list(dimensions.AGE_GROUPS)


def periods(frame: pd.DataFrame) -> list[str]:
    """Periods with a BSol figure, oldest first."""
    sub = frame[(frame.geography_level == "bsol") & (frame.breakdown == "none")]
    return list(sub.drop_duplicates("period").sort_values("period_start")["period"])


def series(frame: pd.DataFrame, f: Filters) -> pd.DataFrame:
    sub = frame[(frame.geography_level == f.level) & (frame.geography == f.locality) & (frame.breakdown == "none")]
    return sub.sort_values("period_start")


def localities(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    sub = frame[(frame.period == period) & (frame.breakdown == "none")
                & frame.geography_level.isin(["bsol", "locality"])]
    order = {g: i for i, g in enumerate(GEOGRAPHIES)}
    return sub.assign(_o=sub.geography.map(order)).sort_values("_o").drop(columns="_o")


def neighbourhoods(frame: pd.DataFrame, period: str, names: list[str] | None) -> pd.DataFrame:
    sub = frame[(frame.period == period) & (frame.breakdown == "none") & (frame.geography_level == "neighbourhood")]
    if names is not None:
        sub = sub[sub.geography.isin(names)]
    return sub.sort_values("geography")


def practices(frame: pd.DataFrame, period: str, codes: list[str] | None) -> pd.DataFrame:
    sub = frame[(frame.period == period) & (frame.breakdown == "none") & (frame.geography_level == "practice")]
    if codes is not None:
        sub = sub[sub.geography.isin(codes)]
    return sub.sort_values("geography")


def funnel_areas(frame: pd.DataFrame, period: str, neighbourhoods_: list[str] | None,
                 practices_: list[str] | None) -> pd.DataFrame:
    """The areas of the funnel plot: practices, or neighbourhoods where there are no practice figures."""
    pr = practices(frame, period, practices_)
    return pr if not pr.empty else neighbourhoods(frame, period, neighbourhoods_)


def bsol_row(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """BSol's overall row of one period (empty if none)."""
    return frame[(frame.geography_level == "bsol") & (frame.breakdown == "none") & (frame.period == period)]


def breakdown(frame: pd.DataFrame, f: Filters, period: str, kind: str) -> pd.DataFrame:
    sub = frame[(frame.period == period) & (frame.breakdown == kind) & (frame.geography_level == f.level)
                & (frame.geography == f.locality)]
    order = {"imd_quintile": IMD_ORDER, "ethnicity": ETHNIC_ORDER, "age_band": AGE_ORDER}.get(kind)
    if order:
        rank = {g: i for i, g in enumerate(order)}
        sub = sub.assign(_o=sub["group"].map(lambda g: rank.get(g, 99))).sort_values(["_o", "group"]).drop(columns="_o")
    return sub


def latest_period(frame: pd.DataFrame, f: Filters) -> str | None:
    s = series(frame, f)
    s = s[s["value"].notna() | s["suppressed"].astype(bool)]
    return str(s.iloc[-1]["period"]) if not s.empty else None


SECTIONS = {"trend": "Trend (SPC)", "localities": "Localities", "neighbourhoods": "Neighbourhoods",
            "practices": "Practices", **{k: BREAKDOWN_LABELS[k] for k in ("imd_quintile", "ethnicity", "sex", "age_band")}}


def section(frame: pd.DataFrame, f: Filters, period: str, neighbourhood_names: list[str] | None,
            practice_codes: list[str] | None, name: str) -> pd.DataFrame:
    """The rows behind one chart of the measure page (key of SECTIONS)."""
    if name == "trend":
        return series(frame, f)
    if name == "localities":
        return localities(frame, period)
    if name == "neighbourhoods":
        return neighbourhoods(frame, period, neighbourhood_names)
    if name == "practices":
        return practices(frame, period, practice_codes)
    return breakdown(frame, f, period, name)


def practice_name_column(rows: pd.DataFrame, practice_names: dict[str, str] | None) -> list[str]:
    """Each practice row's name (reference data), "" for other areas: names beside codes (issue 13)."""
    names = practice_names or {}
    return [names.get(str(g), "") if lvl == "practice" else ""
            for lvl, g in zip(rows["geography_level"], rows["geography"], strict=True)]


def figures_table(frame: pd.DataFrame, indicator: Indicator, f: Filters, period: str,
                  neighbourhood_names: list[str] | None, practice_codes: list[str] | None,
                  practice_names: dict[str, str] | None = None) -> pd.DataFrame:
    """Every figure behind the measure page's charts, one tidy table (also the download);
    `practice_names` (code -> name) fills the practice-name column."""
    parts = [(label, section(frame, f, period, neighbourhood_names, practice_codes, key))
             for key, label in SECTIONS.items()]
    frames = [p.assign(section=name) for name, p in parts if not p.empty]
    if not frames:
        return pd.DataFrame(columns=list(TABLE_COLUMNS.values()))
    both = pd.concat(frames, ignore_index=True)
    # "to date" / "provisional" as a column of its own, so a file reader sees a partial period too
    out = both.assign(period_status=[period_note(r) for r in both.to_dict("records")],
                      practice_name=practice_name_column(both, practice_names))[list(TABLE_COLUMNS)]
    out["geography_level"] = out["geography_level"].map(LEVEL_LABELS)
    out["breakdown"] = out["breakdown"].map(lambda b: BREAKDOWN_LABELS.get(b, b))
    for col in ("value", "lower_ci", "upper_ci", "lower_ci_998", "upper_ci_998"):
        out[col] = out[col].astype(float).round(max(indicator.decimals, 1) + 1)
    return out.rename(columns=TABLE_COLUMNS)


def download_frame(table: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """The figures table as a file: suppressed cells say [c]; an indicator column for provenance."""
    out = table.copy()
    sup = out.pop("suppressed").astype(bool)
    for col in ("Numerator", "Denominator"):  # counts as whole numbers ("380", never "380.0")
        nums = pd.to_numeric(out[col], errors="coerce")
        if nums.notna().any() and (nums.dropna() % 1 == 0).all():
            out[col] = nums.round().astype("Int64")
    for col in NUMERIC:
        out[col] = out[col].astype(object).where(~sup | out[col].notna(), "[c]")
    out.insert(0, "Indicator", indicator.title)
    out.insert(0, "Indicator id", indicator.id)
    out["Suppressed"] = sup.map({True: "yes", False: "no"})
    return out


TO_TARGET_COLUMNS = ("Area", "Group", "Numerator", "Denominator", "Value", "Patients needed")


def to_target_table(frame: pd.DataFrame, indicator: Indicator, f: Filters, period: str,
                    neighbourhood_names: list[str] | None) -> pd.DataFrame:
    """Patients needed to reach the target (CVDPREVENT style): BSol and localities, neighbourhoods,
    and the selected area by IMD quintile, from the displayed counts (metrics.results)."""
    from metrics.results import patients_to_target

    parts = [localities(frame, period).assign(Group="All"),
             neighbourhoods(frame, period, neighbourhood_names).assign(Group="All")]
    imd = breakdown(frame, f, period, "imd_quintile")
    if not imd.empty:
        parts.append(imd.assign(Group=imd["group"]))
    rows = pd.concat([p for p in parts if not p.empty] or [frame.iloc[0:0].assign(Group="")], ignore_index=True)
    area = rows["geography"].map(lambda g: "Central Birmingham" if g == "Central" else g)
    level = rows["geography_level"].map(LEVEL_LABELS)
    out = pd.DataFrame({
        "Area": (area + " (" + level.str.lower() + ")").where(rows["geography_level"] == "neighbourhood", area),
        "Group": rows["Group"],
        "Numerator": pd.to_numeric(rows["numerator"], errors="coerce").round(),
        "Denominator": pd.to_numeric(rows["denominator"], errors="coerce").round(),
        "Value": pd.to_numeric(rows["value"], errors="coerce").round(indicator.decimals),
        "Patients needed": patients_to_target(rows, indicator),
        "suppressed": rows["suppressed"].astype(bool),
    })
    for col in ("Numerator", "Denominator", "Patients needed"):
        out[col] = out[col].astype("Int64")
    return out


def resolved_period_type(ind: Indicator, period_type: str | None) -> str:
    return period_type if period_type in ind.frequency else ("month" if "month" in ind.frequency else "quarter")


def matrix(cells: pd.DataFrame, bench: pd.DataFrame, indicators: list[Indicator], period_type: str | None,
           key: str) -> list[tuple[Indicator, str | None, pd.Series | None, pd.DataFrame]]:
    """Indicators x columns (groups or areas) for each indicator's latest period, with the benchmark row.

    `cells` holds the rows to show (one per column value in `key`), `bench` the comparison rows
    (breakdown "none" for the geography or BSol). Indicators without data get an empty cell frame.
    """
    out = []
    series = ["indicator_id", "period_type"]
    cells_of, bench_of = parts_by(cells, series), parts_by(bench, series)
    for ind in indicators:
        pt = resolved_period_type(ind, period_type)
        sub = cells_of(ind.id, pt)
        if sub.empty:
            out.append((ind, None, None, sub))
            continue
        period = str(sub.sort_values("period_start").iloc[-1]["period"])
        b = bench_of(ind.id, pt)
        b = b[b.period == period]
        out.append((ind, period, b.iloc[0] if not b.empty else None,
                    sub[sub.period == period].drop_duplicates(key).set_index(key)))
    return out


__all__ = ["BSOL", "figures_table", "download_frame", "matrix", "periods", "latest_period", "to_target_table"]
