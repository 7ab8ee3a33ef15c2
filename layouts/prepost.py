"""Pre/post INT analysis page: the Implementation Plan's table, rates and rate ratios with the
regression-to-the-mean caution, the comparison cohort (difference-in-differences) and the caseload
profile, for an INT team or a locality's teams, a cohort preset and a window.

Why this module exists: it is the page's components only. Everything here works on frames that
have already passed metrics.prepost's disclosure control (``for_display`` / ``profile_for_display``);
the tables it shows are built by exports.prepost (the same frames the downloads write, so a download
never shows more than the page) and handed in by the callbacks; the URL selection lives in
layouts.prepost_selection (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from dash import dcc, html

from layouts import components, figures, ids
from layouts import filters as flt
from layouts.prepost_selection import (
    ALL_TEAMS,
    PATH,
    Selection,
    in_scope,
    parse,
    profile_scope,
    scope_codes,
    scope_label,
    team_options,
    windows,
)
from metrics import prepost as pp
from metrics.disclosure import DisclosurePolicy

SUPPRESSED = components.SUPPRESSED


# --------------------------------------------------------------------------- page layout
def layout(teams: pd.DataFrame, configured_window: int = pp.DEFAULT_WINDOW, **query: str) -> html.Div:
    """The page frame; `teams` (INT team reference rows, no patient data) and the configured window
    (settings) come from the app."""
    sel = parse(query, teams, configured_window)
    f = flt.Filters(locality=sel.locality)
    extra = [
        components.filter_control("INT team", "team", team_options(teams, sel.locality), sel.team, width="13rem"),
        components.filter_control("Cohort", "cohort", [{"label": label, "value": key} for key, (label, _a, _b)
                                                       in pp.COHORT_PRESETS.items()], sel.cohort, width="22.5rem"),
        components.filter_control("Window (months each side)", "window",
                                  [{"label": f"{w} months", "value": w} for w in windows(configured_window)], sel.window,
                                  width="10rem"),
    ]
    return html.Div([
        components.page_header("Pre/post INT analysis",
                               "Activity of people on Integrated Neighbourhood Team caseloads in the months before "
                               "and after they joined, laid out as in the Implementation Plan, with rates, a "
                               "comparison group and who the caseload reaches."),
        components.errors_message(sel.errors, PATH) if sel.errors else None,
        components.filter_bar(f, ("locality",), extra=extra, reset_href=PATH),
        dcc.Loading(html.Div(id=ids.PREPOST_CONTENT, className="content"), type="default", delay_show=300),
        html.Div([
            dcc.Loading(html.Div(id=ids.PREPOST_DID, className="content"), type="default", delay_show=300,
                        parent_className="prepost-col"),
            dcc.Loading(html.Div(id=ids.PREPOST_PROFILE, className="content"), type="default", delay_show=300,
                        parent_className="prepost-col"),
        ], className="prepost-pair"),
    ], className="page page-prepost")


# --------------------------------------------------------------------------- formatting
def _nan(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or bool(pd.isna(v))


def _count(v: object) -> str:
    return SUPPRESSED if _nan(v) else f"{float(v):,.0f}"  # type: ignore[arg-type]


def _num(v: object, digits: int = 2, signed: bool = False) -> str:
    if _nan(v):
        return ""
    return f"{float(v):+,.{digits}f}" if signed else f"{float(v):,.{digits}f}"  # type: ignore[arg-type]


def _row_hidden(r: pd.Series) -> bool:
    return _nan(r["people"]) or _nan(r["pre"]) or _nan(r["post"])


def download_href(sel: Selection, fmt: str) -> str:
    return f"/download/prepost.{fmt}{sel.search()}"


# --------------------------------------------------------------------------- page sections
def _plan_table(plan: pd.DataFrame, caption: str) -> html.Div:
    """The plan's table with one row group per INT (row headers), [c] for suppressed cells."""
    acts = list(plan.columns[2:])
    head = html.Thead(html.Tr([html.Th("INT", scope="col"), html.Th("Measure", scope="col"),
                               *(html.Th(a, scope="col", className="num") for a in acts)]))
    groups = []
    for name, g in plan.groupby("INT", sort=False):
        rows = []
        for i, (_, r) in enumerate(g.iterrows()):
            cells = [html.Th(name, scope="rowgroup", rowSpan=len(g), className="plan-int")] if i == 0 else []
            cells.append(html.Th(r["MEASURE"], scope="row", className="plan-measure"))
            cells += [html.Td(_count(r[a]), className="num" + (" cell-c" if _nan(r[a]) else "")) for a in acts]
            rows.append(html.Tr(cells, className="plan-" + ("variance" if r["MEASURE"] == "VARIANCE" else "row"),
                                **{"data-int": name, "data-measure": r["MEASURE"]}))
        groups.append(html.Tbody(rows, className="plan-total" if name == pp.TOTAL_NAME.upper() else None))
    return html.Div(html.Table([html.Caption(caption), head, *groups], className="data-table plan-table",
                               id="prepost-plan-table"),
                    className="table-scroll", tabIndex=0, role="region", **{"aria-label": caption})


