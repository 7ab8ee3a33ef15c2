"""Who is asking, and may they: the ONE server-side check for every route, callback and download.

Roles (least to most): viewer (pages), analyst (+ downloads, Excel packs), data_manager (+ loads,
the load log's details, the audit log, exact exports). `check_request` runs before every request:
it works out the identity for the configured `AUTH_MODE` (see auth.py for the sign-in flows),
refuses anyone not signed in (a redirect to /login for a page, 401 for anything else), and
refuses a role below what the path (ROUTES) or the Dash callback's outputs (CALLBACKS) need.
Code that shapes a response by role (the Data page) asks `can(permission)`; hiding a button is
never the check.

Locality scoping (LDP chairs): a user's locality (from a claim, header or account) only sets
their default view (sign-in lands on that locality); it does not limit what they may see, because
every page shows the same disclosure-controlled aggregates to every signed-in user and the plan's
comparisons need BSol and the other localities.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, abort, current_app, redirect, request, session

from data_loaders.settings import ROLES, AuthSettings
from layouts import ids

RANK = {role: i for i, role in enumerate(ROLES)}

PERMISSIONS = {
    "pages": "viewer",
    "downloads": "analyst",
    "packs": "analyst",
    "load_details": "data_manager",
    "audit": "data_manager",
    "exact_exports": "data_manager",
    "loads": "data_manager",
}

# Route prefixes and the permission they need (longest prefix wins).
ROUTES = {
    "/": "pages",
    "/download/": "downloads",
    "/download/audit": "audit",
    "/pack": "packs",
}
# Reachable without signing in: the sign-in flow itself.
PUBLIC = ("/login", "/logout", "/auth/callback")

# Dash callbacks whose outputs carry more than a page: output component id (or pattern type) -> permission.
CALLBACKS = {
    ids.PACK_DOWNLOAD: "packs",
    ids.PACK_STATUS: "packs",
}
DASH_CALLBACK_PATH = "/_dash-update-component"


IDENTITY_KEY, _EXPIRED = "bsol.identity", "bsol.session_expired"
_IDENTITY = IDENTITY_KEY


@dataclass(frozen=True)
class Identity:
    user: str
    role: str
    locality: str | None = None


def has_role(role: str | None, needed: str) -> bool:
    return role in RANK and RANK[role] >= RANK[needed]


def auth_settings() -> AuthSettings:
    return current_app.config["BSOL_AUTH"]


def _now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


# --------------------------------------------------------------------------- identity
def highest_role(values: list[str], role_map: dict[str, str]) -> str | None:
    """The highest role any of the claim/header values maps to (role names themselves if no map)."""
    roles = [role_map.get(v, "") if role_map else v.strip().lower() for v in values]
    roles = [r for r in roles if r in RANK]
    return max(roles, key=RANK.__getitem__) if roles else None


def trusted_proxy(remote: str | None, auth: AuthSettings) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in net for net in auth.trusted_proxies)


def _from_proxy(auth: AuthSettings) -> Identity | None:
    if not trusted_proxy(request.remote_addr, auth):
        abort(403, "Requests must come through the organisation's sign-in proxy.")
    user = request.headers.get(auth.proxy_user_header, "").strip()
    if not user:
        return None
    values = [v.strip() for v in request.headers.get(auth.proxy_role_header, "").split(",") if v.strip()]
    role = highest_role(values, auth.role_map)
    if role is None:
        abort(403, "Your account has no role in this dashboard: ask the data team for access.")
    locality = request.headers.get(auth.proxy_locality_header, "").strip() if auth.proxy_locality_header else ""
    return Identity(user, role, locality or None)


def start_session(identity: Identity) -> None:
    """Record a sign-in in the (signed, HttpOnly) session cookie; auth.py calls this after checking."""
    session.clear()
    session.permanent = True
    now = _now()
    session.update({"user": identity.user, "role": identity.role, "locality": identity.locality,
                    "signed_in": now, "seen": now})


def _from_session(auth: AuthSettings) -> Identity | None:
    user, role = session.get("user"), session.get("role")
    if not user or role not in RANK:
        return None
    now = _now()
    signed_in, seen = float(session.get("signed_in", 0)), float(session.get("seen", 0))
    if now - signed_in > auth.session_minutes * 60 or now - seen > auth.idle_minutes * 60:
        session.clear()
        request.environ[_EXPIRED] = True
        return None
    if now - seen > 30:  # refresh the idle clock without rewriting the cookie on every request
        session["seen"] = now
    return Identity(user, role, session.get("locality"))


def current_identity() -> Identity | None:
    """The caller for this request (None: not signed in). Worked out once per request (kept in the
    request's WSGI environ, not in `g`, which can outlive a request when an app context is reused)."""
    env = request.environ
    if _IDENTITY not in env:
        auth = auth_settings()
        if auth.mode == "none":
            env[_IDENTITY] = Identity("anonymous (sign-in off)", auth.default_role)
        elif auth.mode == "header":
            env[_IDENTITY] = _from_proxy(auth)
        else:
            env[_IDENTITY] = _from_session(auth)
    return env[_IDENTITY]


def current_role() -> str:
    identity = current_identity()
    return identity.role if identity else "none"


def can(permission: str) -> bool:
    return has_role(current_role(), PERMISSIONS[permission])


# --------------------------------------------------------------------------- rules
def route_permission(path: str) -> str:
    best = max((p for p in ROUTES if path.startswith(p)), key=len)
    return ROUTES[best]


def output_components(output_key: str) -> list[str]:
    """Component ids (pattern ids: their type) in a Dash output key ("a.children" or "..a.p...b.q..")."""
    parts = output_key[2:-2].split("...") if output_key.startswith("..") else [output_key]
    keys = []
    for part in parts:
        cid = part.rsplit(".", 1)[0]
        if cid.startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                cid = str(json.loads(cid).get("type", cid))
        keys.append(cid)
    return keys


def callback_permissions(body: Any, known_outputs: set[str]) -> set[str]:
    """Permissions a Dash callback request needs, from the output key Dash dispatches on (not from
    the client's `outputs` list); aborts 400 on a body Dash's own renderer could not have sent."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str) or body["output"] not in known_outputs:
        abort(400, "Malformed callback request.")
    for key in ("inputs", "state", "changedPropIds"):
        if key in body and not isinstance(body[key], list):
            abort(400, "Malformed callback request.")
    if not isinstance(body.get("outputs"), (list, dict)) or not isinstance(body.get("inputs"), list):
        abort(400, "Malformed callback request.")
    return {"pages", *(CALLBACKS[c] for c in output_components(body["output"]) if c in CALLBACKS)}


def _refuse_anonymous() -> Response:
    expired = bool(request.environ.get(_EXPIRED))
    wants_page = (request.method == "GET" and auth_settings().mode != "header"
                  and not request.path.startswith(("/_dash", "/download", "/assets")))
    if wants_page:
        target = request.full_path if request.query_string else request.path
        return redirect(f"/login?next={target}{'&expired=1' if expired else ''}")
    message = "Your session has expired: sign in again." if expired else "Sign-in required."
    return Response(json.dumps({"error": message, "sign_in": "/login"}), status=401, mimetype="application/json")


def check_request() -> Response | None:
    """Flask before_request hook: the single gate (see the module docstring)."""
    path = request.path
    if path in PUBLIC:
        return None
    identity = current_identity()
    if identity is None:
        return _refuse_anonymous()
    needed = {route_permission(path)}
    if path == DASH_CALLBACK_PATH and request.method == "POST":
        if not request.is_json:  # a cross-site form cannot send JSON without a CORS preflight
            abort(415, "Callback requests must be JSON.")
        known = current_app.config["BSOL_CALLBACK_OUTPUTS"]()
        needed |= callback_permissions(request.get_json(silent=True), known)
    missing = [p for p in needed if not can(p)]
    if missing:
        from auth import audit_event

        audit_event("refused", {"path": path, "needs": sorted(PERMISSIONS[p] for p in missing)})
        abort(403, "You do not have access to this: ask the data team.")
    return None


def init_app(server: Flask, auth: AuthSettings, callback_outputs: Callable[[], set[str]]) -> None:
    """`callback_outputs()` lists the app's callback output keys (read per request: Dash fills them late)."""
    server.config["BSOL_AUTH"] = auth
    server.config["BSOL_CALLBACK_OUTPUTS"] = callback_outputs
    server.before_request(check_request)


