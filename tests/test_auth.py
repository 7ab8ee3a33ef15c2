"""Who may see what: every sign-in mode and role, against the real app (Flask test client).

The OIDC tests sign in through a REAL OpenID provider (npm oidc-provider, tests/oidc_server.py);
password accounts are real argon2 hashes in the real accounts table. One app object serves every
mode here: the mode is read per request from `server.config["BSOL_AUTH"]`, which each test sets
to the AuthSettings that `AUTH_MODE=...` would produce (test_serving.py starts the app from the
environment in a real server process).
"""

from __future__ import annotations

import ipaddress
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dash
import pytest
from flask import Flask
from flask.testing import FlaskClient

from data_loaders.accounts import add_user, disable_user, reset_user
from data_loaders.audit import read_audit
from data_loaders.settings import AuthSettings
from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, OidcServer, OidcUnavailable

ROLE_MAP = {"BSol.Viewer": "viewer", "BSol.Analyst": "analyst", "BSol.DataManager": "data_manager"}
PASSWORD = "correct horse battery staple"
MEASURE_CSV = "/download/measure/m05_ucr_2h.csv"
PACK_OUTPUT = "..pack-download.data...pack-status.children.."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, kat_db: Path) -> Iterator[Flask]:
    data_dir = tmp_path_factory.mktemp("auth-data")
    shutil.copyfile(kat_db, data_dir / "bsol.duckdb")  # the run's known-answer database (conftest)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BSOL_DATA_DIR", str(data_dir))
        mp.delenv("DATABASE_URL", raising=False)
        mp.delenv("BSOL_AUDIT_URL", raising=False)
        from app import create_app

        srv = create_app().server
        original = srv.config["BSOL_AUTH"], srv.config["BSOL_AUDIT_URL"]
        srv.config["BSOL_AUDIT_URL"] = f"sqlite:///{data_dir / 'audit.sqlite'}"
        srv.test_client().get("/")  # Dash registers its callbacks on the first request
        yield srv
        srv.config["BSOL_AUTH"], srv.config["BSOL_AUDIT_URL"] = original


def use(server: Flask, mode: str, **changes: Any) -> AuthSettings:
    base: dict[str, Any] = {"secret_key": server.config["SECRET_KEY"], "tls": False, "role_map": ROLE_MAP,
                            "login_rate": "1000 per minute"}
    auth = AuthSettings(mode=mode, **{**base, **changes})
    server.config["BSOL_AUTH"] = auth
    return auth


def audit_url(server: Flask) -> str:
    return server.config["BSOL_AUDIT_URL"]


# --------------------------------------------------------------------------- every page and callback
def page_paths() -> list[str]:
    return sorted({p["path"] for p in dash.page_registry.values()} | {"/measure/m05_ucr_2h", "/nope"})


def callback_body(app: Any, key: str) -> dict[str, Any]:
    """A request body as Dash's renderer would send it for this callback (inputs with empty values)."""
    spec = app.callback_map[key]

    def item(dep: dict[str, Any]) -> dict[str, Any]:
        cid = json.loads(dep["id"]) if dep["id"].startswith("{") else dep["id"]
        return {"id": cid, "property": dep["property"], "value": None}

    outputs = [{"id": json.loads(o.rsplit(".", 1)[0]) if o.startswith("{") else o.rsplit(".", 1)[0],
                "property": o.rsplit(".", 1)[1]} for o in (key[2:-2].split("...") if key.startswith("..") else [key])]
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [item(d) for d in spec["inputs"]], "state": [item(d) for d in spec.get("state", [])],
            "changedPropIds": []}


def dash_app() -> Any:
    """A Dash app, for its callback specs (every app built has the same callbacks)."""
    import app as app_module

    return app_module.default_app()


ANONYMOUS_TARGETS = ["/_dash-layout", "/_dash-dependencies", "/assets/style.css", MEASURE_CSV, "/download/prepost.csv",
                     "/download/audit.csv"]


@pytest.mark.parametrize("mode", ["oidc", "password"])
def test_anonymous_gets_nothing_but_the_sign_in(server: Flask, mode: str) -> None:
    use(server, mode, oidc_metadata_url="http://127.0.0.1:9/unused", oidc_client_id=CLIENT_ID)
    client = server.test_client()
    for path in page_paths():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    for path in ANONYMOUS_TARGETS:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json == {"error": "Sign-in required.", "sign_in": "/login"}, path
    app = dash_app()
    assert len(app.callback_map) >= 10
    for key in app.callback_map:
        response = client.post("/_dash-update-component", json=callback_body(app, key))
        assert response.status_code == 401, key
        assert set(response.json) == {"error", "sign_in"}, key


