"""Readers never see a half-finished load, on the embedded engine and on PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, insert, select

from data_loaders.db import data_version, duckdb_path, read_engine, write_transaction
from data_loaders.tables import dataset_info


def _count(url: str) -> int:
    with read_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(dataset_info).where(dataset_info.c.key != "write_id")).scalar_one()


def test_reader_sees_old_data_until_the_write_lands(db_url: str) -> None:
    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "a", "value": "1"}])
    version = data_version(db_url)
    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "b", "value": "2"}])
        assert _count(db_url) == 1, "a reader during the load sees the data as it was"
    assert _count(db_url) == 2
    assert data_version(db_url) != version, "pages' caches notice the landed write"


def test_failed_write_changes_nothing(db_url: str) -> None:
    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "a", "value": "1"}])
    path = duckdb_path(db_url)
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path else None
    version = data_version(db_url)
    with pytest.raises(RuntimeError), write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "b", "value": "2"}])
        raise RuntimeError("load failed half way")
    assert _count(db_url) == 1
    assert data_version(db_url) == version
    if path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []
