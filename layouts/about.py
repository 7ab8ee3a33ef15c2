"""About / definitions: every indicator's metadata, generated from the catalogue."""

from __future__ import annotations

from dash import dcc, html

from layouts import components, figures
from metrics.catalogue import MEASURES, WORK_PROGRAMMES
from metrics.docs import indicator_rows


def _icon_key() -> html.Div:
    rows = []
    for variation in ("common_cause", "special_cause_improvement_high", "special_cause_improvement_low",
                      "special_cause_concern_high", "special_cause_concern_low", "special_cause_neither_high", None):
        uri, label = figures.variation_icon(variation)
        rows.append(html.Li(components.icon(uri, label)))
    for assurance in ("pass", "fail", "hit_or_miss"):
        uri, label = figures.assurance_icon(assurance)  # type: ignore[misc]
        rows.append(html.Li(components.icon(uri, label)))
    return html.Ul(rows, className="icon-key")


def layout(**_query: str) -> html.Div:
    sections: list = []
    for wp, name in WORK_PROGRAMMES.items():
        items: list = [html.H2(f"Work programme {wp}: {name}")]
        for m in (m for m in MEASURES if m.work_programme == wp):
            items.append(html.H3([f"Measure {m.number} ",
                                  html.Span(m.status_label, className="tag tag-proposed" if m.proposed else "tag")]))
            items.append(html.Blockquote(m.wording, className="measure-quote"))
            for ind in m.indicators:
                items.append(html.Details([
                    html.Summary(ind.title),
                    components.definition_list(indicator_rows(ind)),
                    dcc.Link("Open this indicator", href=f"/measure/{ind.id}"),
                ], className="definition"))
        sections.append(html.Section(items, className="panel"))
    return html.Div([
        components.page_header("About the measures",
                               "Definitions of the 21 impact measures (Table 2 of the Implementation Plan, verbatim) "
                               "and every indicator behind them, generated from the measure catalogue."),
        html.Section([
            html.H2("How to read the dashboard"),
            html.P("Statistical process control (SPC) charts follow NHS England's Making Data Count: grey points are "
                   "common cause variation; blue special cause improvement; orange special cause concern; purple a "
                   "special cause where neither direction is better. Rules: a point outside the process limits, a run "
                   "of 7 points on one side of the mean, 7 points rising or falling, or 2 of 3 points beyond two "
                   "sigma."),
            _icon_key(),
            html.P("Comparisons use 95% confidence intervals: a value is significantly better or worse than its "
                   "comparator only when its interval excludes the comparator. Measures 13, 15, 20 and 21 are "
                   "placeholders in the plan: their definitions here are proposed — not agreed."),
        ], className="panel"),
        *sections,
    ], className="page page-about")
