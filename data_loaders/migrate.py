"""Schema migrations (Alembic) for the stored tables; derived tables are rebuilt by the refresh.

Why this module exists: a PostgreSQL deployment holds loaded extracts, the load log and the audit
log that cannot be recomputed, so a schema change must upgrade them in place, keeping their rows.
Two chains in data_loaders/migrations/versions, each with its own version table, because the audit
tables may sit in another database (a SQLite file beside an embedded DuckDB file):

* ``stored`` (version table ``alembic_version``): every extract table, ``load_log``, ``dataset_info``;
* ``audit`` (version table ``alembic_version_audit``): ``audit_log``, ``app_user``.

Derived tables (``DERIVED_TABLES``: measure_result, prepost_result, prepost_flow, caseload_profile_result,
inequality_result, chart_event, completeness_result, coverage_result)
are not migrated: every refresh recomputes them and recreates one whose columns changed
(``db.ensure_derived_table``). Every write runs ``upgrade`` first inside its own transaction
(``db.write_transaction``), so a load or refresh upgrades the schema atomically with its data;
``flask --app app db upgrade`` does it alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, Table

from data_loaders import dialect
from data_loaders.tables import (
    audit_metadata,
    caseload_profile_result,
    chart_event,
    completeness_result,
    coverage_result,
    inequality_result,
    measure_result,
    metadata,
    prepost_flow,
    prepost_result,
)

dialect.register_migration_engines()
SCRIPTS = Path(__file__).resolve().parent / "migrations"
DERIVED_TABLES: tuple[Table, ...] = (measure_result, prepost_result, prepost_flow, caseload_profile_result,
                                     inequality_result, chart_event, completeness_result, coverage_result)


@dataclass(frozen=True)
class Chain:
    """One migration chain: the tables it owns and where it records its revision."""

    name: str
    metadata: MetaData
    version_table: str
    skip: frozenset[str] = frozenset()

    def owns(self, table_name: str) -> bool:
        return table_name in self.metadata.tables and table_name not in self.skip


CHAINS: dict[str, Chain] = {
    "stored": Chain("stored", metadata, "alembic_version", frozenset(t.name for t in DERIVED_TABLES)),
    "audit": Chain("audit", audit_metadata, "alembic_version_audit"),
}


def _config(chain: Chain, conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["chain"] = chain.name
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def include_object(chain: Chain) -> Any:
    """Autogenerate filter: only this chain's tables (not derived tables, other chains or version tables)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name is not None and chain.owns(name)
        table = getattr(obj, "table", None)
        return table is None or chain.owns(table.name)

    return include


def configure(context: Any, conn: Connection, chain_name: str) -> None:
    """Called by migrations/env.py: run this chain's scripts on the caller's connection."""
    chain = CHAINS[chain_name]
    context.configure(connection=conn, target_metadata=chain.metadata, version_table=chain.version_table,
                      include_object=include_object(chain), compare_type=True,
                      render_as_batch=dialect.needs_batch_alter(conn))


def head(chain_name: str = "stored") -> str:
    """The newest revision of a chain."""
    script = ScriptDirectory.from_config(_config(CHAINS[chain_name]))
    found = script.get_revision(f"{chain_name}@head")
    if found is None:
        raise LookupError(f"no revisions for chain {chain_name!r}")
    return found.revision


def current(conn: Connection, chain_name: str = "stored") -> str | None:
    """The revision a database is at (None: never migrated)."""
    chain = CHAINS[chain_name]
    ctx = MigrationContext.configure(conn, opts={"version_table": chain.version_table})
    return ctx.get_current_revision()


def _adopt(conn: Connection, chain: Chain) -> None:
    """A database built before migrations (by create_all) has the tables but no version table:
    record the revision its schema already matches, so upgrade carries on from there."""
    if current(conn, chain.name) is not None:
        return
    probe = next(iter(t for t in chain.metadata.sorted_tables if chain.owns(t.name)))
    if dialect.stored_columns(conn, probe.name) is None:
        return  # an empty database: upgrade creates everything
    base = "stored_0001" if chain.name == "stored" else "audit_0001"
    if chain.name == "stored":
        spell = dialect.stored_columns(conn, "inpatient_spell") or set()
        if "patient_classification" in spell:
            base = "stored_0002"
    command.stamp(_config(chain, conn), base)


# Alembic's commands publish their context through module globals (alembic.context, .op), so two
# threads migrating at once (the first audit records of a multi-threaded server) break each other.
_ALEMBIC = threading.RLock()


def upgrade(conn: Connection, chain_name: str = "stored", revision: str = "heads") -> None:
    """Upgrade one chain to ``revision`` inside the caller's transaction (rows are kept)."""
    chain = CHAINS[chain_name]
    target = f"{chain_name}@head" if revision == "heads" else revision
    with _ALEMBIC:
        _adopt(conn, chain)
        command.upgrade(_config(chain, conn), target)


def differences(conn: Connection, chain_name: str = "stored") -> list[Any]:
    """What autogenerate would change: empty when the migrations build exactly the models."""
    chain = CHAINS[chain_name]
    ctx = MigrationContext.configure(conn, opts={"version_table": chain.version_table, "compare_type": True,
                                                 "include_object": include_object(chain)})
    return list(compare_metadata(ctx, chain.metadata))


def create_derived(conn: Connection) -> None:
    """Derived tables that do not exist yet (a fresh database): the refresh fills and reshapes them."""
    metadata.create_all(conn, tables=list(DERIVED_TABLES), checkfirst=True)
