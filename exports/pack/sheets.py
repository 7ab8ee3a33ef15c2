"""The pack's sheets: cover, contents, notes, scorecard, one per work programme, neighbourhoods,
pre/post INT and data quality.

Why this module exists: each sheet is a function of the PackData it is given (plus, for pre/post and
data quality, the stored tables they summarise), written with the framework in exports.pack.sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Connection

from data_loaders.extracts import ETHNIC_GROUPS
from exports.pack.data import _BREAKDOWNS, PackData, _in_areas, _load_log, _prepost_table_current
from exports.pack.figures import _ci, _count, _figure, _signed, _status, _unit, _value_format
from exports.pack.periods import _long_date, _when
from exports.pack.sheet import (
    _HEADING_FONT,
    _TITLE_FONT,
    _WRAP,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    SUPPRESSED,
    Col,
    Num,
    TablePlace,
    _print_setup,
    _put,
    _sheet_intro,
    _write_table,
)
from metrics import dimensions, disclosure, results, stats
from metrics.catalogue import INDICATORS, WORK_PROGRAMMES, Indicator, measure_of
from metrics.docs import indicator_rows

_IMD_GROUPS = (*dimensions.IMD_GROUPS, dimensions.UNKNOWN)


_PERIOD_WORDS = {"month": "monthly", "quarter": "quarterly", "financial_year": "by financial year"}
_VARIATION_TEXT = {
    "common_cause": "Common cause variation",
    "special_cause_improvement_high": "Special cause variation: improvement (high)",
    "special_cause_improvement_low": "Special cause variation: improvement (low)",
    "special_cause_concern_high": "Special cause variation: concern (high)",
    "special_cause_concern_low": "Special cause variation: concern (low)",
    "special_cause_neither_high": "Special cause variation: neither improvement nor concern (high)",
    "special_cause_neither_low": "Special cause variation: neither improvement nor concern (low)",
}
_ASSURANCE_TEXT = {
    "pass": "Consistently passing the target",
    "fail": "Consistently failing the target",
    "hit_or_miss": "Hit and miss: the target lies within the process limits",
}
_ACTIVITY_TEXT = {
    "gp_appointments": "GP appointments",
    "ae_attendances": "A&E attendances",
    "inpatient_spells": "Inpatient spells",
    "op_community_contacts": "Outpatient and community contacts",
    "care_packages": "Care packages",
}
_WP_SHEETS = {
    1: "WP1 Integrated teams",
    2: "WP2 Intermediate care",
    3: "WP3 Long term conditions",
    4: "WP4 Primary care",
    5: "WP5 Children",
}


# --------------------------------------------------------------------------- sheets
_SHEETS_DESCRIPTION: dict[str, str] = {
    "Cover": "About this pack: place, period, data sources, disclosure control, symbols",
    "Contents": "This list of sheets",
    "Notes": "Definitions of every indicator, generated from the measure catalogue",
    "Scorecard": "Every indicator for the headline area: value, 95% confidence interval, comparison, SPC variation and assurance",
    "Neighbourhoods": "Every indicator by neighbourhood (no breakdowns)",
    "To target": "Patients needed to reach the target (hypertension register and treatment), by area, "
                 "neighbourhood and IMD quintile",
    "Pre-post INT": "Activity before and after joining an Integrated Neighbourhood Team caseload",
    "Data quality": "Data sources, load history, completeness of breakdown fields and indicator coverage",
}


def _cover(wb: Workbook, data: PackData, generated: datetime, sources: pd.DataFrame) -> None:
    ws = wb.active
    ws.title = "Cover"
    scope, period, rule = data.scope, data.period, data.rule
    is_demo = data.info.get("is_demo", "").lower() == "true"
    lines: list[tuple[str, Font | None]] = [
        (f"BSol outcomes pack: {scope.name}, {period.label}", _TITLE_FONT),
    ]
    if is_demo:
        lines.append(("SYNTHETIC DEMO DATA: these figures are generated, not real patients. Do not use for decisions.",
                      Font(bold=True, size=12, color="C00000")))
    lines += [
        (f"Prepared for: {scope.audience}", None),
        ("Areas covered: " + ", ".join(g for _, g in scope.areas), None),
        (f"Reporting period: {period.label} ({period.type_text}), {period.describe()}", None),
        (f"Data: {'synthetic demo dataset' if is_demo else 'loaded extracts'}, "
         f"{_long_date(data.info.get('data_start'))} to {_long_date(data.info.get('data_end'))}", None),
        (f"Generated: {generated:%d %B %Y %H:%M} (UK time) by the BSol outcomes dashboard", None),
        ("", None),
        ("About these statistics", _HEADING_FONT),
        ("The 21 impact measures of the BSol Community Care Collaborative Implementation Plan (Table 2), "
         "as 36 indicators. Measures 13, 15, 20 and 21 are placeholders in the plan: their indicators are "
         "our proposed definitions and are labelled 'proposed — not agreed' throughout.", None),
        ("Work programme sheets give each indicator by area, by deprivation (IMD 2019 quintile of the "
         "patient's LSOA, Q1 = most deprived) and by ethnic group, with charts. Definitions are on the "
         "Notes sheet.", None),
        ("", None),
        ("Disclosure control", _HEADING_FONT),
        (disclosure.describe(rule) + " Zero is shown (it identifies no one). No patient-level data is "
         "included in this workbook.", None),
        ("", None),
        ("Symbols used in tables", _HEADING_FONT),
        (f"{SUPPRESSED} confidential: suppressed by disclosure control (small numbers)", None),
        (f"{NOT_AVAILABLE} not available: no data for this area, group or period", None),
        (f"{NOT_APPLICABLE} not applicable: e.g. no confidence interval for this indicator, no breakdown "
         "by patient characteristics for practice-level data, or not published for this period type", None),
        ("Text in the data that began with =, +, - or @ is shown with a leading apostrophe so that it "
         "cannot act as a spreadsheet formula.", None),
        ("", None),
        ("Data sources and their currency", _HEADING_FONT),
    ]
    for _, src in sources.iterrows():
        span = ("reference data (no period)" if src["First"] in ("—", None)
                else f"data {_long_date(src['First'])} to {_long_date(src['Last'])}")
        lines.append((f"{src['Source']}: {span}; last loaded {src['Last loaded']}", None))
    lines.append(("Load history and completeness: see the Data quality sheet.", None))
    lines = [(text, font) for text, font in lines if text]  # no blank rows (screen readers)
    for i, (text, font) in enumerate(lines, start=1):
        _put(ws, i, 1, text, font=font, align=_WRAP)
    ws.column_dimensions["A"].width = 130
    _print_setup(ws)


def _contents(ws: Worksheet, sheets: Sequence[tuple[str, str]]) -> None:
    top = _sheet_intro(ws, "Contents", ["Select a sheet name to go to that sheet."])
    place = _write_table(ws, top, "tbl_contents", [Col("Sheet name", 28), Col("Description", 110, wrap=True)],
                         [[name, text] for name, text in sheets])
    for i, (name, _) in enumerate(sheets, start=place.first_row):
        cell = ws.cell(row=i, column=1)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"{quote_sheetname(name)}!A1", display=name)
        cell.style = "Hyperlink"
    ws.freeze_panes = ws.cell(row=place.first_row, column=1)
    _print_setup(ws, place.header_row)


def _notes(ws: Worksheet) -> None:
    top = _sheet_intro(ws, "Notes: indicator definitions", [
        "Generated from the measure catalogue (metrics/catalogue.py), so the definitions match the figures.",
        "Measure status 'proposed — not agreed': a placeholder in the plan; the definition is ours, for discussion.",
    ])
    labels = [label for label, _ in indicator_rows(INDICATORS[0])]
    columns = [Col("Work programme", 26, wrap=True), Col("Measure", 9), Col("Measure status", 18, wrap=True),
               Col("Measure wording (Table 2)", 45, wrap=True), Col("Indicator", 45, wrap=True)]
    columns += [Col(label, 24 if label == "Indicator id" else 40, wrap=True) for label in labels]
    rows = []
    for ind in INDICATORS:
        m = measure_of(ind)
        rows.append([f"{m.work_programme}: {WORK_PROGRAMMES[m.work_programme]}", m.number, m.status_label,
                     m.wording, ind.title, *(value for _, value in indicator_rows(ind))])
    place = _write_table(ws, top, "tbl_notes", columns, rows)
    ws.freeze_panes = ws.cell(row=place.first_row, column=6)
    _print_setup(ws, place.header_row)


def _comparison_text(card: results.ScorecardRow) -> str:
    """'Worse (99.8%)', 'Better (95% only)', 'Similar': the level said, as on the page."""
    return card.comparison.capitalize() + stats.level_suffix(card.comparison_level)


def _scorecard(ws: Worksheet, data: PackData) -> None:
    level, area = data.scope.headline
    ptype = data.period.period_type
    top = _sheet_intro(ws, f"Scorecard: {area}, {data.period.label}", [
        f"Every indicator for {area} in {data.period.label} ({data.period.describe()}).",
        "Comparison: the 95% confidence interval against BSol (place packs) or the target (BSol pack); "
        "'(99.8%)' when the stricter 99.8% interval excludes it too, '(95% only)' when it does not.",
        f"SPC: XmR chart of the {_PERIOD_WORDS[ptype]} series up to this period (NHS England Making Data Count).",
    ])
    columns = [Col("Work programme", 10), Col("Measure", 9), Col("Measure status", 18, wrap=True),
               Col("Indicator id", 30), Col("Indicator", 50, wrap=True), Col("Area", 14), Col("Period", 12),
               Col("Period status", 12), Col("Value", 12), Col("Lower 95% CI", 12), Col("Upper 95% CI", 12), Col("Unit", 16, wrap=True),
               Col("Compared with", 12), Col("Comparison", 14), Col("SPC variation", 30, wrap=True),
               Col("SPC assurance", 30, wrap=True), Col("SPC detail", 45, wrap=True), Col("Target", 10)]
    series = data.series
    rows = []
    for ind in INDICATORS:
        m = measure_of(ind)
        head = [m.work_programme, m.number, m.status_label, ind.id, ind.title, area, data.period.label]
        target = Num(ind.target, _value_format(ind)) if ind.target is not None else NOT_APPLICABLE
        if ptype not in ind.frequency:
            rows.append([*head, "", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, _unit(ind), NOT_APPLICABLE,
                         NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE,
                         f"Not published {_PERIOD_WORDS[ptype]}", target])
            continue
        sub = series[series.indicator_id == ind.id]
        local = sub[(sub.geography_level == level) & (sub.geography == area)].sort_values("period_start")
        bsol = sub[sub.geography_level == "bsol"].set_index("period")
        if local.empty or local.iloc[-1]["period"] != data.period.label:
            rows.append([*head, "", NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, _unit(ind), NOT_AVAILABLE,
                         NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, "No data for this period", target])
            continue
        # the app's own scorecard logic; SPC from the exact series, as the page's chart
        exact = data.exact_headline[data.exact_headline.indicator_id == ind.id].sort_values("period_start")
        card = results.scorecard_row(ind, local, bsol, level, exact, data.events)
        variation = _VARIATION_TEXT.get(card.variation or "", "Not assessed")
        if card.assurance:
            assurance = _ASSURANCE_TEXT[card.assurance]
        elif ind.target is None:
            assurance = "Not assessed: no target"
        elif ind.polarity.value == "NO_JUDGEMENT":
            assurance = "Not assessed: no direction of improvement"
        else:
            assurance = "Not assessed"
        detail = "; ".join(filter(None, [card.rule, "trial limits (fewer than 20 points)" if card.trial_limits else ""]))
        rows.append([*head, card.period_note, _figure(card.value, ind, card.suppressed),
                     _ci(card.lower, ind, card.suppressed), _ci(card.upper, ind, card.suppressed), _unit(ind),
                     card.comparator or NOT_APPLICABLE,
                     _comparison_text(card) if card.comparator else NOT_APPLICABLE,
                     variation, assurance, detail or NOT_AVAILABLE, target])
    place = _write_table(ws, top, "tbl_scorecard", columns, rows)
    ws.freeze_panes = ws.cell(row=place.first_row, column=6)
    _print_setup(ws, place.header_row)


@dataclass
class _ChartSpec:
    """One chart: the table's data rows first..last (0-based positions among the data rows)."""

    indicator: Indicator
    breakdown_label: str
    area: str
    first: int
    last: int


