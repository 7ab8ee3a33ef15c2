"""The one server-side permission check every route and download passes through.

Roles: viewer (pages), analyst (pages + downloads + packs), data_manager (everything, incl. the
load log details). Today the role comes from `BSOL_DEFAULT_ROLE` (default analyst) or, when
`BSOL_SSO_HEADER` names a header set by a trusted single-sign-on proxy, from that header's value.
Adding real identity later means changing `current_role` only.
"""

from __future__ import annotations

import os

from flask import abort, g, request

ROLES = ("viewer", "analyst", "data_manager")
RANK = {role: i for i, role in enumerate(ROLES)}

# Route prefixes and the least role that may use them (longest prefix wins).
REQUIRED_ROLE = {
    "/": "viewer",
    "/download/": "analyst",
    "/pack": "analyst",
}


def current_role() -> str:
    header = os.environ.get("BSOL_SSO_HEADER", "").strip()
    if header:
        value = request.headers.get(header, "").strip().lower()
        return value if value in RANK else "none"
    role = os.environ.get("BSOL_DEFAULT_ROLE", "analyst").strip().lower()
    if role not in RANK:
        raise ValueError(f"BSOL_DEFAULT_ROLE={role!r} must be one of {', '.join(ROLES)}")
    return role


def required_role(path: str) -> str:
    best = max((p for p in REQUIRED_ROLE if path.startswith(p)), key=len)
    return REQUIRED_ROLE[best]


def has_role(role: str, needed: str) -> bool:
    return role in RANK and RANK[role] >= RANK[needed]


def check_request() -> None:
    """Flask before_request hook: refuse the request unless the caller's role allows the path."""
    role = current_role()
    g.role = role
    if not has_role(role, required_role(request.path)):
        abort(403)
