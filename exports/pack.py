"""Committee packs: one .xlsx that a committee secretary can circulate unchanged.

Layout follows the Analysis Function guidance "Releasing statistics in spreadsheets": a cover
sheet, a contents sheet with links, a notes sheet, then one table per sheet region with its title
in column A, no merged cells, no hidden data, no blank cells inside tables (shorthand instead:
``[c]`` confidential / suppressed, ``[x]`` not available, ``[z]`` not applicable).

Why aggregate only: the pack reads ``measure_result`` (already aggregated), ``prepost_result``,
``load_log``, ``dataset_info`` and the practice reference table; it never reads patient rows.
Every indicator figure passes ``metrics.results.for_display`` (the one disclosure rule) before it
is written, so the pack cannot disagree with the app.

Formula injection: any text cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or tab / CR)
is written as a plain string prefixed with an apostrophe, e.g. ``'=HYPERLINK(...)``. openpyxl then
stores a string cell (``data_type == "s"``; never an ``<f>`` formula element), Excel and LibreOffice
show the text with a visible apostrophe (a signal that the value was neutralised), reading the file
back gives a string that does not start with ``=``, and if someone edits the cell Excel takes the
leading apostrophe as its own "treat as text" prefix, so the value stays inert. This is the OWASP
"CSV injection" recommendation applied to xlsx.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Connection, func, select

from data_loaders.extracts import ETHNIC_GROUPS, LOCALITIES
from data_loaders.tables import dataset_info, load_log, measure_result, prepost_result
from exports.files import neutralise, workbook_bytes, write_bytes
from metrics import dimensions, disclosure, results
from metrics.catalogue import INDICATORS, WORK_PROGRAMMES, Indicator, measure_of
from metrics.docs import indicator_rows

SUPPRESSED = "[c]"
NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"
PLACES = ("bsol", "birmingham", "solihull")
# Birmingham localities each have a pack for their LDP (Solihull's locality is its Place).
LOCALITY_PACKS = tuple(loc.lower() for loc in LOCALITIES if loc != "Solihull")
LONDON = ZoneInfo("Europe/London")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_IMD_GROUPS = ("Q1 (most deprived)", "Q2", "Q3", "Q4", "Q5 (least deprived)", "Unknown")
_BREAKDOWNS = (("none", "Area"), *((k, dimensions.BREAKDOWN_LABELS[k]) for k in ("imd_quintile", "ethnicity")))
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
_TITLE_FONT = Font(bold=True, size=16)
_HEADING_FONT = Font(bold=True, size=12)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_TABLE_STYLE = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)


# --------------------------------------------------------------------------- scope and period
@dataclass(frozen=True)
class Scope:
    """Which areas a pack covers: the headline area first, then its places and localities."""

    key: str
    name: str
    audience: str
    areas: tuple[tuple[str, str], ...]  # (geography_level, geography)

    @property
    def headline(self) -> tuple[str, str]:
        return self.areas[0]

    @property
    def localities(self) -> tuple[str, ...]:
        return tuple(g for level, g in self.areas if level == "locality")


_BIRMINGHAM_LOCALITIES = tuple(loc for loc in LOCALITIES if loc != "Solihull")
SCOPES: dict[str, Scope] = {
    "bsol": Scope("bsol", "Birmingham and Solihull (BSol)", "BSol Community Care Collaborative Steering Group",
                  (("bsol", "BSol"), ("place", "Birmingham"), ("place", "Solihull"),
                   *(("locality", loc) for loc in LOCALITIES))),
    "birmingham": Scope("birmingham", "Birmingham", "Birmingham Place Committee",
                        (("place", "Birmingham"), *(("locality", loc) for loc in _BIRMINGHAM_LOCALITIES))),
    "solihull": Scope("solihull", "Solihull", "Solihull Place Committee",
                      (("place", "Solihull"), ("locality", "Solihull"))),
    # One pack per locality, for its Locality Delivery Partnership chair (compared with BSol).
    **{loc.lower(): Scope(loc.lower(), f"{'Central Birmingham' if loc == 'Central' else loc} locality",
                          f"{loc} Locality Delivery Partnership", (("locality", loc),))
       for loc in _BIRMINGHAM_LOCALITIES},
}


def get_scope(place: str) -> Scope:
    key = place.strip().lower()
    if key not in SCOPES:
        raise ValueError(f"place must be one of {', '.join(PLACES + LOCALITY_PACKS)}, got {place!r}")
    return SCOPES[key]


@dataclass(frozen=True)
class PackPeriod:
    """The reporting period of a pack, with the dates the data actually cover."""

    period_type: str
    label: str
    start: date
    end: date  # last day with data in the period
    nominal_end: date  # last day of the whole period

    @property
    def complete(self) -> bool:
        return self.end >= self.nominal_end

    @property
    def type_text(self) -> str:
        return results.PERIOD_TYPE_LABELS[self.period_type].lower()

    def describe(self) -> str:
        """Plain-English dates, e.g. 'April to June 2024' (GSS: no ambiguous date formats)."""
        if self.period_type == "month":
            text = f"{self.start:%B %Y}"
        elif self.start.year == self.nominal_end.year:
            text = f"{self.start:%B} to {self.nominal_end:%B %Y}"
        else:
            text = f"{self.start:%B %Y} to {self.nominal_end:%B %Y}"
        if not self.complete:
            text += f" (incomplete: data to {_long_date(self.end)})"
        return text


_FY_OR_MONTH = re.compile(r"^(\d{4})[-/](\d{2})$")
_QUARTER = re.compile(r"^(\d{4})[-/](\d{2})\s*Q([1-4])$", re.IGNORECASE)


def parse_period(label: str) -> tuple[str, str]:
    """(period_type, canonical label) from '2024-25', '2024-25 Q2' or '2024-06'."""
    text = label.strip()
    if m := _QUARTER.match(text):
        year, nxt, q = int(m[1]), int(m[2]), m[3]
        if nxt != (year + 1) % 100:
            raise ValueError(f"{label!r}: a quarter looks like '2024-25 Q2'")
        return "quarter", f"{year}-{nxt:02d} Q{q}"
    if m := _FY_OR_MONTH.match(text):
        year, second = int(m[1]), int(m[2])
        if second == (year + 1) % 100:
            return "financial_year", f"{year}-{second:02d}"
        if 1 <= second <= 12:
            return "month", f"{year}-{second:02d}"
    raise ValueError(f"{label!r} is not a period: use a financial year (2024-25), a quarter "
                     "('2024-25 Q2') or a month (2024-06)")


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _nominal_end(period_type: str, start: date) -> date:
    months = {"month": 1, "quarter": 3, "financial_year": 12}[period_type]
    return _add_months(start, months) - timedelta(days=1)


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


def pack_filename(place: str, period: PackPeriod | str) -> str:
    """A safe download name, e.g. 'bsol-outcomes-pack-birmingham-2024-25-Q1.xlsx'."""
    label = period.label if isinstance(period, PackPeriod) else period
    return f"bsol-outcomes-pack-{get_scope(place).key}-{re.sub(r'[^0-9A-Za-z]+', '-', label)}.xlsx"


# --------------------------------------------------------------------------- safe cell writing (exports.files)
@dataclass(frozen=True)
class Num:
    """A number with its Excel number format (the format travels with the value)."""

    value: float
    fmt: str


def _put(ws: Worksheet, row: int, col: int, value: Any, font: Font | None = None,
         align: Alignment | None = None) -> None:
    """The single place cells are written: strings neutralised, NaN shown as [x]."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, Num):
        cell.value = value.value
        cell.number_format = value.fmt
    elif isinstance(value, bool):
        cell.value = "Yes" if value else "No"
    elif isinstance(value, int | float):
        cell.value = NOT_AVAILABLE if isinstance(value, float) and math.isnan(value) else value
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = "d mmmm yyyy hh:mm"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "d mmmm yyyy"
    elif value is None:
        cell.value = NOT_AVAILABLE
    else:
        cell.value = neutralise(str(value))
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if align is not None:
        cell.alignment = align