def _work_programme(ws: Worksheet, wp: int, data: PackData, table_name: str) -> None:
    scope, cur = data.scope, data.current
    ptype = data.period.period_type
    indicators = [i for i in INDICATORS if measure_of(i).work_programme == wp]
    top = _sheet_intro(ws, f"Work programme {wp}: {WORK_PROGRAMMES[wp]} — {scope.name}, {data.period.label}", [
        f"{data.period.describe()}. One row per indicator, breakdown, area and group; filter with the header arrows.",
        "Charts (right) show the headline area's breakdowns and all areas; suppressed [c] and unavailable [x] "
        "values are not plotted.",
    ])
    columns = [Col("Measure", 9), Col("Indicator id", 30), Col("Indicator", 45, wrap=True),
               Col("Measure status", 16, wrap=True), Col("Breakdown", 13), Col("Area type", 11), Col("Area", 14),
               Col("Group", 18), Col("Value", 12), Col("Lower 95% CI", 12), Col("Upper 95% CI", 12),
               Col("Unit", 16, wrap=True), Col("Numerator", 12), Col("Denominator", 12), Col("Note", 30, wrap=True)]
    rows: list[list[Any]] = []
    charts: list[_ChartSpec] = []
    level_label = dimensions.LEVEL_LABELS
    for ind in indicators:
        base = [ind.measure, ind.id, ind.title, _status(ind)]
        if ptype not in ind.frequency:
            rows.append([*base, "All", "All", "All", "All", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE,
                         _unit(ind), NOT_APPLICABLE, NOT_APPLICABLE, f"Not published {_PERIOD_WORDS[ptype]}"])
            continue
        sub = cur[cur.indicator_id == ind.id]
        for breakdown, label in _BREAKDOWNS:
            if breakdown != "none" and breakdown not in ind.breakdowns:
                rows.append([*base, label, "All", "All", "All", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE,
                             _unit(ind), NOT_APPLICABLE, NOT_APPLICABLE,
                             f"No breakdown by {label.lower()}: practice-level data"])
                continue
            part = sub[sub.breakdown == breakdown].set_index(["geography_level", "geography", "group"])
            groups = _groups(breakdown, part)
            cells = _cells(part)
            areas = list(scope.areas)
            for area_level, area in areas:
                start = len(rows)
                for group in groups:
                    key = (area_level, area, group)
                    rows.append([*base, label, level_label[area_level], area, group,
                                 *_figures(cells, key, ind), _row_note(cells, key)])
                if breakdown != "none" and (area_level, area) == scope.headline:
                    charts.append(_ChartSpec(ind, label, area, start, len(rows) - 1))
            if breakdown == "none":
                charts.append(_ChartSpec(ind, "area", scope.name, len(rows) - len(areas), len(rows) - 1))
    place = _write_table(ws, top, table_name, columns, rows)
    ws.freeze_panes = ws.cell(row=place.first_row, column=4)
    _print_setup(ws, place.header_row)
    _add_charts(ws, charts, place, len(columns))


