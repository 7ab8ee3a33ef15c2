"""Locality, inequalities, data and pre/post page callbacks (thin)."""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html, no_update

import access
from callbacks import data
from exports import prepost as prepost_tables
from layouts import components, data_page, ids, inequalities, locality, prepost
from layouts import filters as flt


def _filters(locality_value: str | None, period_type: str | None) -> flt.Filters:
    return flt.parse({"locality": locality_value or "", "period_type": period_type or ""})


def _problem(f: flt.Filters, path: str) -> html.Div | None:
    """The in-page message a callback returns instead of content: a bad link, or no data yet."""
    if f.errors:
        return components.errors_message(f.errors, path)
    if not data.has_results():
        return components.no_data_message()
    return None


@callback(Output(ids.LOCALITY_CONTENT, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("period_type"), "value"))
def update_locality(locality_value: str | None, period_type: str | None) -> html.Div:
    f = _filters(locality_value, period_type)
    if (problem := _problem(f, "/locality")) is not None:
        return problem
    if f.level == "bsol":  # the overview (tartan rug): the LDP chairs' entry point
        return locality.overview(data.compared_results(geography_level="locality", breakdown="none"),
                                 data.display_results(geography_level="bsol", breakdown="none"), f.period_type)
    nbs = data.neighbourhoods_of(f.locality)
    nb_frame = data.compared_results(geography_level="neighbourhood", geographies=nbs or ["-"], breakdown="none")
    bsol_frame = data.display_results(geography_level="bsol", breakdown="none")
    return locality.content(data.scorecard("locality", f.locality, f.period_type),
                            data.scorecard("bsol", flt.BSOL, f.period_type), f, nb_frame, bsol_frame, nbs,
                            policy=data.policy())


@callback(Output(ids.ALL_NEIGHBOURHOODS, "children"), Input(ids.ALL_NEIGHBOURHOODS_BUTTON, "n_clicks"),
          State(ids.filter_id("period_type"), "value"), prevent_initial_call=True)
def show_all_neighbourhoods(n_clicks: int | None, period_type: str | None) -> html.Div | None:
    """The overview's rug of every neighbourhood: rendered only when asked for (it is wide)."""
    if not n_clicks:
        return None
    f = _filters(None, period_type)
    if (problem := _problem(f, "/locality")) is not None:
        return problem
    tree = data.geography_tree()
    order = {loc: i for i, loc in enumerate(flt.GEOGRAPHIES)}
    tree = tree.assign(_o=tree["locality"].map(order)).sort_values(["_o", "neighbourhood"])
    nbs = list(dict.fromkeys(tree["neighbourhood"].dropna().astype(str)))
    return locality.all_neighbourhoods(data.compared_results(geography_level="neighbourhood", breakdown="none"),
                                       data.display_results(geography_level="bsol", breakdown="none"),
                                       f.period_type, nbs)


@callback(Output(ids.INEQ_CONTENT, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("period_type"), "value"))
def update_inequalities(locality_value: str | None, period_type: str | None) -> html.Div:
    f = _filters(locality_value, period_type)
    if (problem := _problem(f, "/inequalities")) is not None:
        return problem
    frame = data.compared_results(geography_level=f.level, geographies=[f.locality])
    return inequalities.content(frame, f, policy=data.policy())


@callback(Output(ids.DATA_CONTENT, "children"), Input(ids.URL, "pathname"))
def update_data_page(_pathname: str | None) -> html.Div:
    details = access.can("load_details")  # viewers and analysts: no load log details or rejection reasons
    coverage = data.source_coverage() if details else data.rows_display(data.source_coverage(), "Rows")
    return data_page.content(data.dataset_info(), data.load_log() if details else None,
                             data.rejections() if details else None, coverage, data.completeness_display(),
                             audit=data.audit_log() if access.can("audit") else None)


