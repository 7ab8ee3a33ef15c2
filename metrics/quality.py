"""Data-quality facts for the Data page and the pack: aggregate counts only (never patient rows).

Why: analysts must see what each source covers and how complete the fields behind the
breakdowns are before trusting a chart split by ethnicity or deprivation. Everything here is a
GROUP-BY-free aggregate (COUNT / MIN / MAX) run with SQLAlchemy Core and bound parameters, at
refresh (`refresh_quality`, into completeness_result and coverage_result): the page and the pack
read the stored rows (`read_completeness`, `read_coverage`), never the patient-level tables
(the cross-file checks alone took 1.5 s on the medium demo, on every Data page view and pack).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, func, select

from data_loaders.db import ensure_derived_table
from data_loaders.extracts import EXTRACTS, Extract, get_extract
from data_loaders.integrity import findings
from data_loaders.tables import completeness_result, coverage_result, metadata
from metrics import disclosure

# The patient spine is not an event table: its date columns (birth month, death) are not coverage.
_NO_COVERAGE = {"patient"}
_NOT_STATED_ETHNICITY = ("Z", "99")


@dataclass(frozen=True)
class Completeness:
    """One row of the Data page's data-quality table: `count` of `total` `of` are affected."""

    measure: str
    count: int
    total: int
    of: str = "registered patients"

    @property
    def percent(self) -> float | None:
        return 100.0 * self.count / self.total if self.total else None


def _period_column(extract: Extract) -> str | None:
    if extract.name in _NO_COVERAGE:
        return None
    for col in extract.columns:
        if col.name == "financial_year":
            return col.name
    for col in extract.columns:
        if col.kind in ("date", "datetime") and col.required:
            return col.name
    return None


def source_coverage(conn: Connection) -> pd.DataFrame:
    """One row per loaded extract: rows held and the first/last date its period column covers."""
    inspector = sa.inspect(conn)
    rows: list[dict[str, object]] = []
    for extract in EXTRACTS:
        if extract.kind == "reference" and extract.name != "population":
            continue
        if not inspector.has_table(extract.name):
            continue
        table = metadata.tables[extract.name]
        column = _period_column(extract)
        cols = [func.count().label("rows")]
        if column:
            cols += [func.min(table.c[column]).label("first"), func.max(table.c[column]).label("last")]
        result = conn.execute(select(*cols).select_from(table)).mappings().one()
        rows.append({
            "Source": extract.title, "Extract": extract.name, "Rows": int(result["rows"]),
            "Period column": column or "—",
            "First": _as_text(result.get("first")), "Last": _as_text(result.get("last")),
        })
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def _as_text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    return str(value)


def completeness(conn: Connection) -> list[Completeness]:
    """Fields the breakdowns rely on, then the rows kept but counted by the declared cross-file checks."""
    return _spine_completeness(conn) + [
        Completeness(f"{get_extract(f.extract).title}: {f.label}", f.count, f.total, f"{f.extract} rows")
        for f in findings(conn)
    ]


def _spine_completeness(conn: Connection) -> list[Completeness]:
    """Share of registered patients with fields missing that the breakdowns rely on."""
    if not sa.inspect(conn).has_table("patient"):
        return []
    p = metadata.tables["patient"]
    lsoa = metadata.tables["lsoa"]
    known_lsoa = select(lsoa.c.lsoa_code).scalar_subquery() if sa.inspect(conn).has_table("lsoa") else None
    no_lsoa = (p.c.lsoa_code.is_(None)) | (p.c.lsoa_code == "")
    if known_lsoa is not None:
        no_lsoa = no_lsoa | p.c.lsoa_code.not_in(known_lsoa)
    eth_missing = p.c.ethnic_category.is_(None) | (p.c.ethnic_category == "") | p.c.ethnic_category.in_(
        _NOT_STATED_ETHNICITY)
    stmt = select(
        func.count().label("total"),
        func.sum(sa.case((eth_missing, 1), else_=0)).label("ethnicity"),
        func.sum(sa.case((no_lsoa, 1), else_=0)).label("lsoa"),
        func.sum(sa.case((p.c.sex == "U", 1), else_=0)).label("sex"),
    )
    r = conn.execute(stmt).mappings().one()
    total = int(r["total"] or 0)
    return [
        Completeness("Ethnicity not stated or not recorded", int(r["ethnicity"] or 0), total),
        Completeness("LSOA unknown (no IMD quintile)", int(r["lsoa"] or 0), total),
        Completeness("Sex unknown", int(r["sex"] or 0), total),
    ]