def _flow_text(flow: Mapping[str, float], window: int) -> str:
    if not flow:
        return ""

    def n(key: str) -> str:
        v = flow.get(key)
        return SUPPRESSED if v is None or pd.isna(v) else f"{v:,.0f}"

    return (f"Who is counted (BSol, rounded to 5): of {n('in_cohort_dates')} people whose first caseload "
            f"start falls in the cohort dates, {n('included')} are included; "
            f"{n('pre_before_data')} are left out because their {window}-month pre window starts before the "
            f"data (1 April 2023) and {n('post_incomplete')} because their post window has not ended yet.")


def content(frame: pd.DataFrame, sel: Selection, teams: pd.DataFrame, flow: Mapping[str, float],
            tables: Mapping[str, pd.DataFrame], *, policy: DisclosurePolicy) -> html.Div:
    """Plan table, downloads, the regression-to-the-mean caution and the rates table.

    ``tables``: exports.prepost.page_tables of the rows in scope (plan, rates, did)."""
    label = scope_label(sel, teams)
    cohort_label = pp.COHORT_PRESETS[sel.cohort][0]
    if frame.empty:
        return components.message(
            "No pre/post results for this selection",
            [html.P(f"No one in the {cohort_label} cohort has a complete {sel.window}-month pre and post window "
                    "in the data. Try a shorter window or the “All eligible” cohort."),
             html.P(_flow_text(flow, sel.window))],
            back_href=PATH, back_text="Back to the default view", kind="info")
    shown = in_scope(frame, scope_codes(sel, teams))
    notes: list = []
    if not (shown["int_team_code"] != pp.TOTAL_CODE).any():
        notes.append(html.P(f"No team among {label} has people in this cohort with complete windows: only the "
                            "BSol Total is shown.", className="rule-text"))
    plan = tables["plan"]
    caption = f"{cohort_label}: activity {sel.window} months before and after joining the caseload ({label})"
    rates = tables["rates"]
    hidden = [_row_hidden(r) for _, r in shown.iterrows()]
    rates_show = pd.DataFrame({
        "INT": rates["INT"], "Activity": rates["Activity"],
        "People": rates["People"].map(_count), "Pre": rates["Pre"].map(_count), "Post": rates["Post"].map(_count),
        "Pre rate per person-year": rates["Pre rate per person-year"].map(_num),
        "Post rate per person-year": rates["Post rate per person-year"].map(_num),
        "Rate ratio (95% CI, clustered by person)": [
            SUPPRESSED if h else (_rr_text(r) or "Not computable (none before)")
            for h, (_, r) in zip(hidden, rates.iterrows(), strict=True)],
        "Change in rate": [SUPPRESSED if h else _rr_change(r["Rate ratio"])
                           for h, (_, r) in zip(hidden, rates.iterrows(), strict=True)],
        "suppressed": hidden,
    })
    numeric = [c for c in rates_show.columns if c not in ("INT", "Activity", "suppressed")]
    return html.Div([
        html.Section([
            html.H2(f"The plan's table: {sel.window} months before and after"),
            html.P(_flow_text(flow, sel.window), className="muted small"),
            *notes,
            _plan_table(plan, caption),
            html.P("VARIANCE is post minus pre, from the rounded counts. The TOTAL row is every INT in BSol "
                   "(each person once, at their first start), whatever the filter, so team rows need not add up "
                   "to it.", className="muted small"),
            html.P([html.A("Download CSV", href=download_href(sel, "csv"), className="button-link",
                           id="prepost-download-csv", download=""), " ",
                    html.A("Download Excel", href=download_href(sel, "xlsx"), className="button-link",
                           id="prepost-download-xlsx", download="")], className="downloads"),
            components.suppression_legend(policy),
        ], className="panel", id="prepost-plan"),
        html.Div([html.H2("Caution: regression to the mean", className="caution-title"),
                  html.P(pp.RTM_CAUTION)],
                 className="caution", role="note", id="prepost-rtm", **{"aria-label": "Regression to the mean"}),
        html.Section([
            html.H2("Rates per person-year and rate ratios"),
            html.P("Rates use the person-time alive in each window, so deaths after joining do not make activity look "
                   "lower. The 95% confidence interval is clustered by person: a few high users account for much of "
                   "the activity, so the plain Poisson interval would be too narrow. A rate ratio below 1 is a "
                   "fall.", className="rule-text"),
            components.data_table(rates_show, f"Rates and rate ratios, {label} and BSol Total", numeric=numeric,
                                  table_id="prepost-rates-table"),
        ], className="panel", id="prepost-rates"),
    ])


