"""Checks across extracts, driven by the relationships declared in extracts.py (LINKS, AGREEMENTS).

Two kinds, decided per relationship in the catalogue (reasons in docs/design.md):

* `reject` links are checked by `load_files` before anything is written: a value that matches no
  row of the target, in the database or in the same load, rejects the load with file, row, column
  and reason.
* `count` links and agreements are kept and counted by `findings(conn)`, over what the database
  holds now, so a spine loaded later clears the count. The Data page's data-quality table and the
  `load` command show these counts; nothing is dropped or counted silently.

Aggregate counts only: no patient row leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, exists, func, select

from data_loaders.extracts import AGREEMENTS, LINKS, Link, get_extract
from data_loaders.tables import EXTRACT_TABLES
from data_loaders.validate import Problem, Problems, show_value


@dataclass(frozen=True)
class Incoming:
    """One validated file of a load: its extract, typed frame and the row numbers a person sees."""

    file: str
    extract: str
    frame: pd.DataFrame
    rows: pd.Index


@dataclass(frozen=True)
class Finding:
    """Rows kept but counted: `count` of the `total` rows checked in `extract`."""

    extract: str
    column: str
    label: str
    count: int
    total: int


def _stored_values(conn: Connection, extract: str, column: str) -> set[object]:
    table = EXTRACT_TABLES[extract]
    if not sa.inspect(conn).has_table(table.name):
        return set()
    return {v for (v,) in conn.execute(select(table.c[column]).distinct()) if v is not None}


def _reject_links(extract: str) -> list[Link]:
    return [link for link in LINKS if link.extract == extract and link.action == "reject"]


def check_links(conn: Connection, incoming: Sequence[Incoming]) -> dict[str, Problems]:
    """Problems per file for `reject` links whose value matches nothing (stored or in this load)."""
    known: dict[tuple[str, str], set[object]] = {}
    out: dict[str, Problems] = {}
    for item in incoming:
        for link in _reject_links(item.extract):
            key = (link.target, link.to_column)
            if key not in known:
                values = _stored_values(conn, *key)
                for other in incoming:
                    if other.extract == link.target:
                        values |= set(other.frame[link.to_column].dropna())
                known[key] = values
            column = item.frame[link.column]
            bad = (column.notna() & ~column.isin(known[key])).to_numpy()
            if not bad.any():
                continue
            target = get_extract(link.target)
            hint = (f"load the updated {link.target} file first or in the same load" if known[key]
                    else f"no {link.target} rows are loaded yet: load {link.target}.csv first or in the same load")
            problems = out.setdefault(item.file, Problems())
            problems.add_many(int(bad.sum()), (
                Problem(item.file, int(row), link.column,
                        f"{show_value(value)} is not in {link.target} ({target.title}); {hint}")
                for row, value in zip(item.rows[bad], column[bad], strict=True)
            ))
    return out


def check_overlaps(incoming: Sequence[Incoming]) -> dict[str, Problems]:
    """Problems per file for rows whose replace slice (key or period) an earlier file of the same load has.

    Each file replaces its slice of the table, so a later file would silently remove (or overwrite)
    the earlier file's rows: the load is rejected instead, naming both files.
    """
    out: dict[str, Problems] = {}
    seen: dict[str, pd.DataFrame] = {}  # extract -> slice values already claimed, with file and row
    for item in incoming:
        columns = list(get_extract(item.extract).replace_columns)
        mine = item.frame[columns].copy()
        mine["_file"], mine["_row"] = item.file, item.rows.to_numpy()
        before = seen.get(item.extract)
        if before is not None:
            clash = mine.drop(columns=["_file", "_row"]).merge(
                before.drop_duplicates(columns), on=columns, how="left", indicator=True)
            hit = (clash["_merge"] == "both").to_numpy()
            if hit.any():
                problems = out.setdefault(item.file, Problems())
                earlier = clash[hit]
                problems.add_many(int(hit.sum()), (
                    Problem(item.file, int(row), ", ".join(columns),
                            f"{', '.join(f'{c}={show_value(v)}' for c, v in zip(columns, values, strict=True))} is "
                            f"also in {file} (row {int(first)}) of this load; each file replaces the rows it "
                            "shares these values with, so one would overwrite the other: merge the files or "
                            "load them one after the other")
                    for row, values, file, first in zip(
                        item.rows[hit], earlier[columns].itertuples(index=False, name=None),
                        earlier["_file"], earlier["_row"], strict=True)
                ))
        seen[item.extract] = mine if before is None else pd.concat([before, mine], ignore_index=True)
    return out


def missing_required(conn: Connection, required: Iterable[str], loading: Mapping[str, int]) -> list[str]:
    """Required extracts with no rows in the database and none in this load (`loading`: extract -> rows)."""
    inspector = sa.inspect(conn)
    missing = []
    for name in required:
        if loading.get(name, 0) > 0:
            continue
        table = EXTRACT_TABLES[name]
        if inspector.has_table(table.name) and conn.execute(
                select(func.count()).select_from(table)).scalar_one() > 0:
            continue
        missing.append(name)
    return missing


def findings(conn: Connection) -> list[Finding]:
    """Counted links and agreements over the stored data (sources with no rows are left out)."""
    inspector = sa.inspect(conn)
    out: list[Finding] = []
    for link in LINKS:
        if link.action != "count" or not inspector.has_table(link.extract):
            continue
        src, tgt = EXTRACT_TABLES[link.extract], EXTRACT_TABLES[link.target]
        present = src.c[link.column].is_not(None)
        if inspector.has_table(link.target):
            orphan = ~exists(select(sa.literal(1)).select_from(tgt).where(tgt.c[link.to_column] == src.c[link.column]))
        else:
            orphan = sa.true()
        row = conn.execute(select(
            func.count().label("total"),
            func.coalesce(func.sum(sa.case((orphan, 1), else_=0)), 0).label("count"),
        ).select_from(src).where(present)).mappings().one()
        if row["total"]:
            out.append(Finding(link.extract, link.column, link.finding, int(row["count"]), int(row["total"])))
    for agree in AGREEMENTS:
        if not (inspector.has_table(agree.extract) and inspector.has_table(agree.target)):
            continue
        src, tgt = EXTRACT_TABLES[agree.extract], EXTRACT_TABLES[agree.target]
        joined = src.join(tgt, src.c[agree.on] == tgt.c[agree.on])
        differ = src.c[agree.column].is_distinct_from(tgt.c[agree.column])
        row = conn.execute(select(
            func.count().label("total"),
            func.coalesce(func.sum(sa.case((differ, 1), else_=0)), 0).label("count"),
        ).select_from(joined)).mappings().one()
        if row["total"]:
            out.append(Finding(agree.extract, agree.column, agree.finding, int(row["count"]), int(row["total"])))
    return out
