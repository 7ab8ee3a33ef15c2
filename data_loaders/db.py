"""Engines and transactions.

Readers never see a half-finished load. On PostgreSQL a load is one transaction. An embedded
DuckDB file admits one writing process and no readers beside it, so a write copies the file,
works on the copy in one transaction, and swaps it in with an atomic rename only on success;
readers use short-lived read-only connections and see the old file or the new one. A failed
write deletes the copy, leaving the original byte-for-byte as it was.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    insert,
    inspect,
    select,
)

from data_loaders.dialect import (
    database_file,
    file_url,
    flush_to_file,
    make_engine,
    read_once,
    stored_columns,
)
from data_loaders.tables import dataset_info

__all__ = ["data_version", "database_exists", "database_file", "ensure_derived_table", "make_engine",
           "read_dataset_info", "read_engine", "remove_stale_copies", "stamped_version", "write_transaction"]


def migrate_schema(conn: Connection) -> None:
    """Every write starts here: stored tables upgraded by their Alembic migrations (rows kept),
    derived tables created if missing (the refresh rebuilds them): data_loaders.migrate."""
    from data_loaders import migrate

    migrate.upgrade(conn, "stored")
    migrate.create_derived(conn)


def ensure_derived_table(conn: Connection, derived: Table) -> None:
    """Derived (recomputed) tables: recreate one when an older build left other columns.

    Why: results tables are rebuilt on every refresh, so a schema change needs no migration --
    dropping and recreating the table inside the refresh transaction is enough.
    """
    have = stored_columns(conn, derived.name)
    if have is not None:
        if have == {c.name for c in derived.columns}:
            return
        derived.drop(conn)
    derived.create(conn)


_read_engines: dict[str, Engine] = {}


def read_engine(url: str) -> Engine:
    """One reading engine per URL per process."""
    engine = _read_engines.get(url)
    if engine is None:
        engine = _read_engines[url] = make_engine(url, read_only=True)
    return engine


def database_exists(url: str) -> bool:
    """True when the database has its tables (a DuckDB file that exists, or a PG schema)."""
    path = database_file(url)
    if path is not None and not path.exists():
        return False
    with read_engine(url).connect() as conn:
        return inspect(conn).has_table("measure_result")


@contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def write_transaction(url: str) -> Iterator[Connection]:
    """One atomic write: commit everything on success, change nothing on any error."""
    path = database_file(url)
    if path is None:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                migrate_schema(conn)
                yield conn
                _stamp(conn)
        finally:
            engine.dispose()
        return
    with _writer_lock(path):
        remove_stale_copies(path)
        work = path.with_name(f".{path.name}.loading-{os.getpid()}")
        if path.exists():
            shutil.copy2(path, work)
        engine = make_engine(file_url(url, work))
        try:
            with engine.begin() as conn:
                conn.info[_WORKING_COPY] = True
                migrate_schema(conn)
                yield conn
                _stamp(conn)
            with engine.connect() as conn:
                flush_to_file(conn)
            engine.dispose()
            os.replace(work, path)
        except BaseException:
            engine.dispose()
            for leftover in (work, work.with_name(work.name + ".wal")):
                leftover.unlink(missing_ok=True)
            raise
    _read_engines.pop(url, None)


_WORKING_COPY = "bsol_working_copy"


def commit_so_far(conn: Connection) -> None:
    """Commit what a write has done so far, where that keeps it all-or-nothing: on an embedded
    database the write goes to a working copy that replaces the file only when the write ends
    (and is deleted on any error), so a commit inside it is invisible to readers, and it lets the
    engine write the rows out and free the memory they held (a full-size demo build otherwise
    kept ~2 GB of uncommitted rows). Elsewhere (PostgreSQL: one transaction) it does nothing."""
    if conn.info.get(_WORKING_COPY):
        conn.exec_driver_sql("COMMIT")
        conn.exec_driver_sql("BEGIN TRANSACTION")


def remove_stale_copies(path: Path) -> list[Path]:
    """Delete working copies (and their WAL files) left by loads that were killed mid-way.

    Called with the writer lock held, so no other load is using one: every copy is stale.
    """
    stale = sorted(path.parent.glob(f".{path.name}.loading-*"))
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


def _stamp(conn: Connection) -> None:
    """Record a fresh write id so every reader's cache notices the change."""
    conn.execute(delete(dataset_info).where(dataset_info.c.key == "write_id"))
    conn.execute(insert(dataset_info).values(key="write_id", value=uuid.uuid4().hex))


def data_version(url: str) -> str:
    """Changes whenever a write lands; pages key their caches on it."""
    path = database_file(url)
    if path is not None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return "none"
        return f"{stat.st_mtime_ns}-{stat.st_size}"
    with read_engine(url).connect() as conn:
        if not inspect(conn).has_table("dataset_info"):
            return "none"
        value = conn.execute(
            select(dataset_info.c.value).where(dataset_info.c.key == "write_id")
        ).scalar()
    return value or "none"


def read_dataset_info(url_or_conn: str | Connection) -> dict[str, str]:
    if isinstance(url_or_conn, str):
        with read_engine(url_or_conn).connect() as conn:
            return read_dataset_info(conn)
    conn = url_or_conn
    if not inspect(conn).has_table("dataset_info"):
        return {}
    rows = conn.execute(select(dataset_info.c.key, dataset_info.c.value)).all()
    return {k: v for k, v in rows}


def stamped_version(conn: Connection) -> str:
    """The write id of the data this connection reads ("none" before any write)."""
    return read_once(conn, "write_id", _read_write_id)


def _read_write_id(conn: Connection) -> str:
    if not inspect(conn).has_table("dataset_info"):
        return "none"
    value = conn.execute(select(dataset_info.c.value).where(dataset_info.c.key == "write_id")).scalar()
    return value or "none"