def test_sign_in_off_shows_a_banner_and_gives_the_configured_role(server: Flask) -> None:
    use(server, "none", default_role="viewer")
    client = server.test_client()
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "Sign-in is off." in layout and "viewer role" in layout
    assert client.get(MEASURE_CSV).status_code == 403
    use(server, "none", default_role="analyst")
    assert client.get(MEASURE_CSV).status_code == 200


# --------------------------------------------------------------------------- roles
def _signed_in_client(server: Flask, role: str) -> FlaskClient:
    """A client whose session says `role` (the session is made by the real start_session)."""
    import access

    client = server.test_client()
    with server.test_request_context("/"):
        access.start_session(access.Identity(f"{role}@test", role))
        from flask import session

        values = dict(session)
    with client.session_transaction() as s:
        s.update(values)
    return client


def test_viewer_is_refused_an_analysts_download_by_url_and_by_callback_replay(server: Flask) -> None:
    use(server, "password")
    viewer, analyst = _signed_in_client(server, "viewer"), _signed_in_client(server, "analyst")
    assert viewer.get("/").status_code == 200
    for path in (MEASURE_CSV, "/download/measure/m05_ucr_2h.xlsx", "/download/prepost.csv?cohort=all&window=3"):
        assert viewer.get(path).status_code == 403, path
    body = callback_body(dash_app(), PACK_OUTPUT)
    body["inputs"][0]["value"] = 1
    refused = viewer.post("/_dash-update-component", json=body)
    assert refused.status_code == 403 and b"PK" not in refused.data
    # ... and cannot dress the replay up as a page callback by editing the outputs list
    disguised = {**body, "outputs": callback_body(dash_app(), "home-content.children")["outputs"]}
    assert viewer.post("/_dash-update-component", json=disguised).status_code == 403
    # the analyst gets both, and the download is on record
    got = analyst.get(MEASURE_CSV)
    assert got.status_code == 200 and got.data.startswith(b"\xef\xbb\xbf")
    pack = analyst.post("/_dash-update-component", json=body)
    assert pack.status_code == 200
    assert pack.json["response"]["pack-download"]["data"]["filename"] == "bsol-pack-bsol.xlsx"
    log = read_audit(audit_url(server))
    assert {"download", "pack", "refused"} <= set(log["action"])
    downloaded = log[log["action"] == "download"].iloc[0]
    assert downloaded["user"] == "analyst@test" and json.loads(downloaded["detail"])["path"] == MEASURE_CSV


def test_load_details_and_audit_log_are_for_data_managers(server: Flask) -> None:
    use(server, "password")
    body = callback_body(dash_app(), "data-content.children")
    texts = {}
    for role in ("viewer", "analyst", "data_manager"):
        client = _signed_in_client(server, role)
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200
        texts[role] = response.get_data(as_text=True)
        assert client.get("/download/audit.csv").status_code == (200 if role == "data_manager" else 403)
    for role in ("viewer", "analyst"):
        assert "shown to data managers only" in texts[role] and "Audit log" not in texts[role]
    assert "Every load that landed" in texts["data_manager"] and "Audit log" in texts["data_manager"]
    exported = _signed_in_client(server, "data_manager").get("/download/audit.csv").get_data(as_text=True)
    assert exported.lstrip("\ufeff").startswith("id,at,user,role,action,detail")


# --------------------------------------------------------------------------- password mode
def _login(client: FlaskClient, username: str, password: str, next_url: str = "/") -> Any:
    form = client.get(f"/login?next={next_url}").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                       "next": next_url})


def test_password_accounts_sign_in_disable_and_reset(server: Flask) -> None:
    use(server, "password")
    url = audit_url(server)
    add_user(url, "chair.north", PASSWORD, "analyst", locality="North")
    client = server.test_client()
    assert _login(client, "chair.north", "wrong password!!").status_code == 401
    signed = _login(client, "chair.north", PASSWORD)
    assert signed.status_code == 302 and signed.headers["Location"] == "/?locality=North"  # LDP chair's default view
    assert client.get(MEASURE_CSV).status_code == 200
    assert "Signed in as chair.north (analyst)" in client.get("/_dash-layout").get_data(as_text=True)
    disable_user(url, "chair.north")
    assert _login(server.test_client(), "chair.north", PASSWORD).status_code == 401
    reset_user(url, "chair.north", PASSWORD + "!", role="viewer")
    again = server.test_client()
    assert _login(again, "chair.north", PASSWORD + "!", "/data").headers["Location"] == "/data"
    assert again.get(MEASURE_CSV).status_code == 403
    log = read_audit(url)
    mine = log[(log["user"] == "chair.north") & log["action"].str.startswith("sign_in")]
    assert list(mine["action"]) == ["sign_in", "sign_in_failed", "sign_in", "sign_in_failed"]  # newest first
    assert "refused" in set(log[log["user"] == "chair.north"]["action"])
    with pytest.raises(ValueError, match="at least 12"):
        add_user(url, "short", "tiny", "viewer")