def _groups(breakdown: str, part: pd.DataFrame) -> list[str]:
    if breakdown == "none":
        return ["All"]
    present = set(part.index.get_level_values("group")) if len(part) else set()
    if breakdown == "imd_quintile":
        return [g for g in _IMD_GROUPS if g != "Unknown" or g in present] + sorted(present - set(_IMD_GROUPS))
    return list(ETHNIC_GROUPS) + sorted(present - set(ETHNIC_GROUPS))


def _cells(part: pd.DataFrame) -> dict[tuple, dict[str, Any]]:
    """The rows of ``part`` by their index (the first of any repeated key): one dict lookup per cell
    instead of a pandas ``.loc`` (a pack writes tens of thousands of cells)."""
    return part[~part.index.duplicated()].to_dict("index")


def _figures(cells: Mapping[tuple, Mapping[str, Any]], key: tuple[str, str, str], ind: Indicator) -> list[Any]:
    """Value, CI, unit, numerator, denominator for one cell of the table ([x] when absent)."""
    r = cells.get(key)
    if r is None:
        return [NOT_AVAILABLE, _ci(None, ind, False), _ci(None, ind, False), _unit(ind), NOT_AVAILABLE,
                NOT_AVAILABLE if ind.denominator is not None else NOT_APPLICABLE]
    s = bool(r["suppressed"])
    return [_figure(r["value"], ind, s), _ci(r["lower_ci"], ind, s), _ci(r["upper_ci"], ind, s), _unit(ind),
            _count(r["numerator"], s), _count(r["denominator"], s) if ind.denominator is not None else NOT_APPLICABLE]


