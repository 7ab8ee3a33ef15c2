"""The test infrastructure is real: both database backends, a PostgreSQL server, Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_loaders.dialect import make_engine


def test_db_url_roundtrip(db_url: str) -> None:
    """Create a table, insert, read back: on a DuckDB file and on a PostgreSQL database."""
    meta = sa.MetaData()
    t = sa.Table(
        "infra_check",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("value", sa.Float),
    )
    engine = make_engine(db_url)
    try:
        with engine.begin() as c:
            meta.create_all(c)
            c.execute(
                t.insert(),
                [{"id": 1, "name": "a", "value": 1.5}, {"id": 2, "name": "b", "value": None}],
            )
        with engine.connect() as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).all()
        assert [tuple(r) for r in rows] == [(1, "a", 1.5), (2, "b", None)]
        assert engine.dialect.name == ("duckdb" if db_url.startswith("duckdb") else "postgresql")
    finally:
        engine.dispose()


def test_db_url_is_fresh(db_engine: sa.Engine) -> None:
    """Each test gets an empty database (the roundtrip test's table is not here)."""
    assert "infra_check" not in sa.inspect(db_engine).get_table_names()


@pytest.mark.postgres
def test_postgres_server_is_real(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as c:
            version = c.execute(sa.text("SELECT version()")).scalar_one()
            fsync = c.execute(sa.text("SHOW fsync")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL "), version
    if "BSOL_TEST_PG_URL" not in os.environ:
        assert fsync == "off"  # our throwaway server, not someone's real one


def test_ci_runs_the_readme_test_command() -> None:
    """README's Quick start test command is what CI runs, verbatim."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    command = "bash scripts/setup.sh && .venv/bin/python -m pytest"
    assert f"\n{command}\n" in readme
    assert f"\n{command} " in ci or f"\n{command}\n" in ci
