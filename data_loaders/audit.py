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
from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, insert, select

from data_loaders.dialect import make_engine
from data_loaders.migrate import upgrade
from data_loaders.tables import audit_log

AUDIT_COLUMNS = [c.name for c in audit_log.columns]
_engines: dict[str, Engine] = {}
_ready: set[str] = set()


def audit_engine(url: str) -> Engine:
    """One engine per audit URL per process; the table is created on first use (a SQLite file
    beside an embedded database gets WAL and a busy timeout: data_loaders.dialect.make_engine)."""
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    return engine


def ensure_audit_tables(conn: Connection) -> None:
    """The audit chain upgraded on this database, once per process (sign-ins must stay cheap)."""
    key = str(conn.engine.url)
    if key not in _ready:
        upgrade(conn, "audit")  # Alembic: the audit chain
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
        ensure_audit_tables(target)
        target.execute(insert(audit_log).values(**values))
        return
    engine = audit_engine(target) if isinstance(target, str) else target
    with engine.begin() as conn:
        ensure_audit_tables(conn)
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