def _row_note(cells: Mapping[tuple, Mapping[str, Any]], key: tuple[str, str, str]) -> str:
    r = cells.get(key)
    if r is None:
        return "No data for this area, group and period"
    return "Suppressed: small numbers" if bool(r["suppressed"]) else ""


def _add_charts(ws: Worksheet, specs: Sequence[_ChartSpec], place: TablePlace, n_columns: int) -> None:
    """Native bar charts to the right of the table: one row of charts per indicator."""
    value_col, group_col, area_col = place.columns["Value"], place.columns["Group"], place.columns["Area"]
    left = n_columns + 2
    row_of: dict[str, int] = {}
    col_of = {"area": 0, "IMD quintile": 1, "Ethnic group": 2}
    for spec in specs:
        first, last = place.first_row + spec.first, place.first_row + spec.last
        values = [ws.cell(row=r, column=value_col).value for r in range(first, last + 1)]
        if not any(isinstance(v, int | float) for v in values):
            continue  # nothing to plot: every cell suppressed or not available
        chart = BarChart()
        chart.type = "col"
        chart.style = 10
        by = "area" if spec.breakdown_label == "area" else spec.breakdown_label.lower()
        chart.title = f"{spec.indicator.id} by {by} ({_unit(spec.indicator)})"
        chart.y_axis.title = _unit(spec.indicator)
        chart.y_axis.numFmt = _value_format(spec.indicator)
        chart.y_axis.delete = False
        chart.x_axis.delete = False
        chart.legend = None
        chart.height, chart.width = 7.5, 13
        data = Reference(ws, min_col=value_col, min_row=first, max_row=last)
        cats_col = area_col if spec.breakdown_label == "area" else group_col
        cats = Reference(ws, min_col=cats_col, min_row=first, max_row=last)
        chart.add_data(data, titles_from_data=False)
        chart.set_categories(cats)
        row = row_of.setdefault(spec.indicator.id, place.header_row + 16 * len(row_of))
        col = left + 9 * col_of[spec.breakdown_label]
        ws.add_chart(chart, f"{get_column_letter(col)}{row}")


