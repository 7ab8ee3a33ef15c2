"""Validated, atomic, idempotent loads, and the record of what landed (load_log) or was rejected.

`load_files` reads and validates every file before touching the database, then, inside the write
transaction and before writing a row, installs the shipped reference data (reference.py), checks
the declared `reject` relationships against the database and the rest of the load
(integrity.py) and that every `required` extract has rows: one problem anywhere rejects the whole
load, the rejection goes to `<data_dir>/rejected-loads.jsonl` (never the
database, so a DuckDB file stays byte-for-byte unchanged) and ExtractValidationError lists every
problem. A clean load runs in one `write_transaction`: each file replaces the slice of its table
named by `Extract.replace_columns` (rows whose values of those columns occur in the file), so
loading the same file twice leaves the same rows, then `after_load(conn)` (the CLI's results
refresh) runs in the same transaction.

Bulk inserts use each engine's fast path: DuckDB scans the registered DataFrame
(`INSERT ... SELECT`), PostgreSQL takes `COPY ... FROM STDIN`; other engines get executemany.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Table, and_, exists, insert, select

from data_loaders.db import duckdb_path, read_engine, write_transaction
from data_loaders.dialect import driver_connection
from data_loaders.extracts import Extract, get_extract
from data_loaders.integrity import Incoming, check_links, check_overlaps, missing_required
from data_loaders.readers import FORMATS, check_file_size, read_extract
from data_loaders.settings import load_settings
from data_loaders.tables import EXTRACT_TABLES, load_log
from data_loaders.validate import (
    DTYPES,
    MAX_PROBLEMS,
    ExtractValidationError,
    Problem,
    Problems,
    row_numbers,
    validate_frame,
)

REJECTIONS_FILE = "rejected-loads.jsonl"
COPY_CHUNK_ROWS = 200_000
REJECTION_SAMPLE = 20  # problems kept per file in rejected-loads.jsonl
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class LoadRecord:
    """One file (or generated frame) that landed; mirrors its load_log row."""

    load_id: str
    loaded_at: dt.datetime
    extract: str
    file_name: str
    sha256: str
    rows: int
    outcome: str = "loaded"


# ----------------------------------------------------------------------------- frames
def frame_sha256(frame: pd.DataFrame) -> str:
    """Content hash of a generated frame (stands in for the file hash in load_log)."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _prepare(extract: Extract, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in catalogue order with the catalogue's dtypes; anything else is a caller bug."""
    expected = list(extract.column_names)
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise ValueError(f"{extract.name}: frame columns do not match the catalogue "
                         f"(missing: {missing or 'none'}; unexpected: {extra or 'none'})")
    out = frame[expected].reset_index(drop=True)
    for col in extract.columns:
        want = DTYPES[col.kind]
        if str(out[col.name].dtype) != want:
            out[col.name] = out[col.name].astype(want)
    return out


def load_frames(
    conn: Connection,
    frames: Mapping[str, pd.DataFrame],
    file_names: Mapping[str, str] | None = None,
    hashes: Mapping[str, str] | None = None,
    progress: bool | Progress | None = None,
) -> list[LoadRecord]:
    """Replace each extract's slice with its frame and log it, inside the caller's transaction.

    `frames` maps extract name -> typed frame (validate.validate_frame output, or generated data
    with the catalogue's columns). `file_names`/`hashes` default to "<extract> (generated)" and a
    hash of the frame. `progress`: True for a tqdm bar on stderr, or a callable(extract, rows).
    """
    file_names = file_names or {}
    hashes = hashes or {}
    tables = [EXTRACT_TABLES[get_extract(name).name] for name in frames]
    for table in (*tables, load_log):
        table.create(conn, checkfirst=True)
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(f) for f in frames.values()), unit="row", unit_scale=True,
                   desc="loading", file=sys.stderr)
    records: list[LoadRecord] = []
    try:
        for name, raw in frames.items():
            extract = get_extract(name)
            table = EXTRACT_TABLES[name]
            frame = _prepare(extract, raw)
            _replace_and_insert(conn, extract, table, frame)
            record = LoadRecord(
                load_id=str(uuid.uuid4()),
                loaded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                extract=name,
                file_name=file_names.get(name, f"{name} (generated)"),
                sha256=hashes.get(name) or frame_sha256(frame),
                rows=len(frame),
            )
            conn.execute(insert(load_log).values(
                load_id=record.load_id, loaded_at=record.loaded_at, extract=record.extract,
                file_name=record.file_name, sha256=record.sha256, rows=record.rows,
                outcome=record.outcome, message=None,
            ))
            records.append(record)
            if bar is not None:
                bar.update(len(frame))
            elif callable(progress):
                progress(name, len(frame))
    finally:
        if bar is not None:
            bar.close()
    return records


