"""The page cache (flask-caching) and the page-response cache built on it.

Why its own module: the app (the edge) configures both and the read layer memoizes through the
first; neither should reach into the other for it.

The response cache keeps the finished answer of a page callback, so a page anyone has opened
since the last load answers again without reading or drawing anything: the warm path is a hash
and one small file read, in whichever worker the request lands. It is safe because an answer
depends only on what keys it: the whole callback request (inputs, state, which input changed),
the caller's role, the data version (every load changes it), the disclosure policy and the
app's own code. It sits after the access check and the stale-policy
check (both run for every request, hit or miss), and it only ever holds what the same caller was
just sent: disclosure-controlled page output, never a download, a pack or the Data page.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Collection
from pathlib import Path

from flask import Flask, Response, has_request_context, request
from flask_caching import Cache

cache = Cache()
"""Stored-results frames per worker process (SimpleCache): cheap to rebuild, large to share."""
responses = Cache()
"""Finished page answers, shared by every worker on the machine (a FileSystemCache in the data
folder): a page one worker drew is a hit in every other, which a per-process cache is not."""


def init_caches(server: Flask, *, folder: str, timeout: int) -> None:
    cache.init_app(server, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": timeout})
    responses.init_app(server, config={"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": folder,
                                       "CACHE_THRESHOLD": 5000, "CACHE_DEFAULT_TIMEOUT": timeout})


def clear_caches() -> None:
    """Empty both caches of the current app (tests that change what a page would show)."""
    cache.clear()
    responses.clear()

RESPONSE_PREFIX = "page-response:"
CACHE_HEADER = "X-Bsol-Cache"  # "hit" or "miss" on a cacheable callback's answer (tests and the benchmark read it)
_KEY = "bsol.response_key"


def do_not_keep() -> None:
    """This request's answer must not be kept (an in-page error: the next request tries again)."""
    if has_request_context():
        request.environ[_KEY] = None


def code_fingerprint() -> str:
    """A hash of the app's own source: answers kept by older code (the cache outlives a restart
    and is shared by every worker) are never served by newer code."""
    if not _CODE:
        root = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted([*root.glob("*.py"), *(p for d in SOURCE_DIRS for p in (root / d).rglob("*.py"))]):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
        _CODE.append(digest.hexdigest()[:16])
    return _CODE[0]


SOURCE_DIRS = ("callbacks", "layouts", "metrics", "data_loaders", "exports")
_CODE: list[str] = []


def response_key(body: object, parts: Collection[str]) -> str:
    """The cache key of one callback request: the canonical request body and what else the answer
    depends on (`parts`: role, data version, policy), under this code's fingerprint."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return RESPONSE_PREFIX + hashlib.sha256("\x1f".join([code_fingerprint(), canonical, *parts]).encode()).hexdigest()


def init_response_cache(server: Flask, *, path: str, cacheable: Callable[[str], bool],
                        key_parts: Callable[[], Collection[str]]) -> None:
    """Serve repeated page callbacks from `cache` (see the module docstring).

    `cacheable(output_key)` says which callbacks' answers may be kept; `key_parts()` gives the rest
    of the key for this request (role, data version, policy). Call after the access hooks are
    registered: Flask runs before_request hooks in the order they were added.
    """

    def serve_cached() -> Response | None:
        if request.path != path or request.method != "POST":
            return None
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("output"), str) or not cacheable(body["output"]):
            return None
        try:
            parts = key_parts()
        except Exception:  # the database is down or being swapped: the callback answers that itself
            return None
        key = request.environ[_KEY] = response_key(body, parts)
        packed = responses.get(key)
        if packed is None:
            return None
        request.environ[_KEY] = None  # answered: nothing to keep afterwards
        return _answer(packed, "hit")

    def keep(response: Response) -> Response:
        key = request.environ.get(_KEY)
        if not key or response.status_code != 200 or response.direct_passthrough:
            return response
        packed = gzip.compress(response.get_data(), compresslevel=1)
        responses.set(key, packed)
        return _answer(packed, "miss", response)

    server.before_request(serve_cached)
    server.after_request(keep)


def _answer(packed: bytes, state: str, response: Response | None = None) -> Response:
    """The answer, gzip-encoded when the client takes it (browsers do), else plain."""
    if response is None:
        response = Response(mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(packed)
        response.headers["Content-Encoding"] = "gzip"
    elif state == "hit":
        response.set_data(gzip.decompress(packed))
    response.headers["Vary"] = "Accept-Encoding"
    response.headers[CACHE_HEADER] = state
    return response