def _neighbourhood_sheet(ws: Worksheet, data: PackData) -> None:
    top = _sheet_intro(ws, f"Neighbourhoods: {data.scope.name}, {data.period.label}", [
        f"{data.period.describe()}. Every indicator by neighbourhood; no breakdowns at this level. "
        "Many neighbourhood figures are suppressed [c] because the numbers are small.",
    ])
    columns = [Col("Locality", 12), Col("Neighbourhood", 24), Col("Indicator id", 30),
               Col("Indicator", 45, wrap=True), Col("Measure status", 16, wrap=True), Col("Value", 12),
               Col("Lower 95% CI", 12), Col("Upper 95% CI", 12), Col("Unit", 16, wrap=True), Col("Numerator", 12),
               Col("Denominator", 12)]
    part = data.current[(data.current.geography_level == "neighbourhood") & (data.current.breakdown == "none")]
    cells = _cells(part.assign(group="All").set_index(["indicator_id", "geography", "group"]))
    rows = []
    for _, hood in data.neighbourhoods.iterrows():
        for ind in INDICATORS:
            if data.period.period_type not in ind.frequency:
                figures = [NOT_APPLICABLE] * 3 + [_unit(ind), NOT_APPLICABLE, NOT_APPLICABLE]
            else:
                figures = _figures(cells, (ind.id, hood["neighbourhood"], "All"), ind)
            rows.append([hood["locality"], hood["neighbourhood"], ind.id, ind.title, _status(ind), *figures])
    place = _write_table(ws, top, "tbl_neighbourhoods", columns, rows)
    ws.freeze_panes = ws.cell(row=place.first_row, column=3)
    _print_setup(ws, place.header_row)


