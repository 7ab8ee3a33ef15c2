"""Build a database from the hand-built known-answer dataset (tests/kat_data.py).

The one builder every known-answer test uses: the real loader, the dataset facts, a full refresh.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from data_loaders.db import write_transaction
from data_loaders.load import load_frames
from metrics.disclosure import DisclosurePolicy
from metrics.pipeline import refresh_all, set_dataset_info
from tests.kat_data import DATA_END, frames

Frames = dict[str, pd.DataFrame]


def build_kat_db(url: str, change: Callable[[Frames], None] | None = None,
                 policy: DisclosurePolicy | None = None) -> None:
    """Load the known-answer frames (after `change(frames)`, if given) and refresh every result
    (under `policy`; default: the documented one)."""
    data = frames()
    if change is not None:
        change(data)
    with write_transaction(url) as conn:
        load_frames(conn, data)
        set_dataset_info(conn, {"data_end": DATA_END.isoformat(), "is_demo": "false", "data_start": "2023-04-01"})
        refresh_all(conn, policy=policy)
