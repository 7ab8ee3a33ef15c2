"""Build a database from the hand-built known-answer dataset (tests/kat_data.py)."""

from __future__ import annotations

from data_loaders.db import write_transaction
from data_loaders.load import load_frames
from metrics.pipeline import refresh_all, set_dataset_info
from tests.kat_data import DATA_END, frames


def build_kat_db(url: str) -> None:
    with write_transaction(url) as conn:
        load_frames(conn, frames())
        set_dataset_info(conn, {"data_end": DATA_END.isoformat(), "is_demo": "false", "data_start": "2023-04-01"})
        refresh_all(conn)
