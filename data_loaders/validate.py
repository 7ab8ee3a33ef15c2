"""Validation of extracts: pandera schemas generated from the catalogue, precise problem reports.

Files arrive as text (every cell a string, "" = missing; see readers.py). Validation parses each
column to its catalogue type with vectorised pandas operations, then runs a pandera schema built
from the same `Extract` declaration (required, codes, patterns, ranges, dates, lengths, duplicate
keys, row rules) lazily, so every problem is collected rather than just the first. Each problem is
a `Problem(file, row, column, reason)` where `row` is the row number a person sees:

* CSV: the line number counting the header as line 1 (first data row = 2; a quoted cell that spans
  lines counts as one row, as a spreadsheet shows it);
* XLSX: the sheet row number;
* Parquet: the 1-based record number (there is no header row).

The output of a clean validation is a typed frame ready for `load.load_frames`: str columns as
pandas "string", int as "Int64", float as "Float64", bool as "boolean", date/datetime as
"datetime64[us]" (dates at midnight).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from data_loaders.extracts import EARLIEST_EVENT, Column, Extract

MAX_PROBLEMS = 1000
"""Problems kept in a report; the rest are counted (a wholly wrong file would otherwise make
millions of Problem objects)."""

TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$"
INT_RE = r"^[+-]?\d+(?:\.0*)?$"
INT_LIMIT = 2**31 - 1  # the database INTEGER range
ROW_INDEX_NAME = "row"
"""Readers name the frame index `row` and fill it with the row numbers a person sees."""

DTYPES = {
    "str": "string",
    "int": "Int64",
    "float": "Float64",
    "bool": "boolean",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file; row/column are None when the problem is the whole file."""

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Problems:
    """Collects problems up to `limit`, counting (not storing) the rest."""

    limit: int = MAX_PROBLEMS
    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(problem)

    def add_many(self, count: int, make: Iterable[Problem]) -> None:
        """Add `count` problems, materialising only as many as still fit."""
        room = self.limit - len(self.items)
        if room > 0:
            for i, problem in enumerate(make):
                if i >= room:
                    break
                self.items.append(problem)
        self.total += count

    def extend(self, other: Problems) -> None:
        for p in other.items:
            self.add(p)
        self.total += other.total - len(other.items)

    @property
    def omitted(self) -> int:
        return self.total - len(self.items)

    def __bool__(self) -> bool:
        return self.total > 0


class ExtractValidationError(Exception):
    """Raised when any file of a load has a problem; nothing has been written.

    `.problems` lists the problems kept (at most MAX_PROBLEMS), `.total` counts all of them.
    """

    def __init__(self, problems: list[Problem] | Problems, total: int | None = None) -> None:
        if isinstance(problems, Problems):
            total = problems.total
            problems = problems.items
        self.problems: list[Problem] = list(problems)
        self.total: int = total if total is not None else len(self.problems)
        super().__init__(self._message())

    def _message(self) -> str:
        files = list(dict.fromkeys(p.file for p in self.problems))
        noun = "problem" if self.total == 1 else "problems"
        head = f"{self.total} {noun} in {len(files)} file{'s' if len(files) != 1 else ''}"
        head += " (nothing was loaded):"
        lines = [head, *(f"  {p}" for p in self.problems)]
        omitted = self.total - len(self.problems)
        if omitted:
            lines.append(f"  ... and {omitted} more not shown")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- formatting