def _replace_and_insert(conn: Connection, extract: Extract, table: Table, frame: pd.DataFrame) -> None:
    dialect = conn.dialect.name
    if dialect == "duckdb":
        _load_duckdb(conn, extract, table, frame)
    elif dialect == "postgresql" and conn.dialect.driver == "psycopg":
        _load_postgres(conn, extract, table, frame)
    else:
        _load_generic(conn, extract, table, frame)


def _delete_slice(conn: Connection, table: Table, keys: sa.FromClause, columns: Sequence[str]) -> None:
    """DELETE rows of `table` whose `columns` values occur in `keys` (a semi-join; no literals)."""
    match = and_(*(keys.c[c] == table.c[c] for c in columns))
    conn.execute(sa.delete(table).where(exists(select(sa.literal(1)).select_from(keys).where(match))))


def _stage_name() -> str:
    return f"_bsol_stage_{uuid.uuid4().hex[:12]}"


def _load_duckdb(conn: Connection, extract: Extract, table: Table, frame: pd.DataFrame) -> None:
    """Register the DataFrame on the raw DuckDB connection and INSERT ... SELECT from it."""
    raw = driver_connection(conn)
    view = _stage_name()
    raw.register(view, frame)
    try:
        cols = list(extract.column_names)
        stage = sa.table(view, *(sa.column(c) for c in cols))
        typed = select(*(sa.cast(stage.c[c], table.c[c].type).label(c) for c in cols)).subquery("s")
        _delete_slice(conn, table, typed, extract.replace_columns)
        conn.execute(insert(table).from_select(cols, select(*(typed.c[c] for c in cols))))
    finally:
        raw.unregister(view)


def _csv_chunks(frame: pd.DataFrame) -> Iterable[str]:
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        yield frame.iloc[start:start + COPY_CHUNK_ROWS].to_csv(header=False, index=False, na_rep="")


