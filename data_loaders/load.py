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
from typing import Any, NoReturn

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Table, insert, select

from data_loaders.db import database_file, read_engine, write_transaction
from data_loaders.dialect import bulk_loader
from data_loaders.extracts import Extract, get_extract
from data_loaders.integrity import Incoming, check_links, check_overlaps, missing_required
from data_loaders.readers import FORMATS, check_file_size, read_extract
from data_loaders.tables import EXTRACT_TABLES, dataset_info, load_log
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
class FrameHash:
    """Content hash of a generated frame, fed whole or a part at a time (the same digest either
    way: rows are hashed one by one); stands in for the file hash in load_log."""

    def __init__(self) -> None:
        self._digest: Any = None

    def update(self, frame: pd.DataFrame) -> None:
        if self._digest is None:
            self._digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
        self._digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())

    def hexdigest(self) -> str:
        return (self._digest or hashlib.sha256()).hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = FrameHash()
    digest.update(frame)
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
    frames: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
    file_names: Mapping[str, str] | None = None,
    hashes: Mapping[str, str] | None = None,
    progress: bool | Progress | None = None,
) -> list[LoadRecord]:
    """Replace each extract's slice with its frame and log it, inside the caller's transaction.

    `frames` maps extract name -> typed frame (validate.validate_frame output, or generated data
    with the catalogue's columns), or its parts (validate.validate_parts, consumed as they come:
    disjoint slices, loaded in turn and logged as one load). `file_names`/`hashes` default to "<extract> (generated)" and a
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

        sized = all(isinstance(f, pd.DataFrame) for f in frames.values())
        bar = tqdm(total=sum(len(f) for f in frames.values() if isinstance(f, pd.DataFrame)) if sized else None,
                   unit="row", unit_scale=True, desc="loading", file=sys.stderr)
    records: list[LoadRecord] = []
    try:
        for name, raw in frames.items():
            extract = get_extract(name)
            table = EXTRACT_TABLES[name]
            digest, rows = FrameHash(), 0
            for part in [raw] if isinstance(raw, pd.DataFrame) else raw:
                prepared = _prepare(extract, part)
                del part
                _replace_and_insert(conn, extract, table, prepared)
                if name not in hashes:
                    digest.update(prepared)
                rows += len(prepared)
                del prepared
            record = LoadRecord(
                load_id=str(uuid.uuid4()),
                loaded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                extract=name,
                file_name=file_names.get(name, f"{name} (generated)"),
                sha256=hashes.get(name) or digest.hexdigest(),
                rows=rows,
            )
            conn.execute(insert(load_log).values(
                load_id=record.load_id, loaded_at=record.loaded_at, extract=record.extract,
                file_name=record.file_name, sha256=record.sha256, rows=record.rows,
                outcome=record.outcome, message=None,
            ))
            records.append(record)
            if bar is not None:
                bar.update(record.rows)
            elif callable(progress):
                progress(name, record.rows)
    finally:
        if bar is not None:
            bar.close()
    return records


def _replace_and_insert(conn: Connection, extract: Extract, table: Table, frame: pd.DataFrame) -> None:
    """Replace the extract's slice (rows sharing its replace keys) with the frame: per engine,
    data_loaders.dialect.bulk_loader (DuckDB registers the frame, PostgreSQL streams COPY)."""
    bulk_loader(conn).replace_slice(conn, table, frame, extract.replace_columns)


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
    *,
    data_dir: Path,
    required: Sequence[str] = (),
    source_ends: Mapping[str, dt.date | None] | None = None,
) -> list[LoadRecord]:
    """Validate every file, then load them all in one transaction, or reject them all.

    `extract` names the extract for every file (otherwise each file name says). Files are loaded
    in the order given; two files of one extract that share a key or period are rejected. Shipped
    reference data is installed first (and refreshed when the app's copy changed). `required`
    names extracts that must have rows afterwards (the results refresh needs them).
    `source_ends` declares extracts' own data ends (see `parse_source_end`; None clears one), stored
    in the same transaction so the refresh that follows already uses them.
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
            declare_source_ends(conn, source_ends or {})
            if after_load is not None:
                after_load(conn)
    except _Rejected:
        _reject(to_load, load_level, data_dir)
    return records


SOURCE_END_PREFIX = "data_end."


def parse_source_end(text: str, today: dt.date | None = None) -> tuple[str, dt.date | None]:
    """`EXTRACT=YYYY-MM-DD` (or `EXTRACT=none` to clear) -> (extract, date or None).

    Why: a lagging extract (UCR, say, two months behind the GP spine) must not have its missing
    months counted as zero; its data team says where it ends. Raises ValueError naming the reason.
    """
    from data_loaders.calendar import DATA_START

    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise ValueError(f"{text!r}: expected EXTRACT=YYYY-MM-DD (or EXTRACT=none), e.g. ucr_referral=2025-01-31")
    try:
        extract = get_extract(name)
    except KeyError as error:
        raise ValueError(f"{text!r}: {error.args[0]}") from None
    if extract.kind == "reference":
        raise ValueError(f"{text!r}: {name} is reference data, which has no data end")
    if value.lower() == "none":
        return name, None
    try:
        end = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r}: {value!r} is not a date written YYYY-MM-DD") from None
    today = today or dt.date.today()
    if not DATA_START <= end <= today:
        raise ValueError(f"{text!r}: the data end must be between {DATA_START} and today ({today})")
    return name, end


def declare_source_ends(conn: Connection, ends: Mapping[str, dt.date | None]) -> None:
    """Store (or clear) extracts' declared data ends as dataset_info `data_end.<extract>`."""
    for name, end in ends.items():
        key = SOURCE_END_PREFIX + name
        conn.execute(sa.delete(dataset_info).where(dataset_info.c.key == key))
        if end is not None:
            conn.execute(insert(dataset_info).values(key=key, value=end.isoformat()))


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


def _reject(checked: Sequence[_Checked], load_level: Sequence[Problem], data_dir: Path) -> NoReturn:
    """Record the rejection outside the database and raise the error listing every problem."""
    bad = [c for c in checked if c.problems]
    if load_level:
        bad.append(_Checked(Path(LOAD_LEVEL), "", None, None, Problems(items=list(load_level), total=len(load_level))))
    _record_rejections(bad, data_dir)
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
    path = database_file(url)
    if path is not None and not path.exists():
        return pd.DataFrame(columns=LOAD_LOG_COLUMNS)
    if conn is None:
        with read_engine(url).connect() as own:
            return read_load_log(url, own)
    if not sa.inspect(conn).has_table(load_log.name):
        return pd.DataFrame(columns=LOAD_LOG_COLUMNS)
    rows = conn.execute(select(load_log).order_by(load_log.c.loaded_at.desc())).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=LOAD_LOG_COLUMNS)


def read_rejections(data_dir: Path) -> list[dict[str, object]]:
    """Rejected load attempts, newest first (lines that are not valid JSON are skipped)."""
    path = data_dir / REJECTIONS_FILE
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

