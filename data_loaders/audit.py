"""The audit log: who signed in (or failed to), loaded, exported or built a pack, and when.

One function writes it (`record`), one reads it (`read_audit`). Records are written on their own
short transaction, never inside a load's, so a failed or rolled-back load is still on record.
The target is the audit URL (`Settings.audit_url`), an Engine, or an open Connection.

Actions in use: sign_in, sign_in_failed, sign_out, load, load_rejected, download, pack, export,
export_exact, user_add, user_disable, user_reset, refused.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event, insert, select

from data_loaders.tables import audit_log, audit_metadata

AUDIT_COLUMNS = [c.name for c in audit_log.columns]
_engines: dict[str, Engine] = {}
_ready: set[str] = set()


def _on_sqlite_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # WAL: readers never block the writer; busy_timeout: processes queue rather than fail.
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA busy_timeout=10000")


def audit_engine(url: str) -> Engine:
    """One engine per audit URL per process; the table is created on first use."""
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite:"):
            path = sa.engine.make_url(url).database
            if path:
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, poolclass=sa.NullPool)
            event.listen(engine, "connect", _on_sqlite_connect)
        else:
            from data_loaders.db import make_engine

            engine = make_engine(url)
        _engines[url] = engine
    return engine


def _ensure_table(conn: Connection) -> None:
    key = str(conn.engine.url)
    if key not in _ready:
        audit_metadata.create_all(conn, checkfirst=True)
        _ready.add(key)


def record(target: str | Engine | Connection, user: str | None, role: str | None, action: str,
           detail: Mapping[str, Any] | None = None) -> None:
    """Append one audit record (UTC time). `detail` says what was asked for; it must hold no patient data."""
    values = {
        "at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "user": (user or "anonymous")[:320],
        "role": (role or "none")[:32],
        "action": action[:64],
        "detail": json.dumps(dict(detail or {}), default=str, sort_keys=True),
    }
    if isinstance(target, Connection):
        _ensure_table(target)
        target.execute(insert(audit_log).values(**values))
        return
    engine = audit_engine(target) if isinstance(target, str) else target
    with engine.begin() as conn:
        _ensure_table(conn)
        conn.execute(insert(audit_log).values(**values))


def read_audit(target: str | Engine, limit: int | None = 500, action: str | None = None) -> pd.DataFrame:
    """Audit records, newest first (empty frame when nothing was recorded yet)."""
    engine = audit_engine(target) if isinstance(target, str) else target
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(audit_log.name):
            return pd.DataFrame(columns=AUDIT_COLUMNS)
        query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=AUDIT_COLUMNS)
