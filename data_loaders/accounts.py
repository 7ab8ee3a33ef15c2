"""Local accounts for `AUTH_MODE=password`: argon2id hashes, kept beside the audit log.

Managed with `flask --app app user add|disable|reset`; checked by `verify`. A disabled or unknown
account and a wrong password look the same to the person signing in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from data_loaders.audit import audit_engine, ensure_audit_tables
from data_loaders.settings import ROLES
from data_loaders.tables import app_user

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against this when the account is unknown keeps the answer time the same.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    locality: str | None
    disabled: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _check(username: str, password: str | None, role: str | None) -> None:
    if not username.strip() or len(username) > 320:
        raise ValueError("the user name must be 1 to 320 characters")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
    if role is not None and role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)}")


def add_user(url: str, username: str, password: str, role: str, locality: str | None = None) -> None:
    _check(username, password, role)
    with audit_engine(url).begin() as conn:
        ensure_audit_tables(conn)
        if conn.execute(select(app_user.c.username).where(app_user.c.username == username)).first():
            raise ValueError(f"user {username!r} already exists (use `user reset`)")
        conn.execute(insert(app_user).values(username=username, password_hash=_hasher.hash(password), role=role,
                                             locality=locality or None, disabled=False, updated_at=_now()))


def _update(url: str, username: str, **values: object) -> None:
    with audit_engine(url).begin() as conn:
        ensure_audit_tables(conn)
        done = conn.execute(update(app_user).where(app_user.c.username == username).values(updated_at=_now(), **values))
        if done.rowcount != 1:
            raise ValueError(f"no user {username!r}")


def disable_user(url: str, username: str) -> None:
    _update(url, username, disabled=True)


def reset_user(url: str, username: str, password: str, role: str | None = None) -> None:
    """New password (and optionally role); re-enables a disabled account."""
    _check(username, password, role)
    _update(url, username, password_hash=_hasher.hash(password), disabled=False, **({"role": role} if role else {}))


def verify(url: str, username: str, password: str) -> Account | None:
    """The account if the password is right and the account is enabled, else None."""
    with audit_engine(url).begin() as conn:
        ensure_audit_tables(conn)
        row = conn.execute(select(app_user).where(app_user.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return Account(row.username, row.role, row.locality, bool(row.disabled))
