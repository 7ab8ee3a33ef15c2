"""The app's pages, registered from one list."""

from __future__ import annotations

import dash

from layouts import home


def register_pages() -> None:
    dash.register_page("home", path="/", name="Scorecard", layout=home.layout)
