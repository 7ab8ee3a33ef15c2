"""Locality page for LDP chairs: every indicator for one locality against BSol, and its neighbourhoods."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from layouts import components, grids, home, ids, views
from layouts import filters as flt
from metrics.catalogue import INDICATORS
from metrics.results import ScorecardRow


def layout(**query: str) -> html.Div:
    f = flt.parse(query)
    pack = html.Section([
        html.H2("Excel pack"),
        html.P("The indicator pack for this locality as an Excel workbook (analysts only)."),
        html.Button("Build Excel pack", id=ids.PACK_BUTTON, className="button", n_clicks=0, type="button"),
        dcc.Loading(html.Div(id=ids.PACK_STATUS, role="status", className="pack-status"), type="dot"),
        dcc.Download(id=ids.PACK_DOWNLOAD),
    ], className="panel")
    return components.filtered_page(
        "locality", "Locality view",
        "All indicators for one locality against BSol, and the locality's neighbourhoods. "
        "Your choice of locality carries to every page.", f, "/locality", ids.LOCALITY_CONTENT, extra=(pack,))


def choose_locality() -> html.Div:
    links = [html.Li(dcc.Link(flt.GEOGRAPHY_LABELS[g], href=f"/locality?locality={g}")) for g in flt.GEOGRAPHIES[1:]]
    return html.Div([html.H2("Choose your locality"),
                     html.P("Pick a locality above, or one of these:"), html.Ul(links, className="link-list")],
                    className="message message-info", role="status")


def content(rows: list[ScorecardRow], bsol_rows: list[ScorecardRow], f: flt.Filters,
            nb_frame: pd.DataFrame, bsol_frame: pd.DataFrame, neighbourhoods: list[str]) -> html.Div:
    here = flt.GEOGRAPHY_LABELS[f.locality]
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type}, flt.CARRIED)
    nb_rows = views.matrix(nb_frame, bsol_frame, list(INDICATORS), f.period_type, "geography")
    return html.Div([
        html.H2(f"{here} against BSol"),
        home.scorecard(rows, bsol_rows, f),
        html.Section([
            html.H2(f"Neighbourhoods in {here}"),
            html.P("Each neighbourhood's latest value, compared with BSol using its 95% confidence interval.",
                   className="muted"),
            grids.legend("BSol"),
            grids.grid_table(nb_rows, neighbourhoods, f"Neighbourhoods in {here}: latest value by indicator", "BSol",
                             search) if neighbourhoods else html.P("No neighbourhoods found for this locality."),
        ], className="panel"),
    ])
