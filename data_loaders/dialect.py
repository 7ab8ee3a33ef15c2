"""Where the database engines differ (DuckDB, PostgreSQL, and SQLite for the audit log): the one seam.

Why this module exists: everything else goes through SQLAlchemy Core and is engine-neutral, so a new
engine (Databricks SQL or Spark for national scale, later) touches this module and configuration
only. It holds every engine difference the app has:

* URLs and engines: the default embedded URL, which URLs are an embedded file (written by copy and
  swap, see data_loaders.db), engine options (DuckDB memory cap and read-only readers; SQLite WAL
  for the audit log), the flush before a file swap, the reader's snapshot isolation;
* SQL constructs that differ, as SQLAlchemy ``@compiles`` rules (``add_months``): a new engine adds
  one rule for its dialect name, callers do not change;
* reading a result as a frame (DuckDB builds it natively) and a stored table's column names
  (duckdb-engine cannot reflect columns on DuckDB 2, so a zero-row probe reads them everywhere);
* a bulk-load strategy per engine (``bulk_loader``): DuckDB registers the DataFrame and inserts from
  it, psycopg streams COPY, any other engine uses executemany (correct, not fast);
* which driver exceptions mean "the database is down or being swapped" (``is_driver_error``).

tests/test_structure.py fails if a module outside this one names an engine or branches on the
dialect.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Table, and_, create_engine, event, exists, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

EMBEDDED_BACKENDS = frozenset({"duckdb"})
"""Engines whose database is one local file: written by copy and atomic swap (data_loaders.db)."""

# DuckDB's default memory limit is 80% of the machine; its buffer pool then keeps whatever it has
# read. A refresh or a full demo build needs far less: capped, it spills to disk rather than grow.
DUCKDB_CONFIG = {"memory_limit": "1GB"}

COPY_CHUNK_ROWS = 200_000
"""Rows per CSV chunk streamed to PostgreSQL COPY (bounds memory on large extracts)."""


# ------------------------------------------------------------------------------ URLs and engines
def backend(url: str) -> str:
    """The engine's name in a database URL (``duckdb``, ``postgresql``, ``sqlite``)."""
    return make_url(url).get_backend_name()


def default_database_url(data_dir: Path) -> str:
    """Where the app keeps its data when DATABASE_URL is not set: an embedded DuckDB file."""
    return f"duckdb:///{data_dir / 'bsol.duckdb'}"


def is_embedded(url: str) -> bool:
    """True for an embedded engine (one process writes; readers open the file read-only)."""
    return backend(url) in EMBEDDED_BACKENDS


def default_audit_url(database_url: str, data_dir: Path) -> str:
    """The audit log sits in the main database, except beside an embedded file: there it is a
    SQLite file (a DuckDB file admits one writer, and sign-ins must not wait for a load)."""
    if is_embedded(database_url):
        return f"sqlite:///{data_dir / 'audit.sqlite'}"
    return database_url


