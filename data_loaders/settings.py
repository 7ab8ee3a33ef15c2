"""Settings from the environment, in one place (documented in README 'Configuration')."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool = False) -> bool:
    """Parse a boolean properly: 'false' and '0' are false (unlike bool(os.environ.get(...)))."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    debug: bool
    host: str
    port: int
    suppress_max: int
    round_to: int
    min_dsr_count: int
    cache_timeout: int
    prepost_window_months: int
    demo_size: str
    audit_url: str

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("duckdb:")


def load_settings() -> Settings:
    """Read settings now (not at import) so tests and the CLI can change the environment."""
    data_dir = Path(os.environ.get("BSOL_DATA_DIR", "data")).resolve()
    url = os.environ.get("DATABASE_URL", "").strip() or f"duckdb:///{data_dir / 'bsol.duckdb'}"
    demo_size = os.environ.get("BSOL_DEMO_SIZE", "small")
    if demo_size not in ("small", "full"):
        raise ValueError(f"BSOL_DEMO_SIZE={demo_size!r} must be 'small' or 'full'")
    return Settings(
        data_dir=data_dir,
        database_url=url,
        debug=env_bool("BSOL_DEBUG", False),
        host=os.environ.get("BSOL_HOST", "127.0.0.1"),
        port=env_int("BSOL_PORT", 8050, minimum=1),
        suppress_max=env_int("BSOL_SUPPRESS_MAX", 7, minimum=0),
        round_to=env_int("BSOL_ROUND_TO", 5, minimum=1),
        min_dsr_count=env_int("BSOL_MIN_DSR_COUNT", 10, minimum=0),
        cache_timeout=env_int("BSOL_CACHE_TIMEOUT", 600, minimum=0),
        prepost_window_months=env_int("BSOL_PREPOST_MONTHS", 6, minimum=1),
        demo_size=demo_size,
        audit_url=os.environ.get("BSOL_AUDIT_URL", "").strip() or default_audit_url(url, data_dir),
    )


def default_audit_url(database_url: str, data_dir: Path) -> str:
    """The audit log sits in the main database, except beside an embedded DuckDB file (see tables.py)."""
    if database_url.startswith("duckdb:"):
        return f"sqlite:///{data_dir / 'audit.sqlite'}"
    return database_url
