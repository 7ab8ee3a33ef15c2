"""Measure page callbacks (thin: parse filters, read cached results, call the layout helper).

The page renders in three steps so the browser draws only what is seen: the first screen
(`update_measure`), the sections below the fold when scrolled to (`update_below`), and each table
behind a chart when it is opened, a page of rows at a time (`update_table`).
"""

from __future__ import annotations

import pandas as pd
from dash import MATCH, Input, Output, State, callback, ctx, no_update
from dash.exceptions import MissingCallbackContextException

from callbacks import data
from layouts import components, ids, measure, views
from layouts import filters as flt
from metrics import funnel
from metrics.catalogue import INDICATORS_BY_ID, Indicator


def _trigger() -> dict | str | None:
    """The id that fired this callback (None on a page's first call, or when called directly in tests)."""
    try:
        return ctx.triggered_id
    except MissingCallbackContextException:
        return None


def period_choices(period_type: str | None, indicator_id: str, period: str | None,
                   frame: pd.DataFrame | None = None) -> tuple[list, str]:
    """Period choices for the period type (BSol's periods) and the value they show."""
    ind = INDICATORS_BY_ID.get(indicator_id)
    if ind is None:
        return [], measure.LATEST
    if frame is None:
        frame = data.display_results([ind.id], period_type=period_type, breakdown="none", geography_level="bsol")
    return measure.period_options(views.periods(frame[(frame.geography_level == "bsol") & (frame.breakdown == "none")]),
                                  period)


@callback(Output(ids.filter_id("period"), "value"), Input(ids.filter_id("period_type"), "value"),
          State(ids.MEASURE_ID, "data"), State(ids.filter_id("period"), "value"), prevent_initial_call=True)
def update_periods(period_type: str | None, indicator_id: str, period: str | None) -> str:
    """A period of another type (the reader changed quarter to year) falls back to latest. Only on a
    change: on opening, ``update_measure`` alone fills the choices (one round trip, nothing chained)."""
    options, _value = period_choices(period_type, indicator_id, period)
    return period if period in {o["value"] for o in options if "(no data)" not in o["label"]} else measure.LATEST


def _inputs(view: dict | None, indicator_id: str) -> tuple[Indicator, flt.Filters, object, list | None,
                                                           list | None] | None:
    """The indicator, filters and data of the view the first screen shows (None if there is none)."""
    ind = INDICATORS_BY_ID.get(indicator_id)
    if ind is None or not view or not view.get("period"):
        return None
    f = flt.parse({k: view.get(k) or "" for k in ("locality", "period_type", "breakdown")})
    frame = data.compared_results([ind.id], period_type=f.period_type)
    nbs = data.neighbourhoods_of(f.locality) if f.level != "bsol" else None
    prs = data.practices_of(f.locality) if f.level != "bsol" else None
    return ind, f, frame, nbs, prs


@callback(Output(ids.MEASURE_CONTENT, "children"), Output(ids.MEASURE_VIEW, "data"),
          Output(ids.filter_id("period"), "options"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("period_type"), "value"),
          Input(ids.filter_id("period"), "value"), Input(ids.filter_id("breakdown"), "value"),
          State(ids.MEASURE_ID, "data"), State(ids.MEASURE_VIEW, "data"))
def update_measure(locality: str | None, period_type: str | None, period: str | None, breakdown: str | None,
                   indicator_id: str, shown: dict | None = None) -> tuple:
    """The first screen and the period choices in one round trip (a page open waits for one
    callback, not two in a chain; ``update_periods`` resets the value when the period type changes)."""
    ind = INDICATORS_BY_ID.get(indicator_id)
    f = flt.parse({"locality": locality or "", "period_type": period_type or "", "breakdown": breakdown or ""})
    if ind is None or f.errors:
        return [components.errors_message(f.errors or ["Unknown indicator."], "/")], None, no_update
    if not data.has_results():
        return [components.no_data_message()], None, no_update
    frame = data.compared_results([ind.id], period_type=f.period_type)
    options, period = period_choices(f.period_type, ind.id, period, frame)
    nbs = data.neighbourhoods_of(f.locality) if f.level != "bsol" else None
    prs = data.practices_of(f.locality) if f.level != "bsol" else None
    chart = data.spc_chart(ind.id, f.level, f.locality, f.period_type)
    children, resolved = measure.content(ind, frame, f, period, nbs, prs, data.dataset_info().get("data_end", ""),
                                         chart, policy=data.policy())
    key = measure.view_key(f, resolved)
    if shown == key and _trigger() is not None:  # the same view again (a dropdown re-sent its value)
        return no_update, no_update, no_update
    return children, key, options