def _to_target_sheet(ws: Worksheet, data: PackData) -> None:
    """CVDPREVENT's "patients needed to reach the target" (results.patients_to_target), from the
    pack's displayed counts: the scope's areas and neighbourhoods, and each area by IMD quintile."""
    top = _sheet_intro(ws, f"Patients needed to reach the target: {data.scope.name}, {data.period.label}", [
        f"{data.period.describe()}. The target share of the denominator, less the numerator, rounded up; 0 where "
        "the target is met. Worked out from the figures as shown, so suppressed rows [c] have no figure.",
    ])
    columns = [Col("Indicator id", 30), Col("Indicator", 45, wrap=True), Col("Target", 10), Col("Level", 14),
               Col("Area", 24), Col("IMD quintile", 20), Col("Numerator", 12), Col("Denominator", 12),
               Col("Value", 12), Col("Patients needed", 14)]
    order = {area: i for i, area in enumerate([*data.scope.areas, *(("neighbourhood", n)
                                                                   for n in data.neighbourhoods["neighbourhood"])])}
    rows = []
    for ind in (i for i in INDICATORS if i.patients_to_target):
        if data.period.period_type not in ind.frequency:
            continue
        part = data.current[(data.current.indicator_id == ind.id)
                            & data.current.breakdown.isin(["none", "imd_quintile"])]
        part = part.assign(needed=results.patients_to_target(part, ind),
                           _o=[order.get(k, len(order)) for k in zip(part.geography_level, part.geography, strict=True)])
        for r in part.sort_values(["_o", "breakdown", "group"]).itertuples(index=False):
            sup = bool(r.suppressed)
            rows.append([ind.id, ind.title, _figure(ind.target, ind, False), dimensions.LEVEL_LABELS[r.geography_level],
                         r.geography, "All" if r.breakdown == "none" else r.group, _count(r.numerator, sup),
                         _count(r.denominator, sup), _figure(r.value, ind, sup), _count(r.needed, sup)])
    place = _write_table(ws, top, "tbl_to_target", columns, rows)
    ws.freeze_panes = ws.cell(row=place.first_row, column=3)
    _print_setup(ws, place.header_row)


