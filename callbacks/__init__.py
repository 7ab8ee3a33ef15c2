"""Page callbacks (`from dash import callback`); thin by design. `register(app)` gives them to an app.

Why the capture: `@dash.callback` collects callbacks in Dash's module globals, and the first app to
start takes them (and empties the globals). The app factory builds one app per settings (tests
build several in one process), so the callbacks are taken from the globals once, here at import,
and every app built gets its own copy.
"""

from __future__ import annotations

from typing import Any

from dash import Dash
from dash import _callback as dash_callback

from callbacks import home, measure, pages, shell  # noqa: F401  (their decorators collect the callbacks)

_MAP: dict[str, dict[str, Any]] = dict(dash_callback.GLOBAL_CALLBACK_MAP)
_LIST: list[dict[str, Any]] = list(dash_callback.GLOBAL_CALLBACK_LIST)
_SCRIPTS: list[str] = list(dash_callback.GLOBAL_INLINE_SCRIPTS)
dash_callback.GLOBAL_CALLBACK_MAP.clear()
dash_callback.GLOBAL_CALLBACK_LIST.clear()
dash_callback.GLOBAL_INLINE_SCRIPTS.clear()


def register(app: Dash) -> None:
    """Give `app` every page callback (before it starts: Dash validates them at set-up)."""
    for key, spec in _MAP.items():
        app.callback_map[key] = dict(spec)
    app._callback_list.extend(dict(spec) for spec in _LIST)
    app._inline_scripts.extend(_SCRIPTS)