def database_file(url: str) -> Path | None:
    """The file behind an embedded URL, or None for other engines and in-memory databases."""
    if not is_embedded(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def file_url(url: str, path: Path) -> str:
    """The same engine's URL for another file (the working copy of a write)."""
    return make_url(url).set(database=str(path)).render_as_string(hide_password=False)


def _on_sqlite_connect(dbapi_conn: Any, _record: object) -> None:
    # WAL: readers never block the writer; busy_timeout: processes queue rather than fail.
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA busy_timeout=10000")


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine with the options its kind needs (no pooling for files; pre-ping for servers).

    An embedded file's reading engine hands out connections to one read-only opening of the file
    per process (``_OpenFile``), not a new opening per connection: opening a DuckDB file costs
    about 25 ms and starts with an empty buffer pool, which every page request paid.
    """
    name = backend(url)
    path = database_file(url)
    if name in EMBEDDED_BACKENDS and path is not None:
        file = path
        if read_only:
            return create_engine("duckdb:///:memory:", poolclass=NullPool, creator=lambda: _read_connection(file))
        engine = create_engine(url, poolclass=NullPool, connect_args={"config": dict(DUCKDB_CONFIG)})
        # DuckDB refuses a read-write opening of a file this process has open to read: a writer of
        # the file itself (not a load's working copy: tests, in-place tools) takes it back first.
        event.listen(engine, "do_connect", lambda *_args: close_reading(file))
        return engine
    if name == "sqlite":
        sqlite_file = make_url(url).database
        if sqlite_file:
            Path(sqlite_file).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, pool_pre_ping=True)


T = TypeVar("T")

READ_ALIAS = "bsol"
"""The catalogue name a read-only opening of the embedded file is attached under."""


class _OpenFile:
    """One embedded file, opened read-only once per process and shared by its readers.

    Why an in-memory instance with the file ATTACHed, not ``duckdb.connect(path)``: DuckDB keeps
    one instance per path in a process, so while any reader of a replaced file is still open, a new
    connect to the path returns that old instance and goes on reading the old file. Each opening
    here is its own instance: a load's swap (a new file: another inode, size or mtime) gets a new
    opening, and the old one is closed when its last reader has finished. A reader keeps reading the
    file its opening was made on, as one request must (data_loaders.db: copy and swap).
    """

    def __init__(self, path: Path, identity: tuple[int, ...]) -> None:
        import duckdb

        self.identity = identity
        self._lock = threading.Lock()
        self._readers = 0
        self._retired = False
        self.facts: dict[str, Any] = {}  # see read_once
        config: dict[str, Any] = {**DUCKDB_CONFIG, "temp_directory": f"{path}.read.tmp"}
        self._base = duckdb.connect(":memory:", config=config)
        try:
            self._base.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {READ_ALIAS} (READ_ONLY)")
        except BaseException:
            self._base.close()
            raise

    def connect(self) -> Any:
        with self._lock:
            cursor = self._base.cursor()
            self._readers += 1
        try:
            cursor.execute(f"USE {READ_ALIAS}")
        except BaseException:
            cursor.close()
            self.release()
            raise
        return _connection_wrapper()(cursor, self)

    def release(self) -> None:
        with self._lock:
            self._readers -= 1
            if self._retired and self._readers == 0:
                self._base.close()

    def retire(self) -> None:
        """Closed now if no reader is using it, else when its last reader closes."""
        with self._lock:
            self._retired = True
            if self._readers == 0:
                self._base.close()


@functools.cache
def _connection_wrapper() -> Any:
    from duckdb_engine import ConnectionWrapper

    class ReadConnection(ConnectionWrapper):
        """duckdb-engine's connection, telling its opening when it is closed."""

        def __init__(self, cursor: Any, opened: _OpenFile) -> None:
            super().__init__(cursor)
            self._opened: _OpenFile | None = opened

        def close(self) -> None:
            opened, self._opened = self._opened, None
            super().close()
            if opened is not None:
                opened.release()

    return ReadConnection


_OPEN_FILES: dict[Path, _OpenFile] = {}
_OPEN_FILES_LOCK = threading.Lock()


def close_reading(path: Path) -> None:
    """Retire this process's reading opening of `path` (closed once its readers have finished)."""
    with _OPEN_FILES_LOCK:
        opened = _OPEN_FILES.pop(path, None)
    if opened is not None:
        opened.retire()


def _read_connection(path: Path) -> Any:
    """A read-only DBAPI connection on the file as it is now (a new opening once it has changed)."""
    import duckdb

    try:
        stat = path.stat()
    except FileNotFoundError:
        stat = None
    with _OPEN_FILES_LOCK:
        opened = _OPEN_FILES.get(path)
        identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns) if stat else ()
        if opened is not None and opened.identity != identity:
            del _OPEN_FILES[path]
            opened.retire()
            opened = None
        if stat is None:
            raise duckdb.IOException(f'Cannot open database "{path}" in read-only mode: database does not exist')
        if opened is None:
            opened = _OPEN_FILES[path] = _OpenFile(path, identity)
        return opened.connect()


def flush_to_file(conn: Connection) -> None:
    """Before an embedded file is swapped in: write its WAL into the file (no-op for servers)."""
    if conn.dialect.name in EMBEDDED_BACKENDS:
        conn.exec_driver_sql("CHECKPOINT")


def snapshot(conn: Connection) -> Connection:
    """A reading connection that sees one snapshot for its whole life (a page request).

    DuckDB already does (a connection keeps the file it opened); PostgreSQL needs REPEATABLE READ.
    """
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def is_driver_error(error: BaseException) -> bool:
    """A driver's own error that means the database is down, missing or being swapped."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover
        return False
    return isinstance(error, (duckdb.IOException, duckdb.ConnectionException))


def read_once(conn: Connection, key: str, read: Callable[[Connection], T]) -> T:
    """`read(conn)`, worked out once per read-only opening of an embedded file; elsewhere each time.

    Why it is safe: an opening reads one file that nothing changes while it is open (a load writes a
    copy and swaps it in, which gets a new opening; an in-place writer retires the opening first).
    Why: every page request reads the data version, and reading it costs more than the cached
    answer it keys (about 5 ms against a fraction of one).
    """
    opened = getattr(conn.connection.dbapi_connection, "_opened", None)
    if not isinstance(opened, _OpenFile):
        return read(conn)
    if key not in opened.facts:
        opened.facts[key] = read(conn)
    return opened.facts[key]


def driver_connection(conn: Connection) -> Any:
    """The DBAPI driver's own connection object (duckdb.DuckDBPyConnection, psycopg.Connection)."""
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the database connection is closed")
    return raw