def _show(value: object) -> str:
    """A value as the user typed it, for messages (quoted, shortened)."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text) if isinstance(value, str) else text


show_value = _show  # for messages built outside this module (integrity.py)


def _day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


def _allowed(codes: tuple[str, ...]) -> str:
    shown = ", ".join(codes[:20])
    return shown + (f", ... ({len(codes)} codes)" if len(codes) > 20 else "")


# ----------------------------------------------------------------------------- parsing
def _text(series: pd.Series) -> pd.Series:
    """The column as trimmed pandas strings with <NA> for missing ("" counts as missing)."""
    s = series.astype("string").str.strip()
    return s.mask(s == "")


def _typed_passthrough(col: Column, series: pd.Series) -> pd.Series | None:
    """Already-typed input (Parquet, generated frames): convert without going through text."""
    kind = col.kind
    dtype = series.dtype
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            return None
        return series.astype("datetime64[us]")
    if kind == "int" and pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.astype("Int64")
    if kind == "float" and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.astype("Float64")
    if kind == "bool" and pd.api.types.is_bool_dtype(dtype):
        return series.astype("boolean")
    return None


def _parse(col: Column, series: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column. Returns (typed values, mask of unparseable cells, what was expected)."""
    typed = _typed_passthrough(col, series)
    if typed is not None:
        return typed, pd.Series(False, index=series.index), ""
    text = _text(series)
    present = text.notna()
    kind = col.kind
    if kind == "str":
        return text, pd.Series(False, index=series.index), ""
    if kind == "int":
        ok = text.str.fullmatch(INT_RE).fillna(False).astype(bool)
        nums = pd.to_numeric(text.where(ok), errors="coerce").astype("float64")
        ok &= nums.abs().le(INT_LIMIT).fillna(False).astype(bool)
        values = nums.where(ok).astype("Float64").round().astype("Int64")
        return values, present & ~ok, f"a whole number (at most {INT_LIMIT:,} either side of 0)"
    if kind == "float":
        nums = pd.to_numeric(text, errors="coerce").astype("float64")
        finite = np.isfinite(nums.to_numpy(dtype="float64", na_value=np.nan))
        bad = present & ~pd.Series(finite, index=text.index)
        return nums.where(~bad).astype("Float64"), bad, "a number"
    if kind == "bool":
        lower = text.str.lower()
        is_true = lower.isin(TRUE_WORDS).fillna(False).astype(bool)
        is_false = lower.isin(FALSE_WORDS).fillna(False).astype(bool)
        values = pd.Series(pd.NA, index=text.index, dtype="boolean")
        values[is_true] = True
        values[is_false] = False
        return values, present & ~(is_true | is_false), "true/false (also 1/0, yes/no, Y/N)"
    if kind == "date":
        ok = text.str.fullmatch(DATE_RE).fillna(False).astype(bool)
        values = pd.to_datetime(text.where(ok), format="%Y-%m-%d", errors="coerce")
        values = values.astype("datetime64[us]")
        return values, present & values.isna(), "a date as YYYY-MM-DD"
    if kind == "datetime":
        ok = text.str.fullmatch(DATETIME_RE).fillna(False).astype(bool)
        values = pd.to_datetime(text.where(ok), format="ISO8601", errors="coerce")
        values = values.astype("datetime64[us]")
        return values, present & values.isna(), "a date and time as YYYY-MM-DD HH:MM[:SS]"
    raise ValueError(f"unknown column kind {kind!r}")


# ----------------------------------------------------------------------------- schema
Reason = Callable[[object], str]


@dataclass(frozen=True)
class _Check:
    check: pa.Check
    reason: Reason


def _today() -> pd.Timestamp:
    return pd.Timestamp.today().normalize()


def _column_checks(col: Column, today: pd.Timestamp) -> list[_Check]:
    """The catalogue's constraints on one column, each with the message for a failing value."""
    checks: list[_Check] = []
    if col.codes is not None:
        codes = col.codes
        if col.kind == "int":
            int_codes = [int(c) for c in codes]
            checks.append(_Check(pa.Check.isin(int_codes), lambda v: f"{_show(v)} is not an allowed code (allowed: {_allowed(codes)})"))
        else:
            checks.append(_Check(pa.Check.isin(list(codes)), lambda v: f"{_show(v)} is not an allowed code (allowed: {_allowed(codes)})"))
    if col.kind == "str":
        if col.pattern is not None:
            pattern = col.pattern
            re.compile(pattern)
            checks.append(_Check(pa.Check.str_matches(pattern), lambda v: f"{_show(v)} does not match the expected format {pattern}"))
        max_len = col.max_length
        checks.append(_Check(pa.Check.str_length(max_value=max_len),
                             lambda v: f"{_show(v)} is {len(str(v))} characters long; at most {max_len} allowed"))
    if col.kind in ("int", "float"):
        if col.min_value is not None:
            lo = col.min_value
            checks.append(_Check(pa.Check.ge(lo), lambda v: f"{_show(v)} is below the minimum {_show(float(lo))}"))
        if col.max_value is not None:
            hi = col.max_value
            checks.append(_Check(pa.Check.le(hi), lambda v: f"{_show(v)} is above the maximum {_show(float(hi))}"))
    if col.kind in ("date", "datetime"):
        earliest = pd.Timestamp(col.earliest if col.earliest is not None else EARLIEST_EVENT)
        tomorrow = today + pd.Timedelta(days=1)
        checks.append(_Check(pa.Check.ge(earliest), lambda v: f"{_show(v)} is before the earliest allowed date {_day(earliest)}"))
        checks.append(_Check(pa.Check.lt(tomorrow), lambda v: f"{_show(v)} is in the future (after today, {_day(today)})"))
        if col.month_start:
            checks.append(_Check(pa.Check(lambda s: s.dt.day == 1, name="month_start"),
                                 lambda v: f"{_show(v)} is not the first day of a month: this column holds a month "
                                           "only, as YYYY-MM-01 (a full date must not be sent)"))
    return checks


