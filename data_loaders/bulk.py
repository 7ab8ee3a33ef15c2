"""Fast bulk insert of a DataFrame into a table, per engine (used for derived result tables)."""

from __future__ import annotations

import uuid

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Table, insert, select

from data_loaders.dialect import driver_connection


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Insert all rows of `frame` (columns named as the table's) inside the caller's transaction."""
    if frame.empty:
        return
    cols = [c.name for c in table.columns if c.name in frame.columns]
    frame = frame[cols]
    dialect = conn.dialect.name
    if dialect == "duckdb":
        raw = driver_connection(conn)
        view = f"_bsol_bulk_{uuid.uuid4().hex[:12]}"
        raw.register(view, frame)
        try:
            stage = sa.table(view, *(sa.column(c) for c in cols))
            conn.execute(insert(table).from_select(
                cols, select(*(sa.cast(stage.c[c], table.c[c].type).label(c) for c in cols))))
        finally:
            raw.unregister(view)
    elif dialect == "postgresql" and conn.dialect.driver == "psycopg":
        from data_loaders.load import _copy

        _copy(conn, table, frame)
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(insert(table), records)
