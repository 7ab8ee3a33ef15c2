"""404 page."""

from __future__ import annotations

from dash import html

from layouts import components


def layout(**_query: str) -> html.Div:
    return html.Div([components.page_header("Page not found"),
                     components.message("We could not find that page",
                                        "Check the address, or go back to the scorecard.", kind="error")])