def test_login_needs_its_csrf_token_and_is_rate_limited(server: Flask) -> None:
    use(server, "password", login_rate="3 per minute")
    client = server.test_client()
    no_token = client.post("/login", data={"username": "x", "password": "y"},
                           environ_base={"REMOTE_ADDR": "10.9.9.1"})
    assert no_token.status_code == 400 and b"Traceback" not in no_token.data
    codes = [_login(client, "nobody", "wrong").status_code for _ in range(5)]
    assert codes[:2] == [401, 401] and codes[-1] == 429


def test_expired_session_is_sent_back_to_sign_in(server: Flask) -> None:
    auth = use(server, "password")
    client = _signed_in_client(server, "analyst")
    assert client.get("/").status_code == 200
    with client.session_transaction() as s:
        s["seen"] -= auth.idle_minutes * 60 + 1  # idle for longer than allowed
    response = client.get("/measure/m05_ucr_2h")
    assert response.status_code == 302 and response.headers["Location"].endswith("&expired=1")
    assert client.get(MEASURE_CSV).status_code == 401  # the cookie was cleared: still signed out
    client = _signed_in_client(server, "analyst")
    with client.session_transaction() as s:
        s["signed_in"] -= auth.session_minutes * 60 + 1  # active, but past the absolute lifetime
        s["seen"] = s["signed_in"] + auth.session_minutes * 60
    assert client.post("/_dash-update-component", json=callback_body(dash_app(), "home-content.children")).json == {
        "error": "Your session has expired: sign in again.", "sign_in": "/login"}


