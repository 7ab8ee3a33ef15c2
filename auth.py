"""Sign-in flows and web hardening, installed on the Flask server by `init_app`.

Modes (AUTH_MODE, parsed in data_loaders/settings.py): `none` (demo: everyone has
BSOL_DEFAULT_ROLE; a banner says sign-in is off), `oidc` (OpenID Connect authorisation code flow
with PKCE via Authlib; role from a claim through BSOL_ROLE_MAP), `header` (an authenticating
reverse proxy's headers, believed only from BSOL_TRUSTED_PROXIES) and `password` (local argon2
accounts, login rate-limited). Whatever the mode, access.check_request is the only gate.

Hardening: security headers and a CSP that Dash runs under (Flask-Talisman), HttpOnly/SameSite
session cookies (Secure behind TLS) that expire, CSRF tokens on the sign-in forms, a request-size
limit, plain 4xx pages for bad requests and a generic 500 page (no tracebacks, no versions).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from wtforms.validators import ValidationError

import access
from data_loaders.settings import AuthSettings

log = logging.getLogger(__name__)
AUDIT_URL_KEY = "BSOL_AUDIT_URL"
UNAVAILABLE = "The database is unavailable just now (a load may be finishing, or it is being restarted). " \
              "Try again in a minute."


def audit_event(action: str, detail: Mapping[str, Any] | None = None, user: str | None = None,
                role: str | None = None) -> None:
    """Audit a web action as the current caller; an audit-store failure is logged, never shown to the user."""
    from data_loaders.audit import record

    identity = access.current_identity() if user is None else None
    try:
        record(current_app.config[AUDIT_URL_KEY], user or (identity.user if identity else None),
               role or (identity.role if identity else None), action,
               {**dict(detail or {}), "ip": request.remote_addr})
    except SQLAlchemyError:
        log.exception("audit record failed: %s", action)


# --------------------------------------------------------------------------- pages of the sign-in flow
_PAGE = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{title} | BSol outcomes dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:Arial,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#212b32}}
label{{display:block;margin-top:1rem;font-weight:bold}}input{{font-size:1rem;padding:.4rem;width:100%}}
button{{margin-top:1.2rem;font-size:1rem;padding:.5rem 1.2rem;background:#005eb8;color:#fff;border:0}}
.error{{color:#d5281b;font-weight:bold}}a.button{{display:inline-block;margin-top:1rem;padding:.5rem 1.2rem;
background:#005eb8;color:#fff;text-decoration:none}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(_PAGE.format(title=html.escape(title), body=body), status=status, mimetype="text/html")


def _safe_next(raw: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    target = raw or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _landing(identity: access.Identity, target: str) -> str:
    """An LDP chair lands on their locality (their default view only; see access.py)."""
    if target == "/" and identity.locality:
        from urllib.parse import urlencode

        return "/?" + urlencode({"locality": identity.locality})
    return target


def _password_form(next_url: str, message: str = "", status: int = 200) -> Response:
    error = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    body = f"""{error}<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{generate_csrf()}">
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>"""
    return page("Sign in", body, status)


def _signed_in(identity: access.Identity, how: str, target: str) -> Response:
    access.start_session(identity)
    audit_event("sign_in", {"method": how}, user=identity.user, role=identity.role)
    return redirect(_landing(identity, target))


def _register_routes(server: Flask, limiter: Limiter) -> None:
    # The mode is read per request from the app's settings (one app object serves any mode).

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(lambda: access.auth_settings().login_rate, methods=["POST"])
    def login() -> Response:
        auth = access.auth_settings()
        next_url = _safe_next(request.values.get("next"))
        expired = "Your session expired: please sign in again." if request.args.get("expired") else ""
        if auth.mode in ("none", "header"):
            return redirect(next_url)
        if auth.mode == "oidc":
            session["next"] = next_url
            redirect_uri = (auth.public_url or request.host_url.rstrip("/")) + "/auth/callback"
            return _oidc_client(auth).authorize_redirect(redirect_uri)
        if request.method == "GET":
            return _password_form(next_url, expired)
        validate_csrf(request.form.get("csrf_token"))
        username = request.form.get("username", "").strip()
        from data_loaders.accounts import verify

        account = verify(current_app.config[AUDIT_URL_KEY], username, request.form.get("password", ""))
        if account is None:
            audit_event("sign_in_failed", {"method": "password"}, user=username[:320] or None, role="none")
            return _password_form(next_url, "The user name or password is not right.", 401)
        return _signed_in(access.Identity(account.username, account.role, account.locality), "password", next_url)

    @server.route("/auth/callback")
    def auth_callback() -> Response:
        auth = access.auth_settings()
        if auth.mode != "oidc":
            return page("Not found", "<p>Not found.</p>", 404)
        from authlib.integrations.base_client.errors import OAuthError

        try:
            token = _oidc_client(auth).authorize_access_token()
        except OAuthError as error:
            audit_event("sign_in_failed", {"method": "oidc", "error": error.error}, user=None, role="none")
            return page("Sign-in failed", f"<p>The identity provider said: {html.escape(str(error.error))}.</p>"
                        '<p><a class="button" href="/login">Try again</a></p>', 401)
        claims = dict(token.get("userinfo") or {})
        user = str(claims.get(auth.oidc_user_claim) or claims.get("email") or claims.get("sub") or "")
        values = claims.get(auth.oidc_role_claim) or []
        values = [values] if isinstance(values, str) else [str(v) for v in values]
        role = access.highest_role(values, auth.role_map)
        if not user or role is None:
            audit_event("sign_in_failed", {"method": "oidc", "reason": "no role", "claims": values[:20]},
                        user=user or None, role="none")
            return page("No access", "<p>You are signed in with your organisation, but your account has no role "
                        "in this dashboard. Ask the data team for access.</p>", 403)
        locality = str(claims.get(auth.locality_claim) or "") if auth.locality_claim else ""
        return _signed_in(access.Identity(user, role, locality or None), "oidc", _safe_next(session.get("next")))

    @server.route("/logout", methods=["POST"])
    def logout() -> Response:
        validate_csrf(request.form.get("csrf_token"))
        identity = access.current_identity() if access.auth_settings().mode in ("oidc", "password") else None
        if identity is not None:
            audit_event("sign_out", {})
        session.clear()
        return page("Signed out", '<p>You have signed out.</p><p><a class="button" href="/login">Sign in</a></p>')


def _oidc_client(auth: AuthSettings) -> Any:
    """Authlib's client for the configured provider (its metadata is fetched once, on first sign-in)."""
    from authlib.integrations.flask_client import OAuth

    clients = current_app.extensions.setdefault("bsol_oidc", {})
    key = (auth.oidc_metadata_url, auth.oidc_client_id)
    if key in clients:
        return clients[key]
    oauth = OAuth(current_app)
    clients[key] = oauth.register(
        f"idp{len(clients)}",
        client_id=auth.oidc_client_id,
        client_secret=auth.oidc_client_secret or None,
        server_metadata_url=auth.oidc_metadata_url,
        client_kwargs={"scope": auth.oidc_scope, "code_challenge_method": "S256"},
    )
    return clients[key]