@callback(Output(ids.MEASURE_BELOW, "children"),
          Input(ids.MEASURE_BELOW_TRIGGER, "n_clicks"), Input(ids.MEASURE_VIEW, "data"),
          State(ids.MEASURE_ID, "data"))
def update_below(n_clicks: int | None, view: dict | None, indicator_id: str) -> list | None:
    """Neighbourhoods, practices, inequalities and definition, once the reader has scrolled to them."""
    if not n_clicks:
        return None
    got = _inputs(view, indicator_id)
    if got is None:
        return None
    ind, f, frame, nbs, prs = got
    return measure.below(ind, frame, f, view["period"], nbs, prs, data.dataset_info().get("data_end", ""),
                         data.inequality_rows(ind.id, f.period_type), funnel_plot=_funnel(ind, frame, view["period"], nbs, prs),
                         policy=data.policy())


def _funnel(ind: Indicator, frame: pd.DataFrame, period: str, nbs: list | None,
            prs: list | None) -> funnel.Funnel | None:
    """The funnel of the page's areas around BSol, from the displayed rows (None: none to draw)."""
    if funnel.kind_of(ind) is None:
        return None
    bsol = views.bsol_row(frame, period)
    row = bsol.iloc[0] if not bsol.empty else None
    value = None if row is None or pd.isna(row["value"]) else float(row["value"])
    return funnel.funnel(views.funnel_areas(frame, period, nbs, prs), value, ind, row)


@callback(Output(ids.table_id(ids.TABLE_BODY, MATCH, MATCH), "children"),
          Output(ids.table_id(ids.TABLE_PREV, MATCH, MATCH), "disabled"),
          Output(ids.table_id(ids.TABLE_NEXT, MATCH, MATCH), "disabled"),
          Output(ids.table_id(ids.TABLE_PAGE, MATCH, MATCH), "data"),
          Input(ids.table_id(ids.TABLE_OPEN, MATCH, MATCH), "n_clicks"),
          Input(ids.table_id(ids.TABLE_PREV, MATCH, MATCH), "n_clicks"),
          Input(ids.table_id(ids.TABLE_NEXT, MATCH, MATCH), "n_clicks"),
          State(ids.table_id(ids.TABLE_PAGE, MATCH, MATCH), "data"),
          State(ids.MEASURE_VIEW, "data"), State(ids.MEASURE_ID, "data"),
          prevent_initial_call=True)
def update_table(opened: int, _prev: int, _next: int, page: int | None, view: dict | None,
                 indicator_id: str, trigger: dict | None = None) -> tuple:
    """The table behind a chart: rendered on first opening; Previous/Next page through long tables.

    `trigger` (the id that fired) is for direct calls; in the app it comes from the callback context.
    """
    trigger = trigger or _trigger() or {}
    if trigger.get("type") == ids.TABLE_OPEN and (page is not None or not opened):
        return no_update, no_update, no_update, no_update  # already rendered (or closed again)
    step = {ids.TABLE_PREV: -1, ids.TABLE_NEXT: 1}.get(trigger.get("type", ""), 0)
    got = _inputs({**(view or {}), "period": trigger.get("period")}, indicator_id)
    if got is None:
        return None, True, True, None
    ind, f, frame, nbs, prs = got
    table, has_prev, has_next = measure.section_table(ind, frame, f, trigger["period"], nbs, prs,
                                                      trigger["section"], (page or 0) + step, data.practice_names())
    return table, not has_prev, not has_next, max((page or 0) + step, 0)
