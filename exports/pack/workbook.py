"""Assembling the pack: read once, write every sheet in order, serialise to .xlsx bytes or a file.

Why this module exists: the entry points (build_workbook, build_pack, write_pack) stay small and
show the order of the sheets at a glance.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Connection

from exports.files import workbook_bytes, write_bytes
from exports.pack.data import _sources, read_pack_data
from exports.pack.periods import LONDON
from exports.pack.sheets import (
    _SHEETS_DESCRIPTION,
    _WP_SHEETS,
    _contents,
    _cover,
    _data_quality,
    _neighbourhood_sheet,
    _notes,
    _prepost_sheet,
    _scorecard,
    _to_target_sheet,
    _work_programme,
)
from metrics import disclosure
from metrics.catalogue import WORK_PROGRAMMES
from metrics.prepost import DEFAULT_WINDOW


def build_workbook(conn: Connection, place: str, period: str | None = None,
                   generated_at: datetime | None = None,
                   rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE,
                   prepost_window: int = DEFAULT_WINDOW) -> Workbook:
    """The pack as an openpyxl Workbook (build_pack serialises it). The edges pass the configured
    disclosure rule and pre/post window (settings)."""
    data = read_pack_data(conn, place, period, rule, prepost_window)
    generated = (generated_at or datetime.now(LONDON)).astimezone(LONDON)
    sources = _sources(conn)
    wb = Workbook()
    _cover(wb, data, generated, sources)
    names = ["Cover", "Contents", "Notes", "Scorecard", *_WP_SHEETS.values(), "Neighbourhoods", "To target",
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
    _to_target_sheet(sheets["To target"], data)
    _prepost_sheet(sheets["Pre-post INT"], conn, data)
    _data_quality(sheets["Data quality"], conn, data, sources)
    wb.properties.title = f"BSol outcomes pack: {data.scope.name}, {data.period.label}"
    wb.properties.creator = "BSol outcomes dashboard"
    wb.properties.language = "en-GB"
    return wb


def build_pack(conn: Connection, place: str, period: str | None = None, *,
               generated_at: datetime | None = None, rule: disclosure.DisclosurePolicy = disclosure.DEFAULT_RULE,
               prepost_window: int = DEFAULT_WINDOW) -> bytes:
    """The pack as .xlsx bytes (for the app's download button).

    place: bsol, birmingham or solihull. period: '2024-25', '2024-25 Q2', '2024-06' or None for
    the latest complete quarter. Raises ValueError for an unknown place or period.
    """
    return workbook_bytes(build_workbook(conn, place, period, generated_at, rule, prepost_window))


def write_pack(conn: Connection, place: str, period: str | None, path: str | Path, **kwargs: Any) -> Path:
    """Write the pack to a file (written to a sibling temp file first, then renamed)."""
    return write_bytes(path, build_pack(conn, place, period, **kwargs))