def _prepost_sheet(ws: Worksheet, conn: Connection, data: PackData) -> None:
    """The plan's pre/post INT table and its statistics, for the INTs in the pack's localities.

    Why metrics.prepost: it owns the stored rows (read_prepost), their disclosure rule
    (for_display: every row, the BSol Total included, is below England) and the plan's
    layout; the pack only scopes and formats them.
    """
    title = f"Pre/post INT activity: {data.scope.name}"
    from metrics import prepost

    tables = []
    if _prepost_table_current(conn):
        window = data.prepost_window
        for cohort, (label, _frm, _to) in prepost.COHORT_PRESETS.items():
            frame = prepost.read_prepost(conn, cohort=cohort, window_months=window)
            if frame.empty:
                continue
            in_scope = frame["locality"].isin(data.scope.localities)
            if data.scope.key == "bsol":
                in_scope |= frame["int_team_code"] == prepost.TOTAL_CODE
            frame = frame[in_scope]
            if not frame.empty:
                tables.append((cohort, label, window, frame, prepost.for_display(frame, data.rule)))
    if not tables:
        _sheet_intro(ws, title, [
            "Not available: no pre/post INT results are stored for the INTs in this pack's area, or "
            "they were stored by an older version of the app. They are computed by "
            "`flask --app app refresh` once INT caseload data is loaded.",
        ])
        _print_setup(ws)
        return
    row = _sheet_intro(ws, title, [
        "Activity in the months before and after people joined an Integrated Neighbourhood Team "
        "caseload (index date: first caseload start). Rules: docs/design.md 'Pre/post INT rules'.",
        prepost.RTM_CAUTION,
        f"Counts from {data.rule.min_count} to {data.rule.max_suppressed} are suppressed [c] with "
        f"every figure built on them; counts are rounded to the nearest {data.rule.rounding} and the "
        "variance, rates, ratios and per-person figures are computed from the rounded counts."
        + ("" if data.scope.key == "bsol" else " The BSol-wide Total row is in the BSol pack."),
    ]) + 1
    activity_cols = list(prepost.ACTIVITY_LABELS.values())
    for n, (cohort, label, window, exact, shown) in enumerate(tables, start=1):
        layout, exact_layout = prepost.plan_layout(shown), prepost.plan_layout(exact)
        plan_rows = [[r["INT"], r["MEASURE"], *(_signed(r[c], e[c], "#,##0;-#,##0;0") for c in activity_cols)]
                     for (_, r), (_, e) in zip(layout.iterrows(), exact_layout.iterrows(), strict=True)]
        placed = _write_table(ws, row, f"tbl_prepost_plan_{cohort}",
                              [Col("INT", 22), Col("Measure", 24), *(Col(c, 16, wrap=True) for c in activity_cols)],
                              plan_rows,
                              title=f"Table {2 * n - 1}: {label}, {window} months before and after (the plan's layout)")
        row = placed.last_row + 2
        stat_rows = []
        for (_, r), (_, e) in zip(shown.iterrows(), exact.iterrows(), strict=True):
            stat_rows.append([
                r["int_team"], r["locality"] if isinstance(r["locality"], str) else "All",
                _ACTIVITY_TEXT.get(r["activity"], r["activity"]),
                _signed(r["people"], e["people"], "#,##0"),
                _signed(r["pre"], e["pre"], "#,##0"), _signed(r["post"], e["post"], "#,##0"),
                _signed(r["variance"], e["variance"], "#,##0;-#,##0;0"),
                _signed(r["pct_change"], e["pct_change"], '0.0"%";-0.0"%";0.0"%"'),
                *(_signed(r[c], e[c], "0.00") for c in ("rate_ratio", "rr_robust_lower", "rr_robust_upper")),
                *((_signed(r[c], e[c], "0.00;-0.00;0.00") if r["activity"] in prepost.DID_ACTIVITIES
                   else NOT_APPLICABLE) for c in ("did_pp", "did_lower", "did_upper")),
            ])
        placed = _write_table(ws, row, f"tbl_prepost_stats_{cohort}",
                              [Col("INT team", 22), Col("Locality", 24), Col("Activity", 22, wrap=True),
                               Col("People", 12), Col("Pre", 12), Col("Post", 12), Col("Variance", 12),
                               Col("% change", 12), Col("Rate ratio (post ÷ pre)", 12),
                               Col("Rate ratio lower 95% CI (person-clustered)", 14), Col("Rate ratio upper 95% CI (person-clustered)", 14),
                               Col("Difference in differences per person", 14),
                               Col("DiD lower 95% CI", 12), Col("DiD upper 95% CI", 12)],
                              stat_rows,
                              title=f"Table {2 * n}: {label}, {window} months: rates and comparison cohort")
        row = placed.last_row + 2
    ws.freeze_panes = "A2"
    _print_setup(ws)


