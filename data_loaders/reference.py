"""Reference data shipped with the app (data_loaders/reference/*.csv; sources in its README.md).

Shipped data goes through the same reader, validation and `load_frames` path as any extract, so a
bad edit to a shipped CSV is caught by the same checks (and by tests/test_reference.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection

from data_loaders.extracts import EXTRACTS, Extract
from data_loaders.load import LoadRecord, load_frames
from data_loaders.readers import read_extract
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


def load_reference(conn: Connection) -> list[LoadRecord]:
    """Validate every shipped CSV, then load them all inside the caller's transaction.

    Raises ExtractValidationError (before writing anything) if a shipped file is invalid.
    """
    frames: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for extract in shipped_extracts():
        frames[extract.name], hashes[extract.name] = _read(extract.name)
        names[extract.name] = f"reference/{extract.name}.csv"
    return load_frames(conn, frames, names, hashes)
