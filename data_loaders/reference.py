"""Reference data shipped with the app (data_loaders/reference/*.csv; sources in its README.md).

Shipped data goes through the same reader, validation and `load_frames` path as any extract, so a
bad edit to a shipped CSV is caught by the same checks (and by tests/test_reference.py). Every file
load calls `install_reference`, so a fresh database needs no reference files from the data team and
a new app version's code lists replace the old ones on the next load (whole table, not upsert, so
a code taken off a list leaves the database too).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection

from data_loaders.extracts import EXTRACTS, Extract
from data_loaders.load import LoadRecord, load_frames
from data_loaders.readers import read_extract
from data_loaders.tables import EXTRACT_TABLES, load_log
from data_loaders.validate import validate_or_raise

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def shipped_extracts() -> list[Extract]:
    """Extracts whose data ships with the app (Extract.shipped)."""
    return [e for e in EXTRACTS if e.shipped]


def reference_path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.csv"


def read_reference(name: str) -> pd.DataFrame:
    """One shipped reference table, validated and typed (no database needed)."""
    frame, _ = _read(name)
    return frame


def _read(name: str) -> tuple[pd.DataFrame, str]:
    raw = read_extract(reference_path(name), name)
    return validate_or_raise(raw.extract, raw.frame, f"reference/{raw.file_name}"), raw.sha256


def shipped_sha256(name: str) -> str:
    """Hash of the shipped file's bytes (the same hash load_log records for it)."""
    return hashlib.sha256(reference_path(name).read_bytes()).hexdigest()


def load_reference(conn: Connection, names: list[str] | None = None) -> list[LoadRecord]:
    """Validate the shipped CSVs (all, or `names`), then replace those tables inside the caller's transaction.

    Raises ExtractValidationError (before writing anything) if a shipped file is invalid.
    """
    wanted = [e for e in shipped_extracts() if names is None or e.name in names]
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for extract in wanted:
        frames[extract.name], hashes[extract.name] = _read(extract.name)
        files[extract.name] = f"reference/{extract.name}.csv"
    for name in frames:
        table = EXTRACT_TABLES[name]
        table.create(conn, checkfirst=True)
        conn.execute(sa.delete(table))
    return load_frames(conn, frames, files, hashes)


def install_reference(conn: Connection) -> list[LoadRecord]:
    """Load each shipped table that is empty or was last loaded from different bytes; skip the rest."""
    stale = [e.name for e in shipped_extracts() if _installed_sha256(conn, e.name) != shipped_sha256(e.name)]
    return load_reference(conn, stale) if stale else []


def _installed_sha256(conn: Connection, name: str) -> str | None:
    """The hash of the last load of `name`, or None when its table is empty or missing."""
    inspector = sa.inspect(conn)
    table = EXTRACT_TABLES[name]
    if not inspector.has_table(table.name) or not inspector.has_table(load_log.name):
        return None
    if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0:
        return None
    return conn.execute(sa.select(load_log.c.sha256).where(load_log.c.extract == name)
                        .order_by(load_log.c.loaded_at.desc()).limit(1)).scalar()