def _data_quality(ws: Worksheet, conn: Connection, data: PackData, sources: pd.DataFrame) -> None:
    row = _sheet_intro(ws, "Data quality", [
        "Three tables: the data sources behind the pack, completeness of the fields used by the "
        "breakdowns, and how much of each indicator is shown for this pack's areas.",
    ]) + 1
    src_rows = [[s["Source"], s["Extract"], Num(float(s["Rows"]), "#,##0") if pd.notna(s["Rows"]) else NOT_AVAILABLE,
                 s["First"], s["Last"], s["Last loaded"], s["File"]] for _, s in sources.iterrows()]
    first = _write_table(ws, row, "tbl_sources",
                         [Col("Source", 45, wrap=True), Col("Extract", 22), Col("Rows held", 12),
                          Col("First date", 12), Col("Last date", 12), Col("Last loaded", 20),
                          Col("File", 30, wrap=True)],
                         src_rows, title="Table 1: data sources, rows held and currency")
    row = first.last_row + 2
    log = _load_log(conn)
    summary = []
    if len(log):
        for outcome, part in log.groupby("outcome"):
            summary.append([outcome, Num(float(len(part)), "#,##0"),
                            Num(float(pd.to_numeric(part["rows"], errors="coerce").fillna(0).sum()), "#,##0"),
                            _when(part["loaded_at"].min()), _when(part["loaded_at"].max())])
    placed = _write_table(ws, row, "tbl_load_log",
                          [Col("Outcome", 45), Col("Loads", 22), Col("Rows", 12), Col("First load", 12),
                           Col("Latest load", 12)],
                          summary, title="Table 2: load log summary")
    row = placed.last_row + 2
    comp_rows = []
    from metrics.quality import completeness_for_display, read_completeness

    for _, c in completeness_for_display(read_completeness(conn), data.rule).iterrows():  # stored at refresh
        comp_rows.append([c["Check"], _count(c["Affected"], pd.isna(c["Affected"])),
                          _count(c["Out of"], pd.isna(c["Out of"])),
                          Num(c["Percent"], '0.0"%"') if pd.notna(c["Percent"]) else SUPPRESSED])
    placed = _write_table(ws, row, "tbl_completeness",
                          [Col("Field (registered patients, BSol)", 45), Col("Patients affected", 22),
                           Col("Registered patients", 12), Col("% of patients", 12)],
                          comp_rows, title="Table 3: completeness of fields used by breakdowns (BSol, all patients)")
    row = placed.last_row + 2
    cov_rows = []
    cur = data.current[data.current.breakdown == "none"]
    series = data.series
    n_areas = len(data.scope.areas)
    level, area = data.scope.headline
    for ind in INDICATORS:
        if data.period.period_type not in ind.frequency:
            cov_rows.append([ind.id, ind.title, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE])
            continue
        sub = _in_areas(cur[cur.indicator_id == ind.id], data.scope.areas)
        shown = int((sub["value"].notna() & ~sub["suppressed"]).sum())
        hidden = int(sub["suppressed"].sum())
        hist = series[(series.indicator_id == ind.id) & (series.geography_level == level)
                      & (series.geography == area) & series["value"].notna()]
        cov_rows.append([ind.id, ind.title, Num(float(shown), "0"), Num(float(hidden), "0"),
                         Num(float(n_areas - shown - hidden), "0"), Num(float(len(hist)), "0")])
    _write_table(ws, row, "tbl_coverage",
                 [Col("Indicator id", 45), Col("Indicator", 22, wrap=True), Col("Areas with a value", 12),
                  Col("Areas suppressed [c]", 12), Col("Areas not available [x]", 12),
                  Col(f"Periods shown (not suppressed), {area}", 14)],
                 cov_rows, title=f"Table 4: indicator coverage for {data.period.label} "
                                 f"({n_areas} areas in this pack)")
    ws.freeze_panes = "A2"
    _print_setup(ws)
