"""Readers never see a half-finished load, on the embedded engine and on PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from data_loaders.db import data_version, database_file, read_engine, write_transaction
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
    path = database_file(db_url)
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


@pytest.mark.parametrize("db_url", ["duckdb"], indirect=True)
def test_copy_left_by_a_killed_load_is_cleaned_by_the_next_load(db_url: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "a", "value": "1"}])
    path = database_file(db_url)
    script = ("import sys, time\nfrom data_loaders.db import write_transaction\n"
              "with write_transaction(sys.argv[1]) as conn:\n    print('copying done', flush=True)\n    time.sleep(120)\n")
    load = subprocess.Popen([sys.executable, "-c", script, db_url], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        assert load.stdout.readline().strip() == "copying done"
        os.kill(load.pid, signal.SIGKILL)  # killed mid-load: no clean-up code runs
    finally:
        load.wait(timeout=30)
    left = [p.name for p in path.parent.iterdir() if ".loading-" in p.name]
    assert left, "the killed load left its working copy behind"
    assert _count(db_url) == 1  # and the database itself is as it was
    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "b", "value": "2"}])
    assert [p.name for p in path.parent.iterdir() if ".loading-" in p.name] == []
    assert _count(db_url) == 2


def _open_deleted_files(path: Path) -> list[str]:
    """This process's open handles on a replaced (deleted) copy of `path`."""
    fd = Path("/proc/self/fd")
    found = []
    for entry in fd.iterdir():
        try:
            target = str(entry.readlink())
        except OSError:
            continue
        if target.startswith(str(path)) and target.endswith("(deleted)"):
            found.append(target)
    return found


@pytest.mark.parametrize("db_url", ["duckdb"], indirect=True)
def test_readers_share_one_opening_of_the_file_and_let_go_of_a_replaced_one(db_url: str) -> None:
    """Readers of an embedded file share one read-only opening per process (opening the file for
    every request cost ~25 ms and a cold cache); a load's swap gets a new opening at once, while a
    reader already open keeps its own file; the replaced file is let go when its last reader closes;
    a writer of the file itself is not refused by this process's readers."""
    from data_loaders.dialect import make_engine

    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "a", "value": "1"}])
    path = database_file(db_url)
    assert path is not None
    old_reader = read_engine(db_url).connect()
    keys = select(func.count()).select_from(dataset_info).where(dataset_info.c.key != "write_id")
    assert old_reader.execute(keys).scalar_one() == 1
    with write_transaction(db_url) as conn:
        conn.execute(insert(dataset_info), [{"key": "b", "value": "2"}])
    assert _count(db_url) == 2, "a connection opened after the swap reads the new file"
    assert old_reader.execute(keys).scalar_one() == 1, "a reader opened before the swap goes on reading its own file"
    assert _open_deleted_files(path), "the replaced file is still open for its reader"
    old_reader.close()
    assert _open_deleted_files(path) == [], "the replaced file is let go once its last reader closed"
    writer = make_engine(db_url)
    try:
        with writer.begin() as conn:  # in place, with this process's reading opening alive
            conn.execute(insert(dataset_info), [{"key": "c", "value": "3"}])
    finally:
        writer.dispose()
    assert _count(db_url) == 3


def test_a_refresh_phase_sets_the_engines_memory_and_restores_the_enclosing_one(db_url: str) -> None:
    """DuckDB's memory limit is the phase's inside engine_memory_for (lowering it evicts the blocks
    DuckDB cached while pandas holds the fetched frames), the enclosing phase's on leaving a nested
    one, and the configured one again afterwards, also after an error; on PostgreSQL nothing changes."""
    from data_loaders.dialect import DUCKDB_CONFIG, ENGINE_MEMORY_BY_PHASE, engine_memory_for

    def limit(conn: object) -> str:
        return str(conn.exec_driver_sql("SELECT current_setting('memory_limit')").scalar())  # type: ignore[attr-defined]

    with write_transaction(db_url) as conn:
        if conn.dialect.name != "duckdb":
            with engine_memory_for(conn, "combining"):
                conn.execute(select(func.count()).select_from(dataset_info))
            return
        configured = limit(conn)
        assert configured == "953.6 MiB" and DUCKDB_CONFIG["memory_limit"] == "1GB"
        assert ENGINE_MEMORY_BY_PHASE == {"refreshing": "500MB", "combining": "256MB"}
        with engine_memory_for(conn, "refreshing"):
            assert limit(conn) == "476.8 MiB"
            with engine_memory_for(conn, "combining"):
                assert limit(conn) == "244.1 MiB"
            assert limit(conn) == "476.8 MiB"
            with pytest.raises(RuntimeError), engine_memory_for(conn, "combining"):
                raise RuntimeError("a combine step failed")
            assert limit(conn) == "476.8 MiB"
        assert limit(conn) == configured
        with engine_memory_for(conn, "combining"):
            assert limit(conn) == "244.1 MiB"
        assert limit(conn) == configured
        with pytest.raises(RuntimeError), engine_memory_for(conn, "combining"):
            raise RuntimeError("a combine step failed")
        assert limit(conn) == configured
