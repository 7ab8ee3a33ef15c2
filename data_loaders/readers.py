"""Read CSV, XLSX and Parquet extracts into frames of text, ready for validation.

Everything is read as text ("" = missing) so validation can name the exact cell that is wrong
rather than failing on the first unparseable value. The frame index is the row number a person
sees (see validate.py). A file that cannot be read as a table at all raises
ExtractValidationError with one file-level Problem, so load.py reports it like any other problem.

The extract is named by the file: `<extract>.csv`, `<extract>__<anything>.csv` or
`<extract>-<anything>.csv` (e.g. `inpatient_spell-2024-05.csv`); the longest matching extract
name wins. Callers can also name the extract explicitly.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data_loaders.extracts import EXTRACTS_BY_NAME, Extract, get_extract
from data_loaders.validate import ROW_INDEX_NAME, ExtractValidationError, Problem

MAX_CELL_CHARS = 10_000
# Bounds on what one file may make us read, so a broken or hostile file (a compressed "bomb") is
# refused in seconds with a clear message instead of filling memory for minutes.
MAX_FILE_BYTES = 4 * 2**30  # on disk
MAX_UNCOMPRESSED_BYTES = 4 * 2**30  # an XLSX's contents once unzipped
MAX_COMPRESSION_RATIO = 100  # an XLSX part over BOMB_MIN_BYTES unzipped that shrank more than this is refused
BOMB_MIN_BYTES = 10 * 2**20
MAX_ROWS = 50_000_000
XLSX_MAX_ROWS = 1_048_576  # Excel's own sheet limit: no workbook Excel wrote has more
MAX_CELLS = 500_000_000  # rows x columns
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
SEPARATORS = ("__", "-")

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook? name it .xlsx)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\xd0\xcf\x11\xe0", "an old-style .xls/.doc file (save it as .xlsx or CSV UTF-8)"),
    (b"\x1f\x8b", "a gzip archive"),
)


@dataclass(frozen=True)
class RawExtract:
    """A file read as text: which extract it is, its cells, and the hash of its bytes."""

    extract: Extract
    frame: pd.DataFrame
    file_name: str
    sha256: str


def _fail(file: str, reason: str, row: int | None = None, column: str | None = None) -> ExtractValidationError:
    return ExtractValidationError([Problem(file, row, column, reason)])


def check_file_size(path: Path, size: int | None = None) -> None:
    """Refuse a file over MAX_FILE_BYTES before reading it."""
    size = path.stat().st_size if size is None else size
    if size > MAX_FILE_BYTES:
        raise _fail(path.name, f"the file is {_size(size)}; at most {_size(MAX_FILE_BYTES)} can be loaded at once: "
                    "split it (e.g. one file per month)")


def _size(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,.0f} bytes"


def check_shape(frame: pd.DataFrame, file: str) -> None:
    max_rows = MAX_ROWS
    if len(frame) > max_rows:
        raise _fail(file, f"the file has more than {max_rows:,} rows: split it (e.g. one file per month)")
    if len(frame) * max(len(frame.columns), 1) > MAX_CELLS:
        raise _fail(file, f"the file has {len(frame) * len(frame.columns):,} cells; at most {MAX_CELLS:,}: split it")


def identify_extract(path: str | Path) -> Extract:
    """The extract a file name declares (longest matching extract name wins)."""
    path = Path(path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    lowered = stem.lower()
    matches = [
        name for name in EXTRACTS_BY_NAME
        if lowered == name or any(lowered.startswith(name + sep) for sep in SEPARATORS)
    ]
    if not matches:
        known = ", ".join(sorted(EXTRACTS_BY_NAME))
        raise _fail(path.name, "cannot tell which extract this is from its name: name it "
                    f"<extract>.csv, <extract>__<anything>.csv or <extract>-<anything>.csv "
                    f"(also .xlsx, .parquet); known extracts: {known}")
    return EXTRACTS_BY_NAME[max(matches, key=len)]


def file_format(path: str | Path) -> str:
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _fail(path.name, f"unsupported file type {path.suffix or '(none)'!r}: "
                    "use .csv (UTF-8), .xlsx or .parquet")
    return fmt


def read_extract(path: str | Path, extract: str | Extract | None = None,
                 data: bytes | None = None) -> RawExtract:
    """Read one file as text cells. `data` (the file's bytes) saves reading it twice."""
    path = Path(path)
    name = path.name
    if extract is None:
        ex = identify_extract(path)
    elif isinstance(extract, str):
        try:
            ex = get_extract(extract)
        except KeyError as e:
            raise _fail(name, str(e.args[0])) from None
    else:
        ex = extract
    fmt = file_format(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise _fail(name, f"cannot read the file: {e.strerror or e}") from None
    check_file_size(path, len(data))
    if not data.strip():
        raise _fail(name, "the file is empty")
    reader = {"csv": read_csv_bytes, "xlsx": read_xlsx_bytes, "parquet": read_parquet_bytes}[fmt]
    frame = reader(data, name, ex)
    check_shape(frame, name)
    check_cell_sizes(frame, name)
    return RawExtract(ex, frame, name, hashlib.sha256(data).hexdigest())


# ----------------------------------------------------------------------------- CSV
def _decode(data: bytes, file: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(file, "not UTF-8 text: it is UTF-16 (byte-order mark at byte 0); "
                    "save it as 'CSV UTF-8'")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _fail(file, f"not a CSV text file: it looks like {what}")
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        hint = "binary data, not a table" if nul >= 0 else "save it as 'CSV UTF-8'"
        raise _fail(file, f"not UTF-8 text at byte {start} (line {line}): {hint}") from None
    if nul >= 0:
        hint = "UTF-16 text? save it as 'CSV UTF-8'" if data.count(b"\x00") * 3 >= len(data) else "binary data, not a table"
        raise _fail(file, f"not UTF-8 text at byte {nul} (NUL byte; {hint})")
    return text


def read_csv_bytes(data: bytes, file: str, extract: Extract | None = None) -> pd.DataFrame:
    """Parse UTF-8 CSV bytes into text cells indexed by line number (header = line 1)."""
    text = _decode(data, file)
    try:
        header = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error) as e:
        raise _fail(file, f"not a readable CSV table: {e or 'no header row'}") from None
    names = [h.strip() for h in header]
    if not any(names):
        raise _fail(file, "the first line is empty: it must be the header row of column names")
    if len(names) == 1 and extract is not None and len(extract.columns) > 1:
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if sep in names[0]:
                raise _fail(file, f"the header has one column separated by {what}: "
                            "columns must be separated by commas", row=1)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _fail(file, f"duplicate column name{'s' if len(dupes) > 1 else ''} in the header: {', '.join(dupes)}", row=1)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, header=0, names=names, engine="c",
        )
    except pd.errors.ParserError as e:
        raise _fail(file, f"not a readable CSV table: {_parser_message(e)}") from None
    except (ValueError, pd.errors.EmptyDataError) as e:
        raise _fail(file, f"not a readable CSV table: {e}") from None
    frame.index = pd.RangeIndex(2, len(frame) + 2, name=ROW_INDEX_NAME)
    return _drop_blank_rows(frame, file)


def _parser_message(e: Exception) -> str:
    msg = str(e).strip()
    return msg.replace("Error tokenizing data. C error: ", "")


def _drop_blank_rows(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """Blank lines / empty spreadsheet rows are not records; the rest keep their row numbers."""
    if frame.empty:
        raise _fail(file, "the file has a header row but no data rows")
    blank = pd.Series(True, index=frame.index)
    for c in frame.columns:
        blank &= frame[c].astype("string").fillna("").str.strip() == ""
    frame = frame[~blank.to_numpy()]
    if frame.empty:
        raise _fail(file, "the file has a header row but no data rows")
    return frame


def check_cell_sizes(frame: pd.DataFrame, file: str) -> None:
    """Reject any cell over MAX_CELL_CHARS (a sign of a broken file, and a memory risk)."""
    for c in frame.columns:
        s = frame[c]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        lengths = s.astype("string").str.len()
        big = lengths > MAX_CELL_CHARS
        if big.any():
            row = big[big.fillna(False)].index[0]
            raise _fail(file, f"cell is {int(lengths[row]):,} characters long; at most "
                        f"{MAX_CELL_CHARS:,} allowed (is the file broken, e.g. an unclosed quote?)",
                        row=int(row), column=str(c))


# ----------------------------------------------------------------------------- XLSX
def _cell_text(value: object, kind: str | None) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if kind == "date" and value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        if kind == "datetime" or value.time() != dt.time(0):
            return value.isoformat(sep=" ")
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_xlsx_bytes(data: bytes, file: str, extract: Extract | None = None) -> pd.DataFrame:
    """First worksheet (or the one named after the extract); the header is its first non-empty row."""
    from openpyxl import load_workbook

    if not data.startswith(b"PK"):
        raise _fail(file, "not an XLSX workbook (an .xlsx file is a ZIP archive; this is not one)")
    check_xlsx_archive(data, file)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # untrusted bytes: any failure means "not a workbook we can read"
        raise _fail(file, f"not a readable XLSX workbook (truncated or corrupt: {type(e).__name__}: {e})") from None
    try:
        sheet = book[extract.name] if extract and extract.name in book.sheetnames else book.worksheets[0]
        kinds = {c.name: c.kind for c in extract.columns} if extract else {}
        header: list[str] | None = None
        header_row = 0
        rows: list[list[str]] = []
        row_numbers: list[int] = []
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if header is None:
                    if all(v is None or str(v).strip() == "" for v in values):
                        continue
                    header = [_cell_text(v, None).strip() for v in values]
                    while header and header[-1] == "":
                        header.pop()
                    header_row = number
                    continue
                if len(rows) >= XLSX_MAX_ROWS:
                    raise _fail(file, f"the sheet has more than {XLSX_MAX_ROWS:,} rows (Excel's own limit): "
                                "is it a generated or broken file? Load large extracts as CSV or Parquet")
                cells = [_cell_text(v, kinds.get(header[i]) if i < len(header) else None)
                         for i, v in enumerate(values)]
                rows.append(cells)
                row_numbers.append(number)
        except ExtractValidationError:
            raise
        except Exception as e:  # zip/XML errors surface while iterating a truncated sheet
            raise _fail(file, f"not a readable XLSX workbook (truncated or corrupt: {type(e).__name__}: {e})") from None
    finally:
        book.close()
    if header is None:
        raise _fail(file, "the workbook's first sheet is empty")
    dupes = sorted({n for n in header if n and header.count(n) > 1})
    if dupes:
        raise _fail(file, f"duplicate column names in the header: {', '.join(dupes)}", row=header_row)
    width = len(header)
    for cells, number in zip(rows, row_numbers, strict=True):
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            raise _fail(file, f"row has values beyond the last header column ({len(header)} columns)", row=number)
    data_rows = [(cells + [""] * width)[:width] for cells in rows]
    frame = pd.DataFrame(data_rows, columns=header, dtype="string")
    frame.index = pd.Index(row_numbers, name=ROW_INDEX_NAME, dtype="int64")
    blank_names = [i for i, h in enumerate(header) if h == ""]
    if blank_names:
        raise _fail(file, f"header cell {blank_names[0] + 1} is empty: every column needs a name", row=header_row)
    return _drop_blank_rows(frame, file)


def check_xlsx_archive(data: bytes, file: str) -> None:
    """Look inside the ZIP before parsing: refuse a workbook whose parts unzip to too much, or to
    far more than a real spreadsheet's XML does (a compressed bomb), in well under a second."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _fail(file, f"not a readable XLSX workbook (truncated or corrupt: {e})") from None
    total = sum(p.file_size for p in parts)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _fail(file, f"the workbook unzips to {_size(total)}; at most {_size(MAX_UNCOMPRESSED_BYTES)}: "
                    "load large extracts as CSV or Parquet")
    for part in parts:
        if part.file_size > BOMB_MIN_BYTES and part.file_size > MAX_COMPRESSION_RATIO * max(part.compress_size, 1):
            raise _fail(file, f"the workbook part {part.filename} unzips to {_size(part.file_size)} from "
                        f"{_size(part.compress_size)} (over {MAX_COMPRESSION_RATIO} times): real "
                        "spreadsheets do not compress like that, so it is refused as a possible compressed bomb")


# ----------------------------------------------------------------------------- Parquet
def read_parquet_bytes(data: bytes, file: str, extract: Extract | None = None) -> pd.DataFrame:
    """Columns as text (dates ISO, booleans true/false); row number = 1-based record number."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not data.startswith(b"PAR1"):
        raise _fail(file, "not a Parquet file (it does not start with the Parquet magic bytes)")
    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _fail(file, f"not a readable Parquet file (truncated or corrupt: {e})") from None
    if meta.num_rows > MAX_ROWS or meta.num_rows * max(meta.num_columns, 1) > MAX_CELLS:
        raise _fail(file, f"the file has {meta.num_rows:,} rows of {meta.num_columns} columns; at most "
                    f"{MAX_ROWS:,} rows and {MAX_CELLS:,} cells: split it (e.g. one file per month)")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _fail(file, f"not a readable Parquet file (truncated or corrupt: {e})") from None
    kinds = {c.name: c.kind for c in extract.columns} if extract else {}
    columns: dict[str, pd.Series] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        is_timestamp = pa.types.is_timestamp(col.type)
        if is_timestamp:
            col = pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
        elif not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            try:
                col = pc.cast(col, pa.string())
            except pa.ArrowException as e:
                raise _fail(file, f"column type {col.type} cannot be read as text: {e}", column=name) from None
        text = pd.Series(col.to_pandas(), dtype="string").fillna("")
        if is_timestamp:  # Arrow's %S carries the fraction; a date is a midnight timestamp
            text = text.str.replace(r"\.0+$", "", regex=True)
            if kinds.get(name) == "date":
                text = text.str.replace(r" 00:00:00$", "", regex=True)
        columns[name] = text
    if len(set(table.column_names)) != len(table.column_names):
        raise _fail(file, "duplicate column names")
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=ROW_INDEX_NAME)
    return _drop_blank_rows(frame, file)