def geography_tree(conn: Connection) -> pd.DataFrame:
    """Practice -> neighbourhood -> locality -> place (reference data, no patients)."""
    if not sa.inspect(conn).has_table("practice"):
        return pd.DataFrame(columns=["practice_code", "practice_name", "neighbourhood", "locality", "place"])
    t = metadata.tables["practice"]
    stmt = select(t.c.practice_code, t.c.practice_name, t.c.neighbourhood_name.label("neighbourhood"),
                  t.c.locality, t.c.place).order_by(t.c.locality, t.c.neighbourhood_name, t.c.practice_code)
    return pd.DataFrame(conn.execute(stmt).mappings().all(),
                        columns=["practice_code", "practice_name", "neighbourhood", "locality", "place"])


def geography_tree_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["practice_code", "practice_name", "neighbourhood", "locality", "place"])


def completeness_for_display(items: list[Completeness], policy: disclosure.DisclosurePolicy) -> pd.DataFrame:
    """Data-quality rows (Check, Affected, Out of, of, Percent) under the policy:
    counts of 1-7 hidden, counts rounded, the percentage from the rounded counts."""
    frame = pd.DataFrame([{"Check": c.measure, "Affected": c.count, "Out of": c.total, "of": c.of}
                          for c in items], columns=["Check", "Affected", "Out of", "of"])
    frame["Percent"] = float("nan")

    def derive(_exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
        total = shown["Out of"]
        shown["Percent"] = (shown["Affected"] / total * 100).where(total > 0)
        return shown

    Col, Kind = disclosure.Col, disclosure.Kind
    spec = {"Affected": Col(Kind.COUNT, row=False), "Out of": Col(Kind.COUNT),
            "Percent": Col(Kind.VALUE, basis=("Affected", "Out of"))}
    return disclosure.protect(frame, spec, policy, derive=derive).drop(columns="suppressed")


COVERAGE_COLUMNS = ["Source", "Extract", "Rows", "Period column", "First", "Last"]
_COVERAGE_STORED = {"Source": "source", "Extract": "extract", "Rows": "rows", "Period column": "period_column",
                    "First": "first", "Last": "last"}


def refresh_quality(conn: Connection) -> int:
    """Recompute completeness_result and coverage_result (delete + insert, in the caller's
    transaction) from the loaded tables. Returns the rows written."""
    items = completeness(conn)
    coverage = source_coverage(conn)
    for table in (completeness_result, coverage_result):
        ensure_derived_table(conn, table)
        conn.execute(sa.delete(table))
    if items:
        conn.execute(sa.insert(completeness_result), [
            {"position": i, "measure": c.measure, "affected": c.count, "total": c.total, "of": c.of}
            for i, c in enumerate(items)])
    if not coverage.empty:
        conn.execute(sa.insert(coverage_result), [
            {"position": i, **{_COVERAGE_STORED[k]: r[k] for k in COVERAGE_COLUMNS}}
            for i, r in enumerate(coverage.to_dict("records"))])
    return len(items) + len(coverage)


def read_completeness(conn: Connection) -> list[Completeness]:
    """The stored data-quality rows, in their order (empty before the first refresh that made them)."""
    t = completeness_result
    if not sa.inspect(conn).has_table(t.name):
        return []
    rows = conn.execute(select(t.c.measure, t.c.affected, t.c.total, t.c.of).order_by(t.c.position)).all()
    return [Completeness(m, int(a), int(n), of) for m, a, n, of in rows]


def read_coverage(conn: Connection) -> pd.DataFrame:
    """The stored source coverage, in the columns and order `source_coverage` gives."""
    t = coverage_result
    if not sa.inspect(conn).has_table(t.name):
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    stmt = select(*(t.c[_COVERAGE_STORED[k]].label(k) for k in COVERAGE_COLUMNS)).order_by(t.c.position)
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=COVERAGE_COLUMNS)
    return frame.astype({"Rows": int})
