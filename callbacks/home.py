"""Scorecard page callbacks (thin: parse filters, read cached results, call the layout helper)."""

from __future__ import annotations

from dash import Input, Output, State, callback, html

from callbacks import data
from layouts import components, home, ids
from layouts import filters as flt


@callback(Output(ids.HOME_CONTENT, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("period_type"), "value"),
          State(ids.HOME_STATUS, "data"))
def update_scorecard(locality: str | None, period_type: str | None, view: dict | None = None) -> html.Div:
    """The scorecard; `view` holds the summary-matrix cell and sort order from the URL."""
    f = flt.parse({"locality": locality or flt.BSOL, "period_type": period_type or ""})
    if f.errors:
        return components.errors_message(f.errors)
    if not data.has_results():
        return components.message("No data loaded yet", "Load extracts or build the demo data, then reload.",
                                  back_href="/data", back_text="See the data page")
    rows = data.scorecard(f.level, f.locality, f.period_type)
    bsol_rows = data.scorecard("bsol", flt.BSOL, f.period_type) if f.level != "bsol" else None
    view = view or {}
    return home.scorecard(rows, bsol_rows, f, view.get("status", ""), view.get("sort", ""),
                          data.dataset_info().get("data_end", ""), policy=data.policy())