# --------------------------------------------------------------------------- hardening
def csp(script_hashes: list[str]) -> dict[str, Any]:
    """Dash runs under this: scripts from the app only (+ the renderer's inline bootstrap by hash);
    inline styles are needed by Plotly and Dash components; no framing; no plugins."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def _register_errors(server: Flask) -> None:
    @server.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 400
        wants_json = request.path.startswith("/_dash") or request.is_json
        text = error.description if code < 500 else "Something went wrong."
        if wants_json:
            import json

            return Response(json.dumps({"error": text}), status=code, mimetype="application/json")
        return page(error.name, f"<p>{html.escape(text)}</p>", code)

    @server.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return page("Form expired", "<p>The form expired or did not come from this site: go back and try again.</p>",
                    400)

    @server.errorhandler(ValidationError)
    def csrf_invalid(error: ValidationError) -> Response:
        return csrf_error(CSRFError(str(error)))

    @server.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError) -> Response:
        log.warning("database unavailable: %s", error.__class__.__name__, exc_info=error)
        return page("Database unavailable", f"<p>{UNAVAILABLE}</p>", 503)

    @server.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_error(error)
        if is_database_error(error):
            return database_error(SQLAlchemyError(str(error)))
        log.exception("unhandled error on %s", request.path)
        return page("Something went wrong", "<p>Something went wrong. The error has been logged.</p>", 500)


def is_database_error(error: BaseException) -> bool:
    """A database that is down, missing or being swapped (SQLAlchemy's or the DuckDB driver's own errors)."""
    from data_loaders.dialect import is_driver_error

    return isinstance(error, SQLAlchemyError) or is_driver_error(error)


def init_app(server: Flask, auth: AuthSettings, audit_url: str, script_hashes: Callable[[], list[str]]) -> None:
    """`script_hashes()` gives Dash's inline-script hashes, asked on every response (Dash adds its
    own inline scripts, the pages title callback, on the first request its hooks see)."""
    server.config.update(
        SECRET_KEY=auth.secret_key,
        BSOL_AUDIT_URL=audit_url,
        MAX_CONTENT_LENGTH=auth.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=min(auth.max_request_bytes, 500_000),
        SESSION_COOKIE_NAME="bsol_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=auth.tls,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=auth.session_minutes),
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=auth.tls,
        PROPAGATE_EXCEPTIONS=False,
    )
    Talisman(server, force_https=False, strict_transport_security=False,  # HSTS: no_versions() below
             session_cookie_secure=auth.tls, frame_options="DENY", content_security_policy=None,
             referrer_policy="strict-origin-when-cross-origin", permissions_policy={"browsing-topics": "()",
                                                                                   "camera": "()",
                                                                                   "microphone": "()",
                                                                                   "geolocation": "()"})
    limiter = Limiter(get_remote_address, app=server, storage_uri="memory://", default_limits=[])

    policies: dict[tuple[str, ...], str] = {}

    @server.after_request
    def no_versions(response: Response) -> Response:
        # Worked out per response: Dash adds its inline scripts (the pages title callback) on the
        # first request its own hooks see, which is not the first request when sign-in or a refusal
        # answered that one first; a policy fixed then would block them for good.
        hashes = tuple(script_hashes())
        if hashes not in policies:
            policies[hashes] = "; ".join(f"{k} {' '.join(v) if isinstance(v, list) else v}"
                                         for k, v in csp(list(hashes)).items())
        response.headers["Content-Security-Policy"] = policies[hashes]
        response.headers["Server"] = "bsol"
        if access.auth_settings().tls:  # served over HTTPS (here or at the TLS proxy)
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.path.startswith(("/download", "/_dash-update-component")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _register_routes(server, limiter)
    _register_errors(server)
