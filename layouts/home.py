"""Scorecard page (placeholder)."""

from dash import html


def layout(**_query: str) -> html.Div:
    return html.Div([html.H1("BSol outcomes dashboard")], id="home-page")
