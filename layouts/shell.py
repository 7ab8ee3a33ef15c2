"""The frame around every page: skip link, header, navigation, demo banner, main landmark, footer."""

from __future__ import annotations

import dash
from dash import dcc, html

from layouts import ids
from layouts.pages import NAV_ITEMS

INDEX_STRING = """<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def demo_banner(demo: bool) -> html.Div | None:
    if not demo:
        return None
    return html.Div([
        html.Strong("Synthetic demo data. "),
        "Every number on these pages is generated for demonstration and describes no real patient, "
        "practice or service. Do not use it for decisions.",
    ], className="demo-banner", role="note", **{"aria-label": "Demo data warning"})


def auth_bar() -> html.Div:
    """Who is signed in (with a sign-out form), or a clear banner that sign-in is off."""
    from flask import has_request_context

    import access

    identity = access.current_identity() if has_request_context() else None
    if identity is None:
        return html.Div()
    if access.auth_settings().mode == "none":
        return html.Div([html.Strong("Sign-in is off. "),
                         f"Everyone using this address has the {identity.role.replace('_', ' ')} role. "
                         "Turn sign-in on (AUTH_MODE) before real data are loaded."],
                        className="auth-banner", role="note", **{"aria-label": "Sign-in is off"})
    from flask_wtf.csrf import generate_csrf

    signed_out = [] if access.auth_settings().mode == "header" else [html.Form([
        dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
        html.Button("Sign out", type="submit", className="link-button"),
    ], method="post", action="/logout", className="sign-out")]
    return html.Div([html.Span(f"Signed in as {identity.user} ({identity.role.replace('_', ' ')})"), *signed_out],
                    className="auth-bar")


def layout(demo: bool = False, rule_text: str = "", problem: str | None = None) -> html.Div:
    """The frame; `demo` (is the loaded data synthetic?) and the disclosure rule's wording come
    from the app, which reads them per request. `problem`: why no figures can be served (stored
    results refreshed under another disclosure policy), said in a banner on every page."""
    return html.Div([
        html.A("Skip to main content", href=f"#{ids.MAIN}", className="skip-link"),
        dcc.Location(id=ids.URL, refresh=False),
        html.Header(html.Div([
            html.A([html.Span("NHS", className="nhs-logo", **{"aria-hidden": "true"}),
                    html.Span([html.Span("Birmingham and Solihull", className="org-name"),
                               html.Span("Community Care Collaborative outcomes", className="service-name")],
                              className="brand-text")],
                   href="/", className="brand"),
        ], className="header-inner"), className="site-header"),
        html.Nav(html.Ul([html.Li(dcc.Link(label, href=path, id=ids.nav(key), className="nav-link"))
                          for key, path, label in NAV_ITEMS], className="nav-list"),
                 className="site-nav", **{"aria-label": "Main"}),
        auth_bar(),
        demo_banner(demo),
        *([html.Div([html.Strong("Figures withheld: "), problem], className="banner banner-warning",
                    role="alert", id="stale-policy")] if problem else []),
        html.Main(dash.page_container, id=ids.MAIN, tabIndex="-1", className="main"),
        html.Footer(html.Div([
            html.P("BSol Community Care Collaborative · Implementation Plan 2024/5–2026/7 impact measures."),
            html.P(rule_text + " SPC charts follow NHS England's Making Data Count."),
        ], className="footer-inner"), className="site-footer"),
    ], id="shell")