# --------------------------------------------------------------------------- header mode
def test_proxy_headers_are_believed_only_from_the_trusted_proxy(server: Flask) -> None:
    use(server, "header", trusted_proxies=(ipaddress.ip_network("10.1.2.3/32"),))
    client = server.test_client()
    analyst = {"X-Forwarded-User": "ana@bsol.nhs.uk", "X-Forwarded-Groups": "Staff,BSol.Analyst"}
    proxy, direct = {"REMOTE_ADDR": "10.1.2.3"}, {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get(MEASURE_CSV, headers=analyst, environ_base=proxy).status_code == 200
    for path in ("/", MEASURE_CSV, "/_dash-layout"):
        forged = client.get(path, headers=analyst, environ_base=direct)
        assert forged.status_code == 403, path
        assert b"sign-in proxy" in forged.data
    forged_local = client.get(MEASURE_CSV, headers={**analyst, "X-Forwarded-For": "10.1.2.3"},
                              environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert forged_local.status_code == 403
    viewer = {"X-Forwarded-User": "vic@bsol.nhs.uk", "X-Forwarded-Groups": "BSol.Viewer"}
    assert client.get(MEASURE_CSV, headers=viewer, environ_base=proxy).status_code == 403
    assert client.get("/", environ_base=proxy).status_code == 401  # the proxy said nobody
    assert client.get("/", headers={"X-Forwarded-User": "x", "X-Forwarded-Groups": "Staff"},
                      environ_base=proxy).status_code == 403  # signed in, but no dashboard role


# --------------------------------------------------------------------------- hardening
def test_security_headers_and_malformed_requests(server: Flask) -> None:
    use(server, "none")
    client = server.test_client()
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Werkzeug" not in page.headers.get("Server", "") and "Python" not in page.headers.get("Server", "")
    assert "Strict-Transport-Security" not in page.headers  # only behind TLS
    use(server, "none", tls=True)
    https = client.get("/", base_url="https://localhost")
    assert "max-age=" in https.headers["Strict-Transport-Security"]
    use(server, "none")
    malformed = [
        client.post("/_dash-update-component", data="{not json", content_type="application/json"),
        client.post("/_dash-update-component", json=["a list"]),
        client.post("/_dash-update-component", json={"output": "no-such.children", "outputs": {}, "inputs": []}),
        client.post("/_dash-update-component", json={"output": "home-content.children", "inputs": "x"}),
        client.post("/_dash-update-component", data="output=home-content.children"),  # a cross-site form post
        client.post("/_dash-update-component", data=b"x" * 2_000_000, content_type="application/json"),
        client.get("/download/measure/m05_ucr_2h.csv?locality=%ff%fe"),
        client.get("/download/measure/%00.csv"),
    ]
    for response in malformed:
        assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
        assert b"Traceback" not in response.data and b"Werkzeug" not in response.data
    assert malformed[5].status_code == 413


def test_debug_is_refused_with_sign_in_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from data_loaders.settings import load_settings

    monkeypatch.setenv("AUTH_MODE", "password")
    monkeypatch.setenv("BSOL_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("BSOL_DEBUG", "true")
    with pytest.raises(ValueError, match="BSOL_DEBUG=true is refused"):
        load_settings()
    monkeypatch.setenv("BSOL_DEBUG", "false")
    assert load_settings().auth.tls is True  # behind TLS is the default once sign-in is on
    monkeypatch.setenv("BSOL_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="BSOL_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("BSOL_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("AUTH_MODE", "header")
    with pytest.raises(ValueError, match="BSOL_TRUSTED_PROXIES"):
        load_settings()


# --------------------------------------------------------------------------- OIDC, real provider
@pytest.fixture(scope="module")
def provider() -> Iterator[OidcServer]:
    accounts = {"ana": {"roles": ["BSol.Analyst"]}, "vic": {"roles": ["BSol.Viewer"]},
                "dee": {"roles": ["Staff", "BSol.DataManager"], "locality": "Solihull"}, "nobody": {"roles": ["Staff"]}}
    try:
        server = OidcServer(accounts, "http://localhost/auth/callback").start()
    except OidcUnavailable as e:
        pytest.fail(f"OpenID provider for the sign-in tests: {e}", pytrace=False)
    yield server
    server.stop()


def _oidc(server: Flask, provider: OidcServer) -> AuthSettings:
    return use(server, "oidc", oidc_metadata_url=provider.metadata_url, oidc_client_id=CLIENT_ID,
               oidc_client_secret=CLIENT_SECRET, oidc_scope="openid profile", locality_claim="locality")


def _oidc_sign_in(client: FlaskClient, provider: OidcServer, username: str, next_url: str = "/") -> Any:
    start = client.get(f"/login?next={next_url}")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]  # PKCE
    back = urlsplit(provider.sign_in(authorize, username))
    return client.get(f"{back.path}?{back.query}")


def test_oidc_sign_in_against_a_real_provider_maps_roles(server: Flask, provider: OidcServer) -> None:
    _oidc(server, provider)
    analyst = server.test_client()
    done = _oidc_sign_in(analyst, provider, "ana", "/measure/m05_ucr_2h")
    assert done.status_code == 302 and done.headers["Location"] == "/measure/m05_ucr_2h"
    assert analyst.get(MEASURE_CSV).status_code == 200
    assert analyst.get("/download/audit.csv").status_code == 403
    viewer = server.test_client()
    _oidc_sign_in(viewer, provider, "vic")
    assert viewer.get("/").status_code == 200 and viewer.get(MEASURE_CSV).status_code == 403
    manager = server.test_client()
    landed = _oidc_sign_in(manager, provider, "dee")
    assert landed.headers["Location"] == "/?locality=Solihull"
    assert manager.get("/download/audit.csv").status_code == 200
    refused = _oidc_sign_in(server.test_client(), provider, "nobody")
    assert refused.status_code == 403 and b"no role" in refused.data
    log = read_audit(audit_url(server))
    oidc = log[log["detail"].str.contains('"method": "oidc"')]
    assert {("ana", "sign_in"), ("vic", "sign_in"), ("dee", "sign_in"), ("nobody", "sign_in_failed")} <= set(
        zip(oidc["user"], oidc["action"], strict=True))


def test_oidc_callback_with_a_forged_state_or_code_is_refused(server: Flask, provider: OidcServer) -> None:
    _oidc(server, provider)
    client = server.test_client()
    assert client.get("/auth/callback?code=made-up&state=made-up").status_code in (400, 401)
    start = client.get("/login")
    back = urlsplit(provider.sign_in(start.headers["Location"], "ana"))
    query = parse_qs(back.query)
    replay = server.test_client()  # another browser (no state in its session) replaying the code
    assert replay.get(f"{back.path}?{back.query}").status_code in (400, 401)
    assert replay.get(MEASURE_CSV).status_code == 401
    assert query["code"]