def _rr_text(r: pd.Series) -> str:
    rr, lo, hi = r["Rate ratio"], r["Lower 95% CI (person-clustered)"], r["Upper 95% CI (person-clustered)"]
    if _nan(rr):
        return ""
    if _nan(lo) or _nan(hi):
        return f"{rr:.2f}"
    return f"{rr:.2f} ({lo:.2f} to {hi:.2f})"


def _rr_change(rr: object) -> str:
    if _nan(rr):
        return ""
    pct = (float(rr) - 1) * 100  # type: ignore[arg-type]
    if abs(pct) < 0.5:
        return "No change"
    return f"{abs(pct):.0f}% {'lower' if pct < 0 else 'higher'}"


# --------------------------------------------------------------------------- comparison cohort
def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _change(x: float, what: str) -> str:
    if round(x, 2) == 0:
        return f"about the same number of {what}"
    return f"{abs(x):.2f} {'fewer' if x < 0 else 'more'} {what}"


def did_parts(r: pd.Series, window: int) -> tuple[str, str, str]:
    """(activity, headline, detail): the comparison for one INT and activity in plain words."""
    name = pp.ACTIVITY_NAMES[r["activity"]]
    lower = name[0].lower() + name[1:] if not name.startswith(("A&E", "GP")) else name
    if _nan(r["did_pp"]):
        if _nan(r["people"]) or _nan(r.get("did_cases")):
            return name, f"{SUPPRESSED} Not shown (fewer than 8 people).", ""
        return name, "No comparison available.", ""
    case, ctrl, did = float(r["case_change_pp"]), float(r["control_change_pp"]), float(r["did_pp"])
    lo, hi = float(r["did_lower"]), float(r["did_upper"])
    detail = (f"In the {window} months after joining, people on the caseload had {_change(case, lower)} each than "
              f"in the {window} months before; the matched comparison group had {_change(ctrl, lower)}. "
              f"Difference {did:+.2f} per person (95% CI {lo:+.2f} to {hi:+.2f})"
              + ("; the interval includes no difference, so this could be chance." if lo <= 0 <= hi else "."))
    share = r["did_share"]
    if case >= 0:
        headline = f"There was no fall in {lower} to explain."
    elif _nan(share) or float(share) <= 0:
        headline = (f"Of the fall in {lower}, none is more than the matched comparison group's fall: theirs fell "
                    "by as much or more.")
    elif float(share) >= 1:
        headline = (f"Of the fall in {lower}, about all of it is more than the matched comparison group's change "
                    "(theirs did not fall).")
    else:
        headline = (f"Of the fall in {lower}, about {_pct(float(share))} is more than the matched comparison "
                    "group's fall.")
    return name, headline, detail


