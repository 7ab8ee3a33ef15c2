"""Pre/post INT analysis page (stored tables from metrics.prepost, after its disclosure control)."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
from dash import dcc, html

from layouts import components, ids


def layout(**_query: str) -> html.Div:
    return html.Div([
        components.page_header("Pre/post INT analysis",
                               "Activity of people on Integrated Neighbourhood Team caseloads in the months before "
                               "and after they joined, as in the Implementation Plan's table, with rate ratios."),
        html.Form([
            html.Div([html.Label("Cohort", className="filter-label", id="prepost-cohort-label"),
                      dcc.Dropdown(id=ids.PREPOST_COHORT, options=[
                          {"label": "Implementation Plan pilot (Oct–Dec 2023)", "value": "pilot"},
                          {"label": "All eligible", "value": "all"}], value="pilot", clearable=False,
                          searchable=False, style={"width": "20rem"})], className="filter"),
            html.Div([html.Label("Window (months each side)", className="filter-label", id="prepost-window-label"),
                      dcc.Dropdown(id=ids.PREPOST_WINDOW, options=[{"label": str(m), "value": m} for m in (3, 6, 12)],
                                   value=6, clearable=False, searchable=False, style={"width": "8rem"})],
                     className="filter"),
        ], className="filter-bar", role="search", **{"aria-label": "Pre/post options"}),
        dcc.Loading(html.Div(id=ids.PREPOST_CONTENT, className="content"), type="default", delay_show=300),
    ], className="page page-prepost")


def not_available() -> html.Div:
    return components.message(
        "Pre/post analysis not available yet",
        "The pre/post INT tables have not been built in this version of the dashboard. The scorecard and measure "
        "pages are unaffected.", kind="info")


def content(frame: pd.DataFrame, module: ModuleType, cohort: str, window: int) -> html.Div:
    if frame.empty:
        return components.message("No pre/post results for this selection",
                                  "No one in this cohort has a complete pre and post window in the data.",
                                  back_href="/pre-post", back_text="Back to the default view", kind="info")
    plan = module.plan_layout(frame)
    for col in plan.columns[2:]:
        plan[col] = plan[col].map(lambda v: "[c]" if pd.isna(v) else (f"{v:,.0f}" if float(v).is_integer()
                                                                       else f"{v:,.1f}"))
    rr = frame[["int_team", "activity", "people", "pre", "post", "pre_rate", "post_rate", "rate_ratio",
                "rate_ratio_lower", "rate_ratio_upper", "suppressed"]].copy()
    rr["activity"] = rr["activity"].map(module.ACTIVITY_LABELS).str.capitalize()
    for c in ("pre_rate", "post_rate", "rate_ratio", "rate_ratio_lower", "rate_ratio_upper"):
        rr[c] = pd.to_numeric(rr[c], errors="coerce").round(2)
    rr = rr.rename(columns={"int_team": "INT", "activity": "Activity", "people": "People", "pre": "Pre",
                            "post": "Post", "pre_rate": "Pre rate (per person-year)",
                            "post_rate": "Post rate (per person-year)", "rate_ratio": "Rate ratio",
                            "rate_ratio_lower": "Lower 95% CI", "rate_ratio_upper": "Upper 95% CI"})
    label = module.COHORT_PRESETS[cohort][0]
    return html.Div([
        html.Section([html.H2(f"{label}: {window} months before and after"),
                      components.data_table(plan, "The plan's table: activity before and after joining a caseload",
                                            numeric=list(plan.columns[2:]), suppressed_col=None)],
                     className="panel"),
        html.Section([html.H2("Rates and rate ratios"),
                      html.P("Rates use person-time alive in each window. A before/after change in a group chosen "
                             "because of high need partly reflects regression to the mean: read with the comparison "
                             "cohort in the Excel pack.", className="rule-text"),
                      components.data_table(rr, "Pre/post rates and rate ratios with 95% confidence intervals",
                                            numeric=[c for c in rr.columns if c not in ("INT", "Activity", "suppressed")])],
                     className="panel"),
        components.suppression_legend(),
    ])
