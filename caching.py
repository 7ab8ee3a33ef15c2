"""The page cache (flask-caching): created here, configured by the app, used by callbacks/data.py.

Why its own module: the app (the edge) configures it and the read layer memoizes through it, and
neither should reach into the other for it.
"""

from __future__ import annotations

from flask_caching import Cache

cache = Cache()
