"""The small demo extracts as files, through the real file loader: twice is the same as once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from data_loaders import demo
from data_loaders.db import read_engine, write_transaction
from data_loaders.load import load_files
from data_loaders.reference import load_reference
from data_loaders.tables import EXTRACT_TABLES


def _counts(url: str) -> dict[str, int]:
    with read_engine(url).connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for name, t in EXTRACT_TABLES.items()}


def test_loading_the_demo_extracts_twice_leaves_the_same_rows(tmp_path: Path) -> None:
    frames = demo.generate("small", end=date(2025, 3, 31))
    files = demo.write_extracts(frames, tmp_path / "extracts")
    url = f"duckdb:///{tmp_path / 'bsol.duckdb'}"
    with write_transaction(url) as conn:
        load_reference(conn)
    load_files(url, files, progress=False, data_dir=tmp_path)
    once = _counts(url)
    assert once["patient"] == len(frames["patient"]) and once["smoking_status"] == len(frames["smoking_status"])
    load_files(url, files, progress=False, data_dir=tmp_path)
    assert _counts(url) == once