def did_sentence(r: pd.Series, window: int) -> str:
    """The comparison for one INT and activity in plain words (one string)."""
    name, headline, detail = did_parts(r, window)
    return f"{name}: {headline} {detail}".strip()


def _did_item(r: pd.Series, window: int) -> html.Li:
    name, headline, detail = did_parts(r, window)
    return html.Li([html.Strong(f"{name}: "), headline, html.Br() if detail else None,
                    html.Span(detail, className="did-detail") if detail else None])


def did_content(frame: pd.DataFrame, sel: Selection, teams: pd.DataFrame,
                tables: Mapping[str, pd.DataFrame], configured_window: int = pp.DEFAULT_WINDOW) -> html.Section:
    """The comparison cohort (difference-in-differences) in plain words, with unmatched people and limits.

    ``tables``: exports.prepost.page_tables of the rows in scope (its "did" frame is the table)."""
    heading = html.H2("Compared with similar people never on a caseload")
    if frame.empty:
        return html.Section([heading, html.P("No pre/post results for this selection.", className="muted")],
                            className="panel", id="prepost-did")
    shown = in_scope(frame, scope_codes(sel, teams))
    shown = shown[shown["activity"].isin(pp.DID_ACTIVITIES)]
    if pd.to_numeric(shown["did_pp"], errors="coerce").isna().all() and \
            pd.to_numeric(frame["did_pp"], errors="coerce").isna().all():
        did_windows = ", ".join(str(w) for w in pp.stored_did_windows(configured_window))
        return html.Section([heading, html.P(
            f"The comparison cohort is computed for the {did_windows}-month window only (it is the slow part). "
            f"Choose {did_windows} months to see how much of the fall the INT may explain.", className="rule-text")],
            className="panel", id="prepost-did")
    focus_code = sel.team if sel.team != ALL_TEAMS else pp.TOTAL_CODE
    focus = shown[shown["int_team_code"] == focus_code]
    focus_name = scope_label(sel, teams) if sel.team != ALL_TEAMS else "all INTs in BSol (Total)"
    items = [_did_item(r, sel.window) for _, r in focus.iterrows()]
    matched = focus["did_cases"].dropna()
    unmatched = focus["did_unmatched"]
    if len(matched):
        m = float(matched.iloc[0])
        u = unmatched.iloc[0]
        if _nan(u):
            who = (f"{m:,.0f} people found comparable people never on a caseload; fewer than 8 did not and are "
                   "left out.")
        else:
            u = float(u)
            share = f" ({_pct(u / (m + u))})" if m + u else ""
            who = (f"{m:,.0f} people found comparable people never on a caseload; {u:,.0f}{share} did not "
                   "(typically the very highest users) and are left out of the comparison.")
    else:
        who = f"{SUPPRESSED} The comparison is not shown for {focus_name} (fewer than 8 people)."
    table = tables["did"]
    show = table.copy()
    for c in ("Matched people", "Unmatched people"):
        show[c] = show[c].map(_count)
    for c in ("Change per person: caseload", "Change per person: comparison", "Difference per person",
              "Lower 95% CI", "Upper 95% CI"):
        show[c] = show[c].map(lambda v: _num(v, signed=True) or SUPPRESSED)
    show["Share of the fall beyond the comparison"] = show["Share of the fall beyond the comparison"].map(
        lambda v: "" if _nan(v) else (_pct(min(max(float(v), 0.0), 1.0)) if 0 < float(v) < 1
                                      else ("none" if float(v) <= 0 else "all")))
    return html.Section([
        heading,
        html.P("Each person on the caseload is compared with people never on any caseload who had the same index "
               "month, locality, sex, deprivation quintile, age band and prior A&E and inpatient use. The "
               "difference between the two changes is the part of the fall the INT may explain.",
               className="muted"),
        html.H3(f"How much of the fall the INT may explain: {focus_name}"),
        html.Ul(items, className="did-list", id="prepost-did-sentences"),
        html.P(who, className="rule-text"),
        html.Details([html.Summary("Show the comparison for every team as a table"),
                      components.data_table(show, f"Difference-in-differences per person over {sel.window} months",
                                            numeric=list(show.columns[2:]), suppressed_col=None,
                                            table_id="prepost-did-table")], className="chart-table"),
        html.H3("Limitations"),
        html.Ul([html.Li(x) for x in pp.LIMITATIONS], className="small"),
    ], className="panel", id="prepost-did")


