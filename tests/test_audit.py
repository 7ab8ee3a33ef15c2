"""The audit log: one writer (`record`), one reader, on the embedded default and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_loaders.audit import read_audit, record
from data_loaders.settings import default_audit_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":  # what an embedded DuckDB deployment uses
        return default_audit_url(f"duckdb:///{tmp_path / 'bsol.duckdb'}", tmp_path)
    return request.getfixturevalue("_pg_database")


def test_records_come_back_newest_first_with_their_detail(audit_url: str) -> None:
    assert read_audit(audit_url).empty  # nothing recorded yet: an empty frame, not an error
    record(audit_url, "ana@example.nhs.uk", "analyst", "download", {"path": "/download/measure/x.csv"})
    record(audit_url, None, None, "sign_in_failed", {"reason": "bad password"})
    log = read_audit(audit_url)
    assert list(log["action"]) == ["sign_in_failed", "download"]
    assert list(log["user"]) == ["anonymous", "ana@example.nhs.uk"]
    assert list(log["role"]) == ["none", "analyst"]
    assert json.loads(log["detail"].iloc[1]) == {"path": "/download/measure/x.csv"}
    assert list(read_audit(audit_url, action="download")["user"]) == ["ana@example.nhs.uk"]
    assert len(read_audit(audit_url, limit=1)) == 1


def test_embedded_audit_log_is_beside_the_duckdb_file_and_postgres_uses_the_database(tmp_path: Path) -> None:
    assert default_audit_url(f"duckdb:///{tmp_path}/bsol.duckdb", tmp_path) == f"sqlite:///{tmp_path}/audit.sqlite"
    pg = "postgresql+psycopg://u@h:5432/bsol"
    assert default_audit_url(pg, tmp_path) == pg
