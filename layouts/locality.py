"""Locality page for LDP chairs: every indicator for one locality against BSol, and its neighbourhoods."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from layouts import components, grids, home, ids, views
from layouts import filters as flt
from metrics.catalogue import INDICATORS
from metrics.disclosure import DisclosurePolicy
from metrics.results import ScorecardRow


def layout(**query: str) -> html.Div:
    f = flt.parse(query)
    # Near the top: an LDP chair's pack is for their locality (BSol when none is chosen).
    pack = html.Div([
        html.Button("Build Excel pack", id=ids.PACK_BUTTON, className="button", n_clicks=0, type="button"),
        html.Span(" The indicator pack for the chosen locality (analysts only).", className="muted"),
        dcc.Loading(html.Div(id=ids.PACK_STATUS, role="status", className="pack-status"), type="dot"),
        dcc.Download(id=ids.PACK_DOWNLOAD),
    ], className="pack-bar")
    page = components.filtered_page(
        "locality", "Locality view",
        "Every measure for each locality against BSol (the overview), or for one locality with its "
        "neighbourhoods. Your choice of locality carries to every page.", f, "/locality", ids.LOCALITY_CONTENT,
        extra=[html.Section([
            html.H2("Every neighbourhood against BSol"),
            html.P("The overview's rug for every neighbourhood of BSol, grouped by locality (a wide table: scroll it "
                   "sideways, or with the arrow keys once it has focus). Built when asked for.", className="muted"),
            html.Button("Show every neighbourhood", id=ids.ALL_NEIGHBOURHOODS_BUTTON, n_clicks=0, type="button",
                        className="button secondary"),
            dcc.Loading(html.Div(id=ids.ALL_NEIGHBOURHOODS), type="dot"),
        ], className="panel", id="every-neighbourhood")])
    page.children.insert(3, pack)
    return page


def pack_place(locality: str) -> str:
    """Which pack the button builds: the locality's own (Solihull: its Place), or BSol's."""
    if locality == flt.BSOL:
        return "bsol"
    return "solihull" if locality == "Solihull" else locality.lower()


def overview(loc_frame: pd.DataFrame, bsol_frame: pd.DataFrame, period_type: str | None) -> html.Div:
    """The tartan rug (as Fingertips draws it): localities by measures, each cell against BSol."""
    columns = list(flt.GEOGRAPHIES[1:])
    rows = views.matrix(loc_frame, bsol_frame, list(INDICATORS), period_type, "geography")
    labels = {g: flt.GEOGRAPHY_LABELS[g] for g in columns}
    links = html.P(["Open a locality: "] + [item for g in columns for item in
                                             (dcc.Link(labels[g], href=f"/locality?locality={g}",
                                                       className="locality-link"), " ")], className="link-row")
    return html.Div([
        html.H2("Overview: every locality against BSol"),
        html.P("Each cell is the locality's latest value, coloured by whether its 95% confidence interval is better "
               "than, similar to or worse than BSol; the mark in the cell says the same without colour.",
               className="muted"),
        links,
        grids.legend("BSol"),
        html.Div(grids.grid_table(rows, columns, "Localities by indicator: latest value compared with BSol", "BSol",
                                  column_labels=labels), id="tartan-rug"),
    ])


def all_neighbourhoods(nb_frame: pd.DataFrame, bsol_frame: pd.DataFrame, period_type: str | None,
                       neighbourhoods: list[str]) -> html.Div:
    """Neighbourhoods (columns, grouped by locality) by measures, each cell against BSol (issue 13)."""
    if not neighbourhoods:
        return html.Div(html.P("No neighbourhoods found.", className="muted"))
    rows = views.matrix(nb_frame, bsol_frame, list(INDICATORS), period_type, "geography")
    return html.Div([grids.legend("BSol"),
                     grids.grid_table(rows, neighbourhoods, f"Every neighbourhood ({len(neighbourhoods)}) by indicator: "
                                      "latest value compared with BSol", "BSol")], id="neighbourhood-rug")


def content(rows: list[ScorecardRow], bsol_rows: list[ScorecardRow], f: flt.Filters,
            nb_frame: pd.DataFrame, bsol_frame: pd.DataFrame, neighbourhoods: list[str], *,
            policy: DisclosurePolicy) -> html.Div:
    here = flt.GEOGRAPHY_LABELS[f.locality]
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type}, flt.CARRIED)
    nb_rows = views.matrix(nb_frame, bsol_frame, list(INDICATORS), f.period_type, "geography")
    return html.Div([
        html.H2(f"{here} against BSol"),
        home.scorecard(rows, bsol_rows, f, policy=policy),
        html.Section([
            html.H2(f"Neighbourhoods in {here}"),
            html.P("Each neighbourhood's latest value, compared with BSol using its 95% confidence interval.",
                   className="muted"),
            grids.legend("BSol"),
            grids.grid_table(nb_rows, neighbourhoods, f"Neighbourhoods in {here}: latest value by indicator", "BSol",
                             search) if neighbourhoods else html.P("No neighbourhoods found for this locality."),
        ], className="panel"),
    ])
