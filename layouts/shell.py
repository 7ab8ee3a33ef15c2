"""The frame around every page."""

import dash
from dash import html


def layout() -> html.Div:
    return html.Div([dash.page_container], id="shell")
