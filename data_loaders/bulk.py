"""Fast bulk insert of a DataFrame into a table (used for derived result tables).

The per-engine strategy lives in data_loaders.dialect (bulk_loader); this is the entry point the
refresh code calls.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Table

from data_loaders.dialect import bulk_loader


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Insert all rows of `frame` (columns named as the table's) inside the caller's transaction."""
    if frame.empty:
        return
    cols = [c.name for c in table.columns if c.name in frame.columns]
    bulk_loader(conn).insert_frame(conn, table, frame[cols])