# --------------------------------------------------------------------------- caseload profile
def profile_content(profile: pd.DataFrame, sel: Selection, teams: pd.DataFrame,
                    table: pd.DataFrame) -> html.Section:
    """Who the caseload reaches. ``table``: exports.prepost.profile_frame(profile), row for row."""
    heading = html.H2("Who the caseload reaches")
    label = scope_label(sel, teams)
    cases = pd.to_numeric(profile.get("caseload", pd.Series(dtype=float)), errors="coerce")
    hidden = profile.get("suppressed", pd.Series(dtype=bool)).astype(bool).any()
    if profile.empty or (cases.fillna(0).sum() == 0 and not hidden):
        return html.Section([heading, html.P(f"No one on the caseload of {label} in this cohort yet.",
                                             className="muted")], className="panel", id="prepost-profile-panel")
    area = str(profile["area"].iloc[0])
    area_label = "BSol" if area == "BSol" else (area if area.startswith("neighbourhood") else
                                                flt.GEOGRAPHY_LABELS.get(area, area))
    labels = list(table["Group"])  # the readable group names, in the profile's row order
    under = [g for g, flag in zip(labels, profile["flag"], strict=True) if flag == "under-represented"]
    over = [g for g, flag in zip(labels, profile["flag"], strict=True) if flag == "over-represented"]
    summary = [
        html.Li([html.Strong("Under-represented "), "(95% CI wholly below 1): ",
                 "; ".join(under) if under else "none"]),
        html.Li([html.Strong("Over-represented "), "(95% CI wholly above 1): ",
                 "; ".join(over) if over else "none"]),
    ]
    fig = figures.representation_figure(
        profile.assign(label=labels),
        f"Caseload share ÷ population share, {label} against {area_label}")
    description = (f"Representation index for each age band, sex, deprivation quintile and ethnic group: the "
                   f"caseload's share divided by the registered population's share in {area_label}. 1 means "
                   "represented in proportion; under-represented groups are marked ◀ and over-represented ▶.")
    return html.Section([
        heading,
        html.P(f"The caseload of {label} ({pp.COHORT_PRESETS[sel.cohort][0]}) against the registered population of "
               f"{area_label}. Not need-adjusted: a caseload of frail high users should be older and more deprived "
               "than the population, so look hardest at sex, ethnicity and deprivation.", className="muted"),
        html.Ul(summary, className="profile-summary", id="prepost-profile-summary"),
        components.chart(fig, components.data_table(table, f"Caseload profile, {label} against {area_label}",
                                                    numeric=["Caseload", "Caseload %", "Population", "Population %",
                                                             "Representation index (95% CI)"],
                                                    suppressed_col=None, table_id="prepost-profile-table"),
                         description),
    ], className="panel", id="prepost-profile-panel")


def not_available() -> html.Div:
    return components.message(
        "Pre/post analysis not available yet",
        "The pre/post INT tables have not been built for this data yet. The scorecard and measure "
        "pages are unaffected.", kind="info")


__all__ = ["ALL_TEAMS", "PATH", "Selection", "content", "did_content", "did_parts", "did_sentence", "download_href",
           "in_scope", "layout", "not_available", "parse", "profile_content", "profile_scope", "scope_codes",
           "scope_label", "team_options", "windows"]
