"""Where the database engines differ (DuckDB, PostgreSQL): the seam a new engine extends.

Today it holds the driver-level access that loads need (DuckDB registers a DataFrame as a view;
psycopg streams COPY). Everything else goes through SQLAlchemy Core and is engine-neutral.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def driver_connection(conn: Connection) -> Any:
    """The DBAPI driver's own connection object (duckdb.DuckDBPyConnection, psycopg.Connection)."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the database connection is closed")
    return raw
