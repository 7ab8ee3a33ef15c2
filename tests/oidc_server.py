"""A REAL OpenID Connect provider for the sign-in tests: npm `oidc-provider` run by Node.

`OidcServer(accounts).start()` runs tests/oidc/provider.mjs on a free loopback port;
`sign_in(authorize_url, username)` walks the provider's own login and consent pages with a real
HTTP client, as a browser would, and returns the redirect back to the dashboard (with the code).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "bsol-dashboard"
CLIENT_SECRET = "test-client-secret-for-the-throwaway-provider"


class OidcUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OidcServer:
    def __init__(self, accounts: dict[str, dict[str, object]], redirect_uri: str) -> None:
        self.accounts, self.redirect_uri = accounts, redirect_uri
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OidcServer:
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "oidc-provider").is_dir():
            raise OidcUnavailable("needs Node.js and `npm ci` (run `bash scripts/setup.sh`)")
        env = {**os.environ, "OIDC_ACCOUNTS": json.dumps(self.accounts), "OIDC_REDIRECT_URI": self.redirect_uri,
               "OIDC_CLIENT_SECRET": CLIENT_SECRET}
        self.process = subprocess.Popen([node, "tests/oidc/provider.mjs", str(self.port)], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if self.process.poll() is not None:
                raise OidcUnavailable(f"oidc-provider exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(self.metadata_url, timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise OidcUnavailable("oidc-provider did not start in 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def sign_in(self, authorize_url: str, username: str) -> str:
        """Log in and consent at the provider; return the URL it sends the browser back to."""
        browser = requests.Session()
        url = authorize_url
        for _ in range(12):
            response = browser.get(url, allow_redirects=False, timeout=10)
            while response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if url.startswith(self.redirect_uri):
                    return url
                response = browser.get(url, allow_redirects=False, timeout=10)
            form = BeautifulSoup(response.text, "html.parser").find("form")
            if form is None:
                raise AssertionError(f"no form at {url}: {response.status_code} {response.text[:300]}")
            fields = {i.get("name"): i.get("value", "") for i in form.find_all("input") if i.get("name")}
            if "login" in fields:
                fields.update(login=username, password="any password: development interactions")
            response = browser.post(urljoin(url, form.get("action")), data=fields, allow_redirects=False, timeout=10)
            if not response.is_redirect:
                raise AssertionError(f"provider refused the form at {url}: {response.text[:300]}")
            url = urljoin(url, response.headers["Location"])
            if url.startswith(self.redirect_uri):
                return url
        raise AssertionError("the provider never redirected back to the dashboard")
