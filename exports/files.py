"""The one writer for every file the app produces (CSV and XLSX downloads, CLI output, Excel packs).

Why one writer: a file opened in a spreadsheet can run code. Text from a loaded extract (a
neighbourhood named ``=HYPERLINK(...)``) must never become a live formula, and every file must obey
the same rule, so every file goes through here.

* Formula injection (OWASP "CSV Injection"): a text cell whose first character -- after any leading
  whitespace -- is ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with an apostrophe,
  e.g. ``'=HYPERLINK(...)``. In XLSX the cell is also stored as a string (``data_type "s"``; never an
  ``<f>`` element) and any formula cell left in a workbook is turned back into inert text. Excel
  shows the apostrophe (a visible sign the text was neutralised) and takes it as its own "treat as
  text" prefix if the cell is edited.
* Numbers stay numbers (a negative number is a number, not text); counts are written as whole
  numbers (``counts=``), missing values as empty cells (CSV) or the frame's own symbols.
* Files on disk are written to a sibling temporary file, then renamed (never half-written).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LEADING_SPACE = re.compile(r"^[ \u00a0\u2000-\u200b\u3000\n]*")

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_NUMBER = re.compile(r"^[+-]?(\d[\d,]*)(\.\d+)?%?$")


def neutralise(text: str) -> str:
    """Text a spreadsheet will never read as a formula (module docstring). A plain number written as
    text ("-740", "-5.2%") is left alone: it is read as a number, never as a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(text))
    if _NUMBER.match(text.strip()):
        return text
    if text.startswith(FORMULA_START) or _LEADING_SPACE.sub("", text).startswith(FORMULA_START):
        return "'" + text
    return text


def safe_frame(frame: pd.DataFrame, counts: Iterable[str] = ()) -> pd.DataFrame:
    """A copy with every text cell (and header) neutralised and ``counts`` as whole numbers."""
    out = frame.copy()
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    wanted = {neutralise(c) for c in counts}
    for col in out.columns:
        s = out[col]
        if col in wanted and pd.api.types.is_numeric_dtype(s):
            out[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_datetime64_any_dtype(s):
            out[col] = _neutralised(s)
    return out


def _neutralised(column: pd.Series) -> list[Any]:
    """The column's cells with every text neutralised: each distinct text is checked once (a results
    column holds a few hundred distinct texts in hundreds of thousands of rows)."""
    values = column.to_numpy(dtype=object)
    changed = {}
    for value in pd.unique(values):
        if isinstance(value, str) and (safe := neutralise(value)) != value:
            changed[value] = safe
    if changed:
        values = np.array([changed.get(v, v) if isinstance(v, str) else v for v in values], dtype=object)
    return values.tolist()


def csv_bytes(frame: pd.DataFrame, counts: Iterable[str] = ()) -> bytes:
    """CSV (UTF-8 with BOM, so Excel reads accents) of a neutralised frame."""
    return safe_frame(frame, counts).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame], counts: Iterable[str] = ()) -> bytes:
    """An .xlsx with one sheet per frame (names cut to Excel's 31 characters), every cell safe."""
    wb = Workbook()
    wb.remove(wb.active)
    wanted = list(counts)
    for name, frame in sheets.items():
        ws = wb.create_sheet(neutralise(re.sub(r"[\[\]:*?/\\]", "-", name))[:31])
        safe = safe_frame(frame, wanted)
        ws.append([_cell(c) for c in safe.columns])
        for row in safe.itertuples(index=False):
            ws.append([_cell(v) for v in row])
    return workbook_bytes(wb)


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, str):
        return neutralise(value)
    return value


def make_inert(wb: Workbook) -> Workbook:
    """Every text or formula cell of a workbook neutralised and stored as a string (in place)."""
    for ws in wb.worksheets:
        ws.title = neutralise(ws.title)[:31] if ws.title.startswith(FORMULA_START) else ws.title
        # The cells that exist (openpyxl's own store): iter_rows() would visit, and create, every
        # blank cell of the used range, which took 0.6 s of a 3 s pack.
        for cell in list(ws._cells.values()):
            if isinstance(cell, Cell) and (isinstance(cell.value, str) or cell.data_type == "f"):
                cell.value = neutralise(str(cell.value))
                cell.data_type = "s"
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes, made inert first (the last step for packs too)."""
    buf = io.BytesIO()
    make_inert(wb).save(buf)
    return buf.getvalue()


def write_bytes(path: str | Path, content: bytes) -> Path:
    """Write a produced file atomically (sibling temporary file, then rename)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(target)
    return target


__all__ = ["CSV_TYPE", "FORMULA_START", "XLSX_TYPE", "csv_bytes", "make_inert", "neutralise", "safe_frame",
           "workbook_bytes", "write_bytes", "xlsx_bytes"]