def _prepost_selection(locality_value: str | None, team: str | None, cohort: str | None,
                       window: int | str | None) -> prepost.Selection:
    return prepost.parse({"locality": locality_value or "", "team": team or "", "cohort": cohort or "",
                          "window": "" if window is None else str(window)}, data.int_teams(),
                         data.prepost_window())


@callback(Output(ids.filter_id("team"), "options"), Output(ids.filter_id("team"), "value"),
          Input(ids.filter_id("locality"), "value"), State(ids.filter_id("team"), "value"))
def update_prepost_teams(locality_value: str | None, team: str | None) -> tuple[list, str]:
    """Team choices follow the locality; a team outside the new locality falls back to "All INTs"."""
    f = _filters(locality_value, None)
    teams = data.int_teams()
    options = prepost.team_options(teams, f.locality)
    value = team if team in {o["value"] for o in options} else prepost.ALL_TEAMS
    return options, value


@callback(Output(ids.PREPOST_CONTENT, "children"), Output(ids.PREPOST_DID, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("team"), "value"),
          Input(ids.filter_id("cohort"), "value"), Input(ids.filter_id("window"), "value"))
def update_prepost(locality_value: str | None, team: str | None, cohort: str | None,
                   window: int | str | None) -> tuple[html.Div, html.Div | None]:
    """The plan's table, rates and ratios, and the comparison cohort for the selection."""
    sel = _prepost_selection(locality_value, team, cohort, window)
    if sel.errors:
        return components.errors_message(sel.errors, prepost.PATH), None
    if not data.has_results():
        return components.no_data_message(), None
    teams = data.int_teams()
    frame = data.prepost_display(sel.cohort, sel.window)
    flow = data.cohort_flow_total(sel.cohort, sel.window)
    tables = prepost_tables.page_tables(prepost.in_scope(frame, prepost.scope_codes(sel, teams)))
    return (prepost.content(frame, sel, teams, flow, tables, policy=data.policy()),
            prepost.did_content(frame, sel, teams, tables, data.prepost_window()))


@callback(Output(ids.PREPOST_PROFILE, "children"),
          Input(ids.filter_id("locality"), "value"), Input(ids.filter_id("team"), "value"),
          Input(ids.filter_id("cohort"), "value"), Input(ids.filter_id("window"), "value"))
def update_prepost_profile(locality_value: str | None, team: str | None, cohort: str | None,
                           window: int | str | None) -> html.Div | None:
    """The caseload profile (a live aggregate query, cached): its own loading state."""
    sel = _prepost_selection(locality_value, team, cohort, window)
    if sel.errors or not data.has_results():
        return None
    teams = data.int_teams()
    profile = data.caseload_profile_display(prepost.profile_scope(sel), sel.cohort)
    return prepost.profile_content(profile, sel, teams, prepost_tables.profile_frame(profile))


@callback(Output(ids.PACK_DOWNLOAD, "data"), Output(ids.PACK_STATUS, "children"),
          Input(ids.PACK_BUTTON, "n_clicks"), State(ids.filter_id("locality"), "value"),
          State(ids.filter_id("period_type"), "value"), prevent_initial_call=True)
def download_pack(n_clicks: int, locality_value: str | None, period_type: str | None) -> tuple:
    if not n_clicks:
        return no_update, no_update
    if not access.can("packs"):  # check_request refuses this callback first; kept so the callback is safe alone
        return None, "Excel packs are for analysts: ask the data team for access."
    f = _filters(locality_value, period_type)
    place = locality.pack_place(f.locality)
    try:
        payload = data.build_pack(place)
    except ValueError as e:
        return None, f"Could not build the pack: {e}"
    if payload is None:
        return None, "No data loaded: nothing to put in a pack."
    name = f"bsol-pack-{place}.xlsx"
    from auth import audit_event

    audit_event("pack", {"place": place, "bytes": len(payload)})
    return dcc.send_bytes(payload, name), f"Pack ready: {name}"