@dataclass(frozen=True)
class Col:
    header: str
    width: float = 14
    wrap: bool = False


@dataclass
class TablePlace:
    header_row: int
    first_row: int
    last_row: int
    columns: dict[str, int] = field(default_factory=dict)


def _write_table(ws: Worksheet, top: int, name: str, columns: Sequence[Col], rows: Sequence[Sequence[Any]],
                 title: str | None = None) -> TablePlace:
    """A titled Excel table from column A: header row, data rows, autofilter, banding."""
    if title:
        _put(ws, top, 1, title, font=_HEADING_FONT)
        top += 1
    for j, col in enumerate(columns, start=1):
        _put(ws, top, j, col.header, font=_BOLD, align=_WRAP)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, col.width)
    rows = list(rows) or [[NOT_AVAILABLE] * len(columns)]  # Excel tables need a data row
    for i, values in enumerate(rows, start=top + 1):
        for j, (col, value) in enumerate(zip(columns, values, strict=True), start=1):
            _put(ws, i, j, value, align=_WRAP if col.wrap else None)
    last = top + len(rows)
    table = Table(displayName=name, ref=f"A{top}:{get_column_letter(len(columns))}{last}")
    table.tableStyleInfo = _TABLE_STYLE
    ws.add_table(table)
    return TablePlace(top, top + 1, last, {c.header: j for j, c in enumerate(columns, start=1)})


