"""Alembic migrations for the stored tables (data_loaders/migrate.py), on DuckDB and PostgreSQL.

An empty database upgrades to head; a database at the previous revision, with rows in it, upgrades
and keeps them; and the models (data_loaders/tables.py) are exactly what the migrations build
(autogenerate finds nothing to change), so a model change without its migration fails here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_loaders import migrate
from data_loaders.db import make_engine, read_engine, write_transaction
from data_loaders.dialect import stored_columns
from data_loaders.tables import EXTRACT_TABLES, audit_metadata, load_log, metadata

SPELL = EXTRACT_TABLES["inpatient_spell"]
NEW_IN_0002 = {"patient_classification", "admission_source", "secondary_diagnoses", "procedure_codes"}


def _value(column: sa.Column) -> object:
    """A plain value of the column's type (the rows only need to survive the upgrade)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2024, 5, 6, 7, 8)
    if isinstance(kind, sa.Date):
        return dt.date(2024, 5, 6)
    if isinstance(kind, sa.Integer):
        return 3
    if isinstance(kind, sa.Float):
        return 1.5
    return "A1"


@contextmanager
def _writing(url: str) -> Iterator[sa.Connection]:
    """One transaction on its own engine (disposed after, so DuckDB releases the file)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def test_an_empty_database_upgrades_to_head(db_url: str) -> None:
    with write_transaction(db_url):  # every write upgrades first
        pass
    with read_engine(db_url).connect() as conn:
        assert migrate.current(conn, "stored") == migrate.head("stored") == "stored_0002"
        for table in [*EXTRACT_TABLES.values(), load_log, *migrate.DERIVED_TABLES]:
            assert stored_columns(conn, table.name) == {c.name for c in table.columns}, table.name


def test_a_database_at_the_previous_revision_keeps_its_rows(db_url: str) -> None:
    old_columns = [c for c in SPELL.columns if c.name not in NEW_IN_0002]
    row = {c.name: _value(c) for c in old_columns}
    with _writing(db_url) as conn:
        migrate.upgrade(conn, "stored", "stored_0001")
        assert migrate.current(conn, "stored") == "stored_0001"
        assert stored_columns(conn, "inpatient_spell") == {c.name for c in old_columns}
        conn.execute(sa.insert(sa.table("inpatient_spell", *(sa.column(c.name) for c in old_columns))), [row])
        conn.execute(sa.insert(load_log).values(load_id="L1", loaded_at=dt.datetime(2024, 6, 1), extract="x",
                                                file_name="spells.csv", rows=1, outcome="loaded"))
    with write_transaction(db_url):
        pass
    with read_engine(db_url).connect() as conn:
        assert migrate.current(conn, "stored") == "stored_0002"
        kept = conn.execute(sa.select(SPELL)).mappings().all()
        assert len(kept) == 1
        assert {k: kept[0][k] for k in row} == row
        assert all(kept[0][k] is None for k in NEW_IN_0002)
        assert conn.execute(sa.select(load_log.c.file_name)).scalars().all() == ["spells.csv"]


def test_a_database_built_before_migrations_is_adopted_with_its_rows(db_url: str) -> None:
    """create_all (how databases were built before migrations) then a write: stamped, not rebuilt."""
    with _writing(db_url) as conn:
        metadata.create_all(conn)
        conn.execute(sa.insert(load_log).values(load_id="L0", loaded_at=dt.datetime(2024, 1, 1),
                                                file_name="old.csv", outcome="loaded"))
    with write_transaction(db_url):
        pass
    with read_engine(db_url).connect() as conn:
        assert migrate.current(conn, "stored") == "stored_0002"
        assert conn.execute(sa.select(load_log.c.file_name)).scalars().all() == ["old.csv"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_models_are_what_the_migrations_build(db_url: str) -> None:
    """Autogenerate compare on PostgreSQL (duckdb-engine cannot reflect columns on DuckDB 2)."""
    with _writing(db_url) as conn:
        migrate.upgrade(conn, "stored", "stored_0001")
        behind = migrate.differences(conn, "stored")
        assert {d[3].name for d in behind if d[0] == "add_column"} == NEW_IN_0002  # the check can fail
        migrate.upgrade(conn, "stored")
        migrate.upgrade(conn, "audit")
        assert migrate.differences(conn, "stored") == []
        assert migrate.differences(conn, "audit") == []


def test_the_audit_chain_on_its_sqlite_file(tmp_path: Path) -> None:
    from data_loaders.audit import read_audit, record

    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    record(url, "ana", "analyst", "download", {"what": "x"})
    with _writing(url) as conn:
        assert migrate.current(conn, "audit") == migrate.head("audit") == "audit_0001"
        assert set(audit_metadata.tables) <= set(sa.inspect(conn).get_table_names())
        assert migrate.differences(conn, "audit") == []
    assert read_audit(url)["action"].tolist() == ["download"]


def test_flask_db_upgrade_on_a_fresh_data_folder(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BSOL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("BSOL_AUDIT_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                          cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "stored tables at stored_0002; audit tables at audit_0001" in done.stdout
    with read_engine(f"duckdb:///{tmp_path / 'bsol.duckdb'}").connect() as conn:
        assert migrate.current(conn, "stored") == "stored_0002"
