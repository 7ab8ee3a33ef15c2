"""A small spreadsheet framework: the one place cells are written (neutralised text, [x] for
missing), titled Excel tables, sheet intros and print setup.

Why this module exists: every sheet follows the Analysis Function layout through these few
functions, so the layout rules and the formula-injection defence live once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from exports.files import neutralise

SUPPRESSED = "[c]"
NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"


_TITLE_FONT = Font(bold=True, size=16)
_HEADING_FONT = Font(bold=True, size=12)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_TABLE_STYLE = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)


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