@dataclass(frozen=True)
class ExtractSchema:
    """A pandera schema for one extract plus the messages its failures map to."""

    schema: pa.DataFrameSchema
    column_reasons: dict[tuple[str, int], Reason]
    rule_descriptions: dict[int, tuple[str, tuple[str, ...]]]
    key: tuple[str, ...] | None


@lru_cache(maxsize=256)
def build_schema(extract: Extract, present: frozenset[str] | None = None,
                 today: pd.Timestamp | None = None) -> ExtractSchema:
    """The pandera schema for typed frames of `extract` (only `present` columns, if given).

    Checks whose columns are missing are left out: the missing columns are reported on their own.
    """
    today = today if today is not None else _today()
    names = [c.name for c in extract.columns if present is None or c.name in present]
    columns: dict[str, pa.Column] = {}
    reasons: dict[tuple[str, int], Reason] = {}
    for col in extract.columns:
        if col.name not in names:
            continue
        checks = _column_checks(col, today)
        columns[col.name] = pa.Column(
            DTYPES[col.kind], checks=[c.check for c in checks], nullable=not col.required,
            description=col.description,
        )
        for i, c in enumerate(checks):
            reasons[(col.name, i)] = c.reason
    frame_checks: list[pa.Check] = []
    rules: dict[int, tuple[str, tuple[str, ...]]] = {}
    for rule in extract.rules:
        if all(c in names for c in rule.columns):
            rules[len(frame_checks)] = (rule.description, rule.columns)
            frame_checks.append(pa.Check(_rule_check(rule.check), name=rule.description))
    key = extract.key if all(k in names for k in extract.key) else None
    schema = pa.DataFrameSchema(
        columns, checks=frame_checks, strict=True, ordered=False,
        unique=list(key) if key and len(key) > 1 else None,
        report_duplicates="all", name=extract.name,
    )
    if key and len(key) == 1:  # pandera reports single-column uniqueness on the column
        schema = schema.update_column(key[0], unique=True, report_duplicates="all")
    return ExtractSchema(schema, reasons, rules, key)


def _rule_check(check: Callable[[pd.DataFrame], pd.Series]) -> Callable[[pd.DataFrame], pd.Series]:
    def run(df: pd.DataFrame) -> pd.Series:
        return check(df).fillna(True).astype(bool)

    return run


# ----------------------------------------------------------------------------- validation
def row_numbers(frame: pd.DataFrame) -> pd.Index:
    """The person-visible row numbers: the index of a reader's frame, else 1-based positions."""
    if frame.index.name == ROW_INDEX_NAME:
        return frame.index
    return pd.RangeIndex(1, len(frame) + 1, name=ROW_INDEX_NAME)


