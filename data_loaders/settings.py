"""Settings from the environment, in one place (documented in README 'Configuration')."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
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


AUTH_MODES = ("none", "oidc", "header", "password")
ROLES = ("viewer", "analyst", "data_manager")  # least to most; access.py holds what each may do


def _role(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ROLES:
        raise ValueError(f"{name}={raw!r} must be one of {', '.join(ROLES)}")
    return value


def parse_role_map(raw: str) -> dict[str, str]:
    """`BSOL_ROLE_MAP="BSol.Analyst=analyst,6f1c...=data_manager"`: identity-provider claim values -> roles."""
    mapping: dict[str, str] = {}
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        claim, sep, role = item.rpartition("=")
        if not sep or not claim.strip():
            raise ValueError(f"BSOL_ROLE_MAP item {item!r} must look like CLAIM_VALUE=ROLE")
        mapping[claim.strip()] = _role("BSOL_ROLE_MAP", role)
    return mapping


@dataclass(frozen=True)
class AuthSettings:
    """Who may sign in and how (README 'Sign-in'); read once at start-up and passed to access.py."""

    mode: str = "none"
    default_role: str = "analyst"  # everyone's role when mode is none
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    session_minutes: int = 480  # absolute lifetime of a sign-in
    idle_minutes: int = 60  # signed out after this long without a request
    tls: bool = False  # served over HTTPS (directly or behind a TLS proxy): HSTS + Secure cookies
    role_map: dict[str, str] = field(default_factory=dict)
    oidc_metadata_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_scope: str = "openid profile email"
    oidc_role_claim: str = "roles"
    oidc_user_claim: str = "preferred_username"
    locality_claim: str = ""
    public_url: str = ""  # e.g. https://outcomes.bsol.nhs.uk (the redirect URI is this + /auth/callback)
    proxy_user_header: str = "X-Forwarded-User"
    proxy_role_header: str = "X-Forwarded-Groups"
    proxy_locality_header: str = ""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    login_rate: str = "5 per minute"
    max_request_bytes: int = 1_000_000

    @property
    def signs_in(self) -> bool:
        return self.mode != "none"


def load_auth_settings() -> AuthSettings:
    mode = os.environ.get("AUTH_MODE", "none").strip().lower() or "none"
    if mode not in AUTH_MODES:
        raise ValueError(f"AUTH_MODE={mode!r} must be one of {', '.join(AUTH_MODES)}")
    secret = os.environ.get("BSOL_SECRET_KEY", "").strip()
    if mode != "none" and len(secret) < 32:
        raise ValueError(f"AUTH_MODE={mode} needs BSOL_SECRET_KEY: at least 32 random characters "
                         "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), the same on every worker")
    proxies = []
    for item in (p.strip() for p in os.environ.get("BSOL_TRUSTED_PROXIES", "").split(",")):
        if item:
            try:
                proxies.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"BSOL_TRUSTED_PROXIES item {item!r} is not an IP address or network") from None
    auth = AuthSettings(
        mode=mode,
        default_role=_role("BSOL_DEFAULT_ROLE", os.environ.get("BSOL_DEFAULT_ROLE", "analyst")),
        **({"secret_key": secret} if secret else {}),
        session_minutes=env_int("BSOL_SESSION_MINUTES", 480, minimum=1),
        idle_minutes=env_int("BSOL_IDLE_MINUTES", 60, minimum=1),
        tls=env_bool("BSOL_TLS", mode != "none"),
        role_map=parse_role_map(os.environ.get("BSOL_ROLE_MAP", "")),
        oidc_metadata_url=os.environ.get("BSOL_OIDC_METADATA_URL", "").strip(),
        oidc_client_id=os.environ.get("BSOL_OIDC_CLIENT_ID", "").strip(),
        oidc_client_secret=os.environ.get("BSOL_OIDC_CLIENT_SECRET", "").strip(),
        oidc_scope=os.environ.get("BSOL_OIDC_SCOPE", "openid profile email").strip(),
        oidc_role_claim=os.environ.get("BSOL_OIDC_ROLE_CLAIM", "roles").strip(),
        oidc_user_claim=os.environ.get("BSOL_OIDC_USER_CLAIM", "preferred_username").strip(),
        locality_claim=os.environ.get("BSOL_LOCALITY_CLAIM", "").strip(),
        public_url=os.environ.get("BSOL_PUBLIC_URL", "").strip().rstrip("/"),
        proxy_user_header=os.environ.get("BSOL_PROXY_USER_HEADER", "X-Forwarded-User").strip(),
        proxy_role_header=os.environ.get("BSOL_PROXY_ROLE_HEADER", "X-Forwarded-Groups").strip(),
        proxy_locality_header=os.environ.get("BSOL_PROXY_LOCALITY_HEADER", "").strip(),
        trusted_proxies=tuple(proxies),
        login_rate=os.environ.get("BSOL_LOGIN_RATE", "5 per minute").strip(),
        max_request_bytes=env_int("BSOL_MAX_REQUEST_BYTES", 1_000_000, minimum=10_000),
    )
    if mode == "oidc" and not (auth.oidc_metadata_url and auth.oidc_client_id):
        raise ValueError("AUTH_MODE=oidc needs BSOL_OIDC_METADATA_URL and BSOL_OIDC_CLIENT_ID (README 'Sign-in')")
    if mode == "header" and not proxies:
        raise ValueError("AUTH_MODE=header needs BSOL_TRUSTED_PROXIES: the address(es) of the signing-in proxy")
    return auth


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
    auth: AuthSettings = field(default_factory=AuthSettings)
    cli_role: str | None = None  # BSOL_CLI_ROLE: the role shell access carries (unset: none; --exact needs --as)

    @property
    def is_embedded(self) -> bool:
        from data_loaders.dialect import is_embedded

        return is_embedded(self.database_url)


DEFAULT_DEMO_SIZE = "full"
"""What `python app.py` builds when no data is loaded: BSol's size, the one at which every locality's
latest quarterly figures are values, not [c] (medium hides 4 of 264; tests use small)."""


def load_settings() -> Settings:
    """Read settings now (not at import) so tests and the CLI can change the environment."""
    data_dir = Path(os.environ.get("BSOL_DATA_DIR", "data")).resolve()
    from data_loaders.dialect import default_database_url

    url = os.environ.get("DATABASE_URL", "").strip() or default_database_url(data_dir)
    from data_loaders.demo import DEMO_SIZES

    demo_size = os.environ.get("BSOL_DEMO_SIZE", DEFAULT_DEMO_SIZE)
    if demo_size not in DEMO_SIZES:
        raise ValueError(f"BSOL_DEMO_SIZE={demo_size!r} must be one of {', '.join(DEMO_SIZES)}")
    auth = load_auth_settings()
    debug = env_bool("BSOL_DEBUG", False)
    if debug and auth.signs_in:
        raise ValueError("BSOL_DEBUG=true is refused with sign-in on (AUTH_MODE is not none): debug mode "
                         "runs code from the browser and shows tracebacks")
    return Settings(
        data_dir=data_dir,
        database_url=url,
        debug=debug,
        host=os.environ.get("BSOL_HOST", "127.0.0.1"),
        port=env_int("BSOL_PORT", 8050, minimum=1),
        suppress_max=env_int("BSOL_SUPPRESS_MAX", 7, minimum=0),
        round_to=env_int("BSOL_ROUND_TO", 5, minimum=1),
        min_dsr_count=env_int("BSOL_MIN_DSR_COUNT", 10, minimum=0),
        cache_timeout=env_int("BSOL_CACHE_TIMEOUT", 600, minimum=0),
        prepost_window_months=env_int("BSOL_PREPOST_MONTHS", 6, minimum=1),
        demo_size=demo_size,
        audit_url=os.environ.get("BSOL_AUDIT_URL", "").strip() or default_audit_url(url, data_dir),
        auth=auth,
        cli_role=_role("BSOL_CLI_ROLE", raw) if (raw := os.environ.get("BSOL_CLI_ROLE", "").strip()) else None,
    )


def default_audit_url(database_url: str, data_dir: Path) -> str:
    """The audit log sits in the main database, except beside an embedded file (see tables.py)."""
    from data_loaders import dialect

    return dialect.default_audit_url(database_url, data_dir)