def _print_setup(ws: Worksheet, title_row: int | None = None) -> None:
    """Landscape A4, fit to one page wide (as many pages tall as needed)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_row:
        ws.print_title_rows = f"{title_row}:{title_row}"


def _sheet_intro(ws: Worksheet, title: str, lines: Iterable[str]) -> int:
    """Title in A1 and short explanatory lines; returns the next free row."""
    _put(ws, 1, 1, title, font=_TITLE_FONT)
    row = 2
    for line in lines:
        _put(ws, row, 1, line)
        row += 1
    return row


# --------------------------------------------------------------------------- formatting figures
def _value_format(ind: Indicator) -> str:
    decimals = "0" if ind.decimals == 0 else "0." + "0" * ind.decimals
    if ind.unit == "percent":
        return f'{decimals}"%"'
    if ind.unit == "count":
        return "#,##0"
    return f"#,##{decimals}" if ind.decimals else "#,##0"


def _figure(value: object, ind: Indicator, suppressed: bool, fmt: str | None = None) -> Any:
    if suppressed:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return NOT_AVAILABLE
    return Num(float(value), fmt or _value_format(ind))


def _ci(value: object, ind: Indicator, suppressed: bool) -> Any:
    if ind.ci == "none":
        return NOT_APPLICABLE
    return _figure(value, ind, suppressed)


def _count(value: object, suppressed: bool) -> Any:
    if suppressed:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return NOT_AVAILABLE
    number = float(value)  # type: ignore[arg-type]
    return Num(number, "#,##0" if number.is_integer() else "#,##0.0")  # person-years keep a decimal


def _status(ind: Indicator) -> str:
    return measure_of(ind).status_label


def _unit(ind: Indicator) -> str:
    return ind.unit_label + (" (annualised)" if ind.annualised else "")


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
    neighbourhoods: pd.DataFrame
    info: dict[str, str]
    rule: disclosure.DisclosureRule


def read_pack_data(conn: Connection, place: str, period: str | None = None,
                   rule: disclosure.DisclosureRule | None = None) -> PackData:
    """Read only what the pack shows; apply the disclosure rule to all of it."""
    scope = get_scope(place)
    pack_period = resolve_period(conn, period)
    rule = rule or disclosure.configured_rule()
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
    return PackData(scope, pack_period, current.reset_index(drop=True),
                    results.for_display(series, rule).reset_index(drop=True), hoods, _dataset_info(conn), rule)


# --------------------------------------------------------------------------- sheets
_SHEETS_DESCRIPTION: dict[str, str] = {
    "Cover": "About this pack: place, period, data sources, disclosure control, symbols",
    "Contents": "This list of sheets",
    "Notes": "Definitions of every indicator, generated from the measure catalogue",
    "Scorecard": "Every indicator for the headline area: value, 95% confidence interval, comparison, SPC variation and assurance",
    "Neighbourhoods": "Every indicator by neighbourhood (no breakdowns)",
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


def _scorecard(ws: Worksheet, data: PackData) -> None:
    level, area = data.scope.headline
    ptype = data.period.period_type
    top = _sheet_intro(ws, f"Scorecard: {area}, {data.period.label}", [
        f"Every indicator for {area} in {data.period.label} ({data.period.describe()}).",
        "Comparison: the 95% confidence interval against BSol (place packs) or the target (BSol pack).",
        f"SPC: XmR chart of the {_PERIOD_WORDS[ptype]} series up to this period (NHS England Making Data Count).",
    ])
    columns = [Col("Work programme", 10), Col("Measure", 9), Col("Measure status", 18, wrap=True),
               Col("Indicator id", 30), Col("Indicator", 50, wrap=True), Col("Area", 14), Col("Period", 12),
               Col("Value", 12), Col("Lower 95% CI", 12), Col("Upper 95% CI", 12), Col("Unit", 16, wrap=True),
               Col("Compared with", 12), Col("Comparison", 14), Col("SPC variation", 30, wrap=True),
               Col("SPC assurance", 30, wrap=True), Col("SPC detail", 45, wrap=True), Col("Target", 10)]
    series = data.series
    rows = []
    for ind in INDICATORS:
        m = measure_of(ind)
        head = [m.work_programme, m.number, m.status_label, ind.id, ind.title, area, data.period.label]
        target = Num(ind.target, _value_format(ind)) if ind.target is not None else NOT_APPLICABLE
        if ptype not in ind.frequency:
            rows.append([*head, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, _unit(ind), NOT_APPLICABLE,
                         NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE,
                         f"Not published {_PERIOD_WORDS[ptype]}", target])
            continue
        sub = series[series.indicator_id == ind.id]
        local = sub[(sub.geography_level == level) & (sub.geography == area)].sort_values("period_start")
        bsol = sub[sub.geography_level == "bsol"].set_index("period")
        if local.empty or local.iloc[-1]["period"] != data.period.label:
            rows.append([*head, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, _unit(ind), NOT_AVAILABLE,
                         NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, "No data for this period", target])
            continue
        card = results._scorecard_row(ind, local, bsol, level)  # the app's own scorecard logic
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
        rows.append([*head, _figure(card.value, ind, card.suppressed),
                     _ci(card.lower, ind, card.suppressed), _ci(card.upper, ind, card.suppressed), _unit(ind),
                     card.comparator or NOT_APPLICABLE,
                     card.comparison.capitalize() if card.comparator else NOT_APPLICABLE,
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
            areas = list(scope.areas)
            for area_level, area in areas:
                start = len(rows)
                for group in groups:
                    key = (area_level, area, group)
                    rows.append([*base, label, level_label[area_level], area, group,
                                 *_figures(part, key, ind), _row_note(part, key)])
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


def _figures(part: pd.DataFrame, key: tuple[str, str, str], ind: Indicator) -> list[Any]:
    """Value, CI, unit, numerator, denominator for one cell of the table ([x] when absent)."""
    if key not in part.index:
        return [NOT_AVAILABLE, _ci(None, ind, False), _ci(None, ind, False), _unit(ind), NOT_AVAILABLE,
                NOT_AVAILABLE if ind.denominator is not None else NOT_APPLICABLE]
    r = part.loc[key]
    if isinstance(r, pd.DataFrame):
        r = r.iloc[0]
    s = bool(r["suppressed"])
    return [_figure(r["value"], ind, s), _ci(r["lower_ci"], ind, s), _ci(r["upper_ci"], ind, s), _unit(ind),
            _count(r["numerator"], s), _count(r["denominator"], s) if ind.denominator is not None else NOT_APPLICABLE]


def _row_note(part: pd.DataFrame, key: tuple[str, str, str]) -> str:
    if key not in part.index:
        return "No data for this area, group and period"
    r = part.loc[key]
    if isinstance(r, pd.DataFrame):
        r = r.iloc[0]
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
    part = part.assign(group="All").set_index(["indicator_id", "geography", "group"])
    rows = []
    for _, hood in data.neighbourhoods.iterrows():
        for ind in INDICATORS:
            if data.period.period_type not in ind.frequency:
                figures = [NOT_APPLICABLE] * 3 + [_unit(ind), NOT_APPLICABLE, NOT_APPLICABLE]
            else:
                figures = _figures(part, (ind.id, hood["neighbourhood"], "All"), ind)
            rows.append([hood["locality"], hood["neighbourhood"], ind.id, ind.title, _status(ind), *figures])
    place = _write_table(ws, top, "tbl_neighbourhoods", columns, rows)
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
        from data_loaders.settings import load_settings

        window = load_settings().prepost_window_months
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


def _prepost_table_current(conn: Connection) -> bool:
    """True when prepost_result exists with today's columns (a stale table needs a refresh).

    Checked up front rather than by catching the error: a failed statement would abort the
    caller's transaction on PostgreSQL and take the rest of the pack with it.
    """
    inspector = sa.inspect(conn)
    if not inspector.has_table(prepost_result.name):
        return False
    probe = select(sa.literal_column("*")).select_from(sa.table(prepost_result.name)).limit(0)
    stored = set(conn.execute(probe).keys())  # (duckdb-engine's get_columns fails on DuckDB 2)
    return {c.name for c in prepost_result.columns} <= stored


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _signed(shown: object, exact: object, fmt: str) -> Any:
    """A pre/post figure: [c] where for_display hid an exact value, [x] where none was computed."""
    if _missing(shown):
        return NOT_AVAILABLE if _missing(exact) else SUPPRESSED
    return Num(float(shown), fmt)  # type: ignore[arg-type]


def _sources(conn: Connection) -> pd.DataFrame:
    """Source, first/last date and last load per extract (metrics.quality when present)."""
    log = _load_log(conn)
    from metrics.quality import source_coverage

    coverage = source_coverage(conn)
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
    from metrics.quality import completeness, completeness_for_display

    for _, c in completeness_for_display(completeness(conn), data.rule).iterrows():
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


# --------------------------------------------------------------------------- assembly
def _when(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "not recorded"
    ts = pd.Timestamp(value)
    return f"{ts:%d %B %Y %H:%M}"


def _long_date(value: object) -> str:
    if value is None or value == "":
        return "unknown"
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{d.day} {d:%B %Y}"


def build_workbook(conn: Connection, place: str, period: str | None = None,
                   generated_at: datetime | None = None,
                   rule: disclosure.DisclosureRule | None = None) -> Workbook:
    """The pack as an openpyxl Workbook (build_pack serialises it)."""
    data = read_pack_data(conn, place, period, rule)
    generated = (generated_at or datetime.now(LONDON)).astimezone(LONDON)
    sources = _sources(conn)
    wb = Workbook()
    _cover(wb, data, generated, sources)
    names = ["Cover", "Contents", "Notes", "Scorecard", *_WP_SHEETS.values(), "Neighbourhoods",
             "Pre-post INT", "Data quality"]
    sheets = {name: (wb["Cover"] if name == "Cover" else wb.create_sheet(name)) for name in names}
    descriptions = {**_SHEETS_DESCRIPTION, **{
        sheet: f"Work programme {wp}: {WORK_PROGRAMMES[wp]}: every indicator by area, IMD quintile and "
               "ethnic group, with charts" for wp, sheet in _WP_SHEETS.items()}}
    _contents(sheets["Contents"], [(n, descriptions[n]) for n in names])
    _notes(sheets["Notes"])
    _scorecard(sheets["Scorecard"], data)
    for wp, sheet in _WP_SHEETS.items():
        _work_programme(sheets[sheet], wp, data, f"tbl_wp{wp}")
    _neighbourhood_sheet(sheets["Neighbourhoods"], data)
    _prepost_sheet(sheets["Pre-post INT"], conn, data)
    _data_quality(sheets["Data quality"], conn, data, sources)
    wb.properties.title = f"BSol outcomes pack: {data.scope.name}, {data.period.label}"
    wb.properties.creator = "BSol outcomes dashboard"
    wb.properties.language = "en-GB"
    return wb


def build_pack(conn: Connection, place: str, period: str | None = None, *,
               generated_at: datetime | None = None, rule: disclosure.DisclosureRule | None = None) -> bytes:
    """The pack as .xlsx bytes (for the app's download button).

    place: bsol, birmingham or solihull. period: '2024-25', '2024-25 Q2', '2024-06' or None for
    the latest complete quarter. Raises ValueError for an unknown place or period.
    """
    return workbook_bytes(build_workbook(conn, place, period, generated_at, rule))


def write_pack(conn: Connection, place: str, period: str | None, path: str | Path, **kwargs: Any) -> Path:
    """Write the pack to a file (written to a sibling temp file first, then renamed)."""
    return write_bytes(path, build_pack(conn, place, period, **kwargs))


__all__ = ["PLACES", "LOCALITY_PACKS", "SCOPES", "PackPeriod", "build_pack", "build_workbook", "write_pack", "resolve_period",
           "parse_period", "pack_filename", "neutralise", "read_pack_data", "SUPPRESSED", "NOT_AVAILABLE",
           "NOT_APPLICABLE"]