# ------------------------------------------------------------------------------ migrations
def register_migration_engines() -> None:
    """Alembic knows PostgreSQL and SQLite; DuckDB needs an implementation class named for it
    (its DDL is PostgreSQL-like, so Alembic's default one serves)."""
    from alembic.ddl.impl import DefaultImpl, _impls

    if "duckdb" not in _impls:  # defining the subclass registers it under its __dialect__
        type("DuckDBImpl", (DefaultImpl,), {"__dialect__": "duckdb", "transactional_ddl": True})


def needs_batch_alter(conn: Connection) -> bool:
    """SQLite cannot ALTER most column properties: Alembic rebuilds the table (batch mode) there."""
    return conn.dialect.name == "sqlite"


# ------------------------------------------------------------------------------ SQL that differs
class add_months(FunctionElement):  # noqa: N801 (used like a SQL function)
    """``col + n calendar months``, clipped to month end (31 Aug - 6 months = 29 Feb), keeping the
    column's type. ``months`` is an int rendered literally (never user text)."""

    inherit_cache = True

    def __init__(self, col: sa.ColumnElement, months: int) -> None:
        self.months = int(months)
        self.type = col.type
        super().__init__(col)

    def _gen_cache_key(self, anon_map: Any, bindparams: list) -> tuple:  # months is part of the SQL
        return (*super()._gen_cache_key(anon_map, bindparams), self.months)


@compiles(add_months)
def _add_months_interval(element: add_months, compiler: SQLCompiler, **kw: Any) -> str:
    """DuckDB and PostgreSQL: interval arithmetic (same month-end clipping as pandas DateOffset)."""
    col = compiler.process(list(element.clauses)[0], **kw)
    sign = "-" if element.months < 0 else "+"
    return f"{col} {sign} INTERVAL '{abs(element.months)} months'"


ENGINE_MEMORY_BY_PHASE = {"refreshing": "500MB", "combining": "256MB"}
"""DuckDB's memory limit during a refresh's phases. Refreshing (the whole refresh: scans, writes,
pre/post and data-quality queries): the aggregates spill beyond it rather than grow. At full size
the process peaked at 1.40 GB with 600 MB and 1.32 GB with 500 MB, no slower than with 1 GB;
pre/post's queries under the configured 1 GB had taken it to 1.77 GB. Combining: pandas holds the
fetched frames and DuckDB only answers small queries (lowering the limit evicts cached blocks)."""

_PHASES_KEY = "engine_memory_phases"


@contextmanager
def engine_memory_for(conn: Connection, phase: str) -> Iterator[None]:
    """DuckDB's memory limit for one phase of a refresh (ENGINE_MEMORY_BY_PHASE); on leaving it,
    the enclosing phase's limit again, or DUCKDB_CONFIG's, which every engine here opens with
    (DuckDB reports the limit rounded, so it is not read back: the phases are kept on the
    connection). Lowering the limit also evicts the table blocks DuckDB has cached in this
    process. PostgreSQL's memory is the server's, not ours: nothing to do."""
    if conn.dialect.name != "duckdb":
        yield
        return
    phases: list[str] = conn.info.setdefault(_PHASES_KEY, [])
    phases.append(ENGINE_MEMORY_BY_PHASE[phase])
    conn.exec_driver_sql(f"SET memory_limit = '{phases[-1]}'")
    try:
        yield
    finally:
        phases.pop()
        conn.exec_driver_sql(f"SET memory_limit = '{phases[-1] if phases else DUCKDB_CONFIG['memory_limit']}'")


# ------------------------------------------------------------------------------ reading
def fetch_frame(conn: Connection, stmt: Any) -> pd.DataFrame:
    """Run a query and build its frame column by column (never from per-row Python objects)."""
    result = conn.execute(stmt)
    try:
        if conn.dialect.name == "duckdb":
            return result.cursor.fetch_df()
        return pd.DataFrame.from_records(result.cursor.fetchall(), columns=list(result.keys()))
    finally:
        result.close()


