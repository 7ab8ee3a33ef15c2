"""Serving through database faults: a callback whose database is down answers with a message.

Dash calls `on_callback_error` (the app's `on_error`) when a callback raises. A database that is
missing, being swapped or restarted gives every "children" output an in-page message (the page
recovers by itself on the next request: engines reconnect, caches only hold good answers);
other outputs are left as they were. Any other error is re-raised (a generic 500, no traceback).
"""

from __future__ import annotations

import logging

from dash import ctx, html, no_update

from auth import UNAVAILABLE, is_database_error
from caching import do_not_keep

log = logging.getLogger(__name__)


def unavailable_message() -> html.Div:
    return html.Div([
        html.H2("The database is unavailable just now", className="message-title"),
        html.P(UNAVAILABLE),
        html.A("Try again", href="", className="button-link"),  # a full reload of this page
    ], className="message message-error database-unavailable", role="alert")


def on_callback_error(error: Exception) -> object:
    if not is_database_error(error):
        raise error
    log.warning("callback %s: database unavailable (%s)", ctx.triggered_id, error.__class__.__name__)
    do_not_keep()
    outputs = ctx.outputs_list
    if isinstance(outputs, dict):
        return unavailable_message() if outputs.get("property") == "children" else no_update
    return [unavailable_message() if isinstance(o, dict) and o.get("property") == "children" else no_update
            for o in outputs]
