"""Measure page callbacks (thin: parse filters, read cached results, call the layout helper)."""

from __future__ import annotations

from dash import Input, Output, State, callback

from callbacks import data
from layouts import components, ids, measure, views
from layouts import filters as flt
from metrics.catalogue import INDICATORS_BY_ID


@callback(Output(ids.filter_id("period"), "options"), Output(ids.filter_id("period"), "value"),
          Input(ids.filter_id("period_type"), "value"), State(ids.MEASURE_ID, "data"),
          State(ids.filter_id("period"), "value"))
def update_periods(period_type: str | None, indicator_id: str, period: str | None) -> tuple[list, str]:
    ind = INDICATORS_BY_ID.get(indicator_id)
    if ind is None:
        return [], measure.LATEST
    frame = data.display_results([ind.id], period_type=period_type, breakdown="none", geography_level="bsol")
    options, value = measure.period_options(views.periods(frame), period)
    return options, value


@callback(Output(ids.MEASURE_CONTENT, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("period_type"), "value"),
          Input(ids.filter_id("period"), "value"), Input(ids.filter_id("breakdown"), "value"),
          State(ids.MEASURE_ID, "data"))
def update_measure(locality: str | None, period_type: str | None, period: str | None, breakdown: str | None,
                   indicator_id: str) -> list:
    ind = INDICATORS_BY_ID.get(indicator_id)
    f = flt.parse({"locality": locality or "", "period_type": period_type or "", "breakdown": breakdown or ""})
    if ind is None or f.errors:
        return [components.errors_message(f.errors or ["Unknown indicator."], "/")]
    if not data.has_results():
        return [components.no_data_message()]
    frame = data.display_results([ind.id], period_type=f.period_type)
    nbs = data.neighbourhoods_of(f.locality) if f.level != "bsol" else None
    prs = data.practices_of(f.locality) if f.level != "bsol" else None
    chart = data.spc_chart(ind.id, f.level, f.locality, f.period_type)
    return measure.content(ind, frame, f, period, nbs, prs, data.dataset_info().get("data_end", ""), chart,
                           data.inequality_rows(ind.id, f.period_type))