def stored_columns(conn: Connection, table_name: str) -> set[str] | None:
    """The column names of a stored table, or None when it does not exist.

    A zero-row probe rather than reflection: duckdb-engine's get_columns fails on DuckDB 2. Checked
    up front rather than by catching an error, which would abort the caller's PostgreSQL transaction.
    """
    if not sa.inspect(conn).has_table(table_name):
        return None
    probe = select(sa.text("*")).select_from(sa.table(table_name)).limit(0)
    return set(conn.execute(probe).keys())


# ------------------------------------------------------------------------------ bulk loading
def _stage_name() -> str:
    return f"_bsol_stage_{uuid.uuid4().hex[:12]}"


def _delete_slice(conn: Connection, table: Table, keys: sa.FromClause, columns: Sequence[str]) -> None:
    """DELETE rows of `table` whose `columns` values occur in `keys` (a semi-join; no literals)."""
    match = and_(*(keys.c[c] == table.c[c] for c in columns))
    conn.execute(sa.delete(table).where(exists(select(sa.literal(1)).select_from(keys).where(match))))


def _records(table: Table, frame: pd.DataFrame) -> list[dict[str, object]]:
    """DataFrame rows as DB-API values: NULL for missing, dates and datetimes as Python objects."""
    out = frame.astype(object).where(frame.notna(), None)
    for col in out.columns:
        kind = table.c[col].type if col in table.c else None
        if isinstance(kind, sa.DateTime):
            out[col] = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in out[col]]
        elif isinstance(kind, sa.Date):
            out[col] = [v.date() if isinstance(v, pd.Timestamp) else v for v in out[col]]
    return out.to_dict("records")


class BulkLoader:
    """Any engine: executemany (correct, not fast). Subclasses are the fast paths."""

    def insert_frame(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        """Insert every row of `frame` (columns named as the table's) in the caller's transaction."""
        if len(frame):
            conn.execute(insert(table), _records(table, frame))

    def replace_slice(self, conn: Connection, table: Table, frame: pd.DataFrame, keys: Sequence[str]) -> None:
        """Delete the rows whose `keys` values occur in `frame`, then insert `frame`: a temporary
        keys table, a semi-join delete, then the rows."""
        columns = list(keys)
        stage = Table(_stage_name(), sa.MetaData(), *(sa.Column(c, table.c[c].type) for c in columns),
                      prefixes=["TEMPORARY"])
        stage.create(conn)
        try:
            self.insert_frame(conn, stage, frame[columns].drop_duplicates())
            _delete_slice(conn, table, stage, columns)
        finally:
            stage.drop(conn)
        self.insert_frame(conn, table, frame)


class DuckDBLoader(BulkLoader):
    """Register the DataFrame on the raw DuckDB connection and INSERT ... SELECT from it."""

    def _staged(self, conn: Connection, table: Table, frame: pd.DataFrame) -> tuple[str, sa.Subquery]:
        view = _stage_name()
        driver_connection(conn).register(view, frame)
        cols = list(frame.columns)
        stage = sa.table(view, *(sa.column(c) for c in cols))
        return view, select(*(sa.cast(stage.c[c], table.c[c].type).label(c) for c in cols)).subquery("s")

    def insert_frame(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        view, typed = self._staged(conn, table, frame)
        try:
            conn.execute(insert(table).from_select(list(frame.columns), select(*typed.c)))
        finally:
            driver_connection(conn).unregister(view)

    def replace_slice(self, conn: Connection, table: Table, frame: pd.DataFrame, keys: Sequence[str]) -> None:
        view, typed = self._staged(conn, table, frame)
        try:
            _delete_slice(conn, table, typed, keys)
            conn.execute(insert(table).from_select(list(frame.columns), select(*typed.c)))
        finally:
            driver_connection(conn).unregister(view)


def _csv_chunks(frame: pd.DataFrame) -> Iterable[str]:
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        yield frame.iloc[start:start + COPY_CHUNK_ROWS].to_csv(header=False, index=False, na_rep="")


class CopyLoader(BulkLoader):
    """PostgreSQL through psycopg 3: COPY FROM STDIN in CSV format (empty unquoted field = NULL)."""

    def insert_frame(self, conn: Connection, table: Table, frame: pd.DataFrame) -> None:
        prep = conn.dialect.identifier_preparer
        cols = ", ".join(prep.quote(c) for c in frame.columns)
        statement = f"COPY {prep.format_table(table)} ({cols}) FROM STDIN (FORMAT csv)"
        raw = driver_connection(conn)
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for chunk in _csv_chunks(frame):
                copy.write(chunk)


def bulk_loader(conn: Connection) -> BulkLoader:
    """The fastest correct way to load a DataFrame on this connection's engine."""
    if conn.dialect.name == "duckdb":
        return DuckDBLoader()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        return CopyLoader()
    return BulkLoader()