def _copy(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """psycopg3 COPY FROM STDIN in CSV format (empty unquoted field = NULL)."""
    prep = conn.dialect.identifier_preparer
    cols = ", ".join(prep.quote(c) for c in frame.columns)
    statement = f"COPY {prep.format_table(table)} ({cols}) FROM STDIN (FORMAT csv)"
    raw = driver_connection(conn)
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for chunk in _csv_chunks(frame):
            copy.write(chunk)


def _temp_keys_table(conn: Connection, table: Table, columns: Sequence[str]) -> Table:
    stage = Table(_stage_name(), sa.MetaData(), *(sa.Column(c, table.c[c].type) for c in columns),
                  prefixes=["TEMPORARY"])
    stage.create(conn)
    return stage


def _load_postgres(conn: Connection, extract: Extract, table: Table, frame: pd.DataFrame) -> None:
    """COPY the distinct replace keys into a temp table, delete that slice, COPY the rows in."""
    columns = list(extract.replace_columns)
    stage = _temp_keys_table(conn, table, columns)
    try:
        _copy(conn, stage, frame[columns].drop_duplicates())
        _delete_slice(conn, table, stage, columns)
    finally:
        stage.drop(conn)
    _copy(conn, table, frame)


def _records(frame: pd.DataFrame, extract: Extract) -> list[dict[str, object]]:
    out = frame.astype(object).where(frame.notna(), None)
    for col in extract.columns:
        if col.kind == "date" and col.name in out:
            out[col.name] = [v.date() if v is not None else None for v in out[col.name]]
        elif col.kind == "datetime" and col.name in out:
            out[col.name] = [v.to_pydatetime() if v is not None else None for v in out[col.name]]
    return out.to_dict("records")


def _load_generic(conn: Connection, extract: Extract, table: Table, frame: pd.DataFrame) -> None:
    """Any other engine: temp keys table + executemany (correct, not fast)."""
    columns = list(extract.replace_columns)
    stage = _temp_keys_table(conn, table, columns)
    try:
        keys = frame[columns].drop_duplicates()
        if len(keys):
            conn.execute(insert(stage), _records(keys, extract))
        _delete_slice(conn, table, stage, columns)
    finally:
        stage.drop(conn)
    if len(frame):
        conn.execute(insert(table), _records(frame, extract))


# ----------------------------------------------------------------------------- files
def expand_paths(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    """Files as given; a directory stands for its .csv/.xlsx/.parquet files (sorted)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS))
        else:
            out.append(p)
    return out


@dataclass
class _Checked:
    path: Path
    sha256: str
    extract: str | None
    frame: pd.DataFrame | None
    problems: Problems
    rows: pd.Index | None = None  # the row numbers a person sees, aligned with `frame`
    shipped_copy: bool = False  # an unchanged copy of shipped reference data: installed, not loaded


LOAD_LEVEL = "(this load)"
"""The `file` of a problem that belongs to the load as a whole (a missing required extract)."""


class _Rejected(Exception):
    """Raised inside the write transaction so it rolls back; load_files turns it into the public error."""


def _check_shipped(c: _Checked) -> None:
    """A shipped extract in a load must be an unchanged copy; the app installs its own."""
    from data_loaders import reference

    if c.extract is None or not get_extract(c.extract).shipped:
        return
    if c.sha256 == reference.shipped_sha256(c.extract):
        c.shipped_copy = True
        return
    c.problems.add(Problem(
        c.path.name, None, None,
        f"{c.extract} is reference data shipped with the app and installed on every load from "
        f"data_loaders/reference/{c.extract}.csv; this file differs from it. Leave it out of the load, "
        "or change the shipped file (see data_loaders/reference/README.md)"))


def _check_file(path: Path, extract: str | None) -> _Checked:
    problems = Problems()
    try:
        check_file_size(path)  # before reading it into memory
        data = path.read_bytes()
    except ExtractValidationError as e:  # too large to read into memory: hashed as a stream for the record
        problems.extend(Problems(items=list(e.problems), total=e.total))
        with open(path, "rb") as handle:
            return _Checked(path, hashlib.file_digest(handle, "sha256").hexdigest(), extract, None, problems)
    except OSError as e:
        problems.add(Problem(path.name, None, None, f"cannot read the file: {e.strerror or e}"))
        return _Checked(path, "", extract, None, problems)
    sha = hashlib.sha256(data).hexdigest()
    try:
        raw = read_extract(path, extract, data)
    except ExtractValidationError as e:
        problems.extend(Problems(items=list(e.problems), total=e.total))
        return _Checked(path, sha, extract, None, problems)
    typed, problems = validate_frame(raw.extract, raw.frame, raw.file_name)
    checked = _Checked(path, sha, raw.extract.name, typed, problems, row_numbers(raw.frame))
    _check_shipped(checked)
    return checked


def load_files(
    url: str,
    paths: Iterable[str | Path] | str | Path,
    extract: str | None = None,
    progress: bool = True,
    after_load: Callable[[Connection], object] | None = None,
    data_dir: Path | None = None,
    required: Sequence[str] = (),
) -> list[LoadRecord]:
    """Validate every file, then load them all in one transaction, or reject them all.

    `extract` names the extract for every file (otherwise each file name says). Files are loaded
    in the order given; two files of one extract that share a key or period are rejected. Shipped
    reference data is installed first (and refreshed when the app's copy changed). `required`
    names extracts that must have rows afterwards (the results refresh needs them).
    Raises ExtractValidationError (database untouched) if any file has any problem.
    """
    from data_loaders.reference import install_reference

    files = expand_paths(paths)
    if not files:
        raise ValueError("no files to load")
    from tqdm import tqdm

    checked = [
        _check_file(p, extract)
        for p in tqdm(files, desc="validating", unit="file", file=sys.stderr, disable=not progress)
    ]
    if any(c.problems for c in checked):
        _reject(checked, [], data_dir)
    to_load = [c for c in checked if not c.shipped_copy]
    records: list[LoadRecord] = []
    load_level: list[Problem] = []
    try:
        with write_transaction(url) as conn:
            records += install_reference(conn)
            _cross_check(conn, to_load, required, load_level)
            if load_level or any(c.problems for c in to_load):
                raise _Rejected
            for c in tqdm(to_load, desc="loading", unit="file", file=sys.stderr, disable=not progress):
                assert c.extract is not None and c.frame is not None
                records += load_frames(conn, {c.extract: c.frame}, {c.extract: c.path.name}, {c.extract: c.sha256})
            if after_load is not None:
                after_load(conn)
    except _Rejected:
        _reject(to_load, load_level, data_dir)
    return records


def _cross_check(conn: Connection, checked: Sequence[_Checked], required: Sequence[str],
                 load_level: list[Problem]) -> None:
    """Declared relationships (per file) and required extracts (for the load) against the database + load."""
    incoming = [Incoming(c.path.name, c.extract, c.frame, c.rows) for c in checked
                if c.extract is not None and c.frame is not None and c.rows is not None]
    for by_file in (check_overlaps(incoming), check_links(conn, incoming)):
        for c in checked:
            if c.path.name in by_file:
                c.problems.extend(by_file[c.path.name])
    loading: dict[str, int] = {}
    for item in incoming:
        loading[item.extract] = loading.get(item.extract, 0) + len(item.frame)
    for name in missing_required(conn, required, loading):
        ex = get_extract(name)
        load_level.append(Problem(
            LOAD_LEVEL, None, None,
            f"missing required extract {name} ({ex.title}): the database has no {name} rows and this load "
            f"has no {name} file; add {name}.csv (or .xlsx / .parquet; format in docs/data-dictionary.md)"))


def _reject(checked: Sequence[_Checked], load_level: Sequence[Problem], data_dir: Path | None) -> NoReturn:
    """Record the rejection outside the database and raise the error listing every problem."""
    bad = [c for c in checked if c.problems]
    if load_level:
        bad.append(_Checked(Path(LOAD_LEVEL), "", None, None, Problems(items=list(load_level), total=len(load_level))))
    _record_rejections(bad, data_dir or load_settings().data_dir)
    everything = Problems(limit=MAX_PROBLEMS)
    for c in bad:
        everything.extend(c.problems)
    raise ExtractValidationError(everything)


def _record_rejections(bad: Sequence[_Checked], data_dir: Path) -> None:
    """Append one JSON line per rejected file (outside the database, which stays unchanged)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with open(data_dir / REJECTIONS_FILE, "a", encoding="utf-8") as out:
        for c in bad:
            entry = {
                "time": now,
                "file": c.path.name,
                "path": "" if c.path.name == LOAD_LEVEL else str(c.path.resolve()),
                "extract": c.extract,
                "sha256": c.sha256,
                "problems": c.problems.total,
                "first_problems": [p.as_dict() for p in c.problems.items[:REJECTION_SAMPLE]],
            }
            out.write(json.dumps(entry) + "\n")


# ----------------------------------------------------------------------------- reading back
LOAD_LOG_COLUMNS = [c.name for c in load_log.columns]


def read_load_log(url: str, conn: Connection | None = None) -> pd.DataFrame:
    """Every load that landed, newest first (empty frame when there is no database yet).
    `conn`: read on this connection (a page's one per-request connection) instead of a new one."""
    path = duckdb_path(url)
    if path is not None and not path.exists():
        return pd.DataFrame(columns=LOAD_LOG_COLUMNS)
    if conn is None:
        with read_engine(url).connect() as own:
            return read_load_log(url, own)
    if not sa.inspect(conn).has_table(load_log.name):
        return pd.DataFrame(columns=LOAD_LOG_COLUMNS)
    rows = conn.execute(select(load_log).order_by(load_log.c.loaded_at.desc())).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=LOAD_LOG_COLUMNS)


def read_rejections(data_dir: Path | None = None) -> list[dict[str, object]]:
    """Rejected load attempts, newest first (lines that are not valid JSON are skipped)."""
    path = (data_dir or load_settings().data_dir) / REJECTIONS_FILE
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries[::-1]