def validate_frame(extract: Extract, frame: pd.DataFrame, file: str = "<frame>",
                   today: pd.Timestamp | None = None,
                   limit: int = MAX_PROBLEMS) -> tuple[pd.DataFrame | None, Problems]:
    """Parse and check a frame of `extract`. Returns (typed frame or None, problems)."""
    problems = Problems(limit=limit)
    frame = frame.set_axis(row_numbers(frame), axis=0)
    expected = list(extract.column_names)
    seen = [str(c) for c in frame.columns]
    missing = [c for c in expected if c not in seen]
    extra = [c for c in seen if c not in expected]
    if missing:
        problems.add(Problem(file, None, None, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"))
    if extra:
        problems.add(Problem(file, None, None,
                             f"unexpected column{'s' if len(extra) > 1 else ''}: {', '.join(extra)} "
                             f"(expected exactly: {', '.join(expected)})"))
    present = [c for c in expected if c in seen]

    typed: dict[str, pd.Series] = {}
    unparsed: dict[str, pd.Series] = {}
    for name in present:
        col = extract.column(name)
        values, bad, wanted = _parse(col, frame[name])
        typed[name] = values
        if bad.any():
            unparsed[name] = bad
            raw = frame[name][bad]
            problems.add_many(int(bad.sum()), (
                Problem(file, int(row), name, f"{_show(str(v).strip())} is not {wanted}")
                for row, v in raw.items()
            ))
    out = pd.DataFrame(typed, index=frame.index)

    if present:
        checked = build_schema(extract, frozenset(present), today or _today())
        _run_schema(checked, out, unparsed, file, problems)
    order = {name: i for i, name in enumerate(expected)}
    problems.items.sort(key=lambda p: (
        -1 if p.row is None else p.row, order.get((p.column or "").split(", ")[0], -1)))
    if problems:
        return None, problems
    return out.reset_index(drop=True), problems


PART_ROWS = 1_000_000
"""Rows validated at a time by `validate_parts`: pandera's checks hold several copies of what they
check (the whole 18.7 m-row smoking-status table took 2.6 GB beyond its own 1 GB); parts of a
million rows validate as fast as the whole."""


def _part_bounds(extract: Extract, frame: pd.DataFrame, rows_per_part: int) -> list[tuple[int, int]]:
    """Row ranges that break only where the replace columns change, when those columns are in the
    key and each of their values is one run of rows: every key then lies in one part, so checking
    the parts checks the whole table, and the parts are disjoint load slices. Else one range."""
    n = len(frame)
    cols = list(extract.replace_columns)
    if n <= rows_per_part or not set(cols) <= set(extract.key) or not set(cols) <= set(map(str, frame.columns)):
        return [(0, n)]
    keys = frame[cols]
    changes = np.flatnonzero((keys.ne(keys.shift()) & ~(keys.isna() & keys.shift().isna())).any(axis=1).to_numpy())
    if len(changes) != len(keys.drop_duplicates()):  # a value in two runs: the parts would share it
        return [(0, n)]
    bounds, start = [], 0
    for cut in changes[1:]:
        if cut - start >= rows_per_part:
            bounds.append((start, int(cut)))
            start = int(cut)
    return [*bounds, (start, n)]


def validate_parts(extract: Extract, frames: pd.DataFrame | list[pd.DataFrame], file: str = "<frame>",
                   rows_per_part: int = PART_ROWS) -> Iterator[pd.DataFrame]:
    """`validate_frame` a part at a time, for memory: yields typed parts (see `_part_bounds`) and
    raises ExtractValidationError at the first part with a problem (row numbers run on across the
    parts). A list of frames (the demo generator's snapshots) is emptied as it is checked, so
    each frame can be freed once loaded; its frames must not share a value of the replace columns,
    which must be in the key, so that every key lies in one frame."""
    parts = frames if isinstance(frames, list) else [frames]
    cols = list(extract.replace_columns)
    if len(parts) > 1 and not set(cols) <= set(extract.key):
        raise ValueError(f"{extract.name}: frames can only be checked apart when they replace by key columns")
    seen: set[tuple] = set()
    offset = 0
    while parts:
        frame = parts.pop(0)
        if frame.index.name != ROW_INDEX_NAME:
            frame = frame.set_axis(pd.RangeIndex(offset + 1, offset + len(frame) + 1, name=ROW_INDEX_NAME), axis=0)
        offset += len(frame)
        if isinstance(frames, list) and set(cols) <= set(map(str, frame.columns)):
            values = set(frame[cols].drop_duplicates().itertuples(index=False, name=None))
            if values & seen:
                raise ValueError(f"{extract.name}: two frames share {', '.join(cols)} {sorted(values & seen)[0]}")
            seen |= values
        for start, stop in _part_bounds(extract, frame, rows_per_part):
            typed, problems = validate_frame(extract, frame.iloc[start:stop], file)
            if problems or typed is None:
                raise ExtractValidationError(problems)
            yield typed
        del frame


def _run_schema(checked: ExtractSchema, frame: pd.DataFrame, unparsed: dict[str, pd.Series],
                file: str, problems: Problems) -> None:
    try:
        checked.schema.validate(frame, lazy=True)
    except SchemaErrors as e:
        cases = e.failure_cases
    else:
        return
    # Column checks, not-null, uniqueness; skip cells already reported as unparseable.
    key_reported = False
    for (context, column, check, number), group in cases.groupby(
        ["schema_context", "column", "check", "check_number"], dropna=False, sort=False
    ):
        rows = group["index"]
        if context == "DataFrameSchema" and isinstance(number, (int, float)) and not pd.isna(number):
            continue  # row rules: handled below, one problem per row
        if check == "not_nullable":
            skip = unparsed.get(column)
            keep = rows if skip is None else rows[~skip.reindex(rows.to_numpy(), fill_value=False).to_numpy()]
            problems.add_many(len(keep), (Problem(file, int(r), column, "required value is missing") for r in keep))
        elif check in ("field_uniqueness", "multiple_fields_uniqueness"):
            if not key_reported:
                key_reported = True
                _report_duplicates(checked.key or (), frame, file, problems)
        elif isinstance(number, (int, float)) and not pd.isna(number):
            reason = checked.column_reasons.get((column, int(number)))
            if reason is None:  # pragma: no cover - a pandera change; still report it
                reason = lambda v, c=check: f"{_show(v)} fails check {c}"  # noqa: E731
            problems.add_many(len(group), (
                Problem(file, int(r), column, reason(v))
                for r, v in zip(group["index"], group["failure_case"], strict=True)
            ))
        else:
            problems.add_many(len(group), (
                Problem(file, None if pd.isna(r) else int(r), None if pd.isna(column) else column,
                        f"{check}: {_show(v)}")
                for r, v in zip(group["index"], group["failure_case"], strict=True)
            ))
    rule_cases = cases[(cases["schema_context"] == "DataFrameSchema") & cases["check_number"].notna()
                       & ~cases["check"].isin(["field_uniqueness", "multiple_fields_uniqueness"])]
    for number, group in rule_cases.groupby("check_number", sort=False):
        description, cols = checked.rule_descriptions[int(number)]
        rows = pd.unique(group["index"])
        problems.add_many(len(rows), (
            Problem(file, int(r), ", ".join(cols), f"{description} "
                    f"({', '.join(f'{c}={_show(frame.at[r, c])}' for c in cols)})")
            for r in rows
        ))


def _report_duplicates(key: tuple[str, ...], frame: pd.DataFrame, file: str, problems: Problems) -> None:
    """One problem per repeated key, naming the row where it first appears."""
    if not key:
        return
    keys = frame[list(key)]
    dup_later = keys.duplicated(keep="first")
    if not dup_later.any():
        return
    first_row = pd.Series(frame.index, index=frame.index).groupby(
        [keys[c] for c in key], dropna=False, sort=False).transform("first")
    later = frame.index[dup_later.to_numpy()]

    def make() -> Iterable[Problem]:
        for r in later:
            values = ", ".join(f"{c}={_show(frame.at[r, c])}" for c in key)
            yield Problem(file, int(r), ", ".join(key),
                          f"duplicate key ({values}): same as row {int(first_row.at[r])}")

    problems.add_many(len(later), make())


def validate_or_raise(extract: Extract, frame: pd.DataFrame, file: str = "<frame>") -> pd.DataFrame:
    """Validate and return the typed frame, or raise ExtractValidationError."""
    typed, problems = validate_frame(extract, frame, file)
    if problems or typed is None:
        raise ExtractValidationError(problems)
    return typed
