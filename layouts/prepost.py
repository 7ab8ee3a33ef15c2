"""Pre/post INT analysis page: the Implementation Plan's table, rates and rate ratios with the
regression-to-the-mean caution, the comparison cohort (difference-in-differences) and the caseload
profile, for an INT team or a locality's teams, a cohort preset and a window.

Everything here works on frames that have already passed metrics.prepost's disclosure control
(``for_display`` / ``profile_for_display``); the same view functions build the page and the
downloads, so a download never shows more than the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from dash import dcc, html

from layouts import components, figures, ids
from layouts import filters as flt
from metrics import disclosure
from metrics import prepost as pp

PATH = "/pre-post"
ALL_TEAMS = "all"
SUPPRESSED = components.SUPPRESSED
ACTIVITY_NAMES = {
    "gp_appointments": "GP appointments",
    "ae_attendances": "A&E attendances",
    "inpatient_spells": "Inpatient spells",
    "op_community_contacts": "Outpatient & community contacts",
    "care_packages": "Care packages",
}
BREAKDOWN_NAMES = {"age_band": "Age", "sex": "Sex", "imd_quintile": "IMD", "ethnicity": "Ethnic group"}
SEX_NAMES = {"F": "Female", "M": "Male", "U": "Unknown"}
LIMITATIONS = (
    "This is observational. Matching on age, sex, deprivation, locality and prior A&E and inpatient use does "
    "not capture why a person was referred (frailty, multimorbidity, a clinician's concern, social "
    "circumstances), so some difference remains and its direction is unknown.",
    "Matching on one prior window does not remove regression to the mean entirely when people were chosen on a "
    "longer or different history.",
    "The comparison pool excludes everyone ever on a caseload, including people referred later who resembled "
    "the cases, so it is slightly lower-need. The same comparison person can serve several index months.",
    "GP appointments are not compared: the GP extract only covers people who have been on a caseload.",
    "Read the difference as an order of magnitude, not a causal effect.",
)


# --------------------------------------------------------------------------- URL selection
@dataclass(frozen=True)
class Selection:
    """The page's filters, validated: locality (BSol or one), team code or "all", cohort, window."""

    locality: str = flt.BSOL
    team: str = ALL_TEAMS
    cohort: str = "pilot"
    window: int = pp.DEFAULT_WINDOW
    errors: tuple[str, ...] = field(default=())

    def query(self) -> dict[str, object]:
        return {"locality": self.locality, "team": self.team, "cohort": self.cohort, "window": self.window}

    def search(self) -> str:
        return flt.to_search(self.query(), ("locality", "team", "cohort", "window"))


def windows() -> tuple[int, ...]:
    """Windows with stored results (3, 6, 12 and the configured BSOL_PREPOST_MONTHS)."""
    return pp.stored_windows()


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()[:64]


def parse(query: Mapping[str, object], teams: pd.DataFrame) -> Selection:
    """Selection from the URL query (or the filter values); unknown values become errors."""
    f = flt.parse(dict(query))
    errors = list(f.errors)
    team = ALL_TEAMS
    raw = _text(query.get("team"))
    if raw and raw.lower() != ALL_TEAMS:
        hit = teams[(teams["int_team_code"].str.lower() == raw.lower()) | (teams["int_team"].str.lower() == raw.lower())]
        if hit.empty:
            errors.append(f"Unknown INT team “{raw}”. Choose a team from the list.")
        elif f.locality != flt.BSOL and hit.iloc[0]["locality"] != f.locality:
            errors.append(f"{hit.iloc[0]['int_team']} serves {hit.iloc[0]['locality']}, not {f.locality}. "
                          "Choose a team in this locality, or “All INTs”.")
        else:
            team = str(hit.iloc[0]["int_team_code"])
    cohort = _text(query.get("cohort")).lower() or "pilot"
    if cohort not in pp.COHORT_PRESETS:
        errors.append(f"Unknown cohort “{cohort}”. Choose one of: {', '.join(pp.COHORT_PRESETS)}.")
        cohort = "pilot"
    window = pp.DEFAULT_WINDOW
    raw = _text(query.get("window"))
    if raw:
        try:
            window = int(float(raw))
            if float(raw) != window or window not in windows():
                raise ValueError
        except ValueError:
            errors.append(f"Unknown window “{raw}”. Choose one of: "
                          f"{', '.join(str(w) for w in windows())} months.")
            window = pp.DEFAULT_WINDOW
    return Selection(f.locality, team, cohort, window, tuple(errors))


def team_options(teams: pd.DataFrame, locality: str) -> list[dict[str, str]]:
    here = teams if locality == flt.BSOL else teams[teams["locality"] == locality]
    first = "All INTs" if locality == flt.BSOL else f"All INTs in {flt.GEOGRAPHY_LABELS[locality]}"
    return [{"label": first, "value": ALL_TEAMS},
            *({"label": str(r.int_team), "value": str(r.int_team_code)} for r in here.itertuples())]


def scope_codes(sel: Selection, teams: pd.DataFrame) -> list[str]:
    """INT codes in scope: the chosen team, else the locality's teams, else every team."""
    if sel.team != ALL_TEAMS:
        return [sel.team]
    here = teams if sel.locality == flt.BSOL else teams[teams["locality"] == sel.locality]
    return here["int_team_code"].astype(str).tolist()


def profile_scope(sel: Selection) -> str:
    """What the caseload profile describes: the team (vs its locality), a locality, or BSol."""
    return sel.team if sel.team != ALL_TEAMS else sel.locality


def scope_label(sel: Selection, teams: pd.DataFrame) -> str:
    if sel.team != ALL_TEAMS:
        hit = teams[teams["int_team_code"] == sel.team]
        return str(hit.iloc[0]["int_team"]) if not hit.empty else sel.team
    return "all INTs" if sel.locality == flt.BSOL else f"INTs in {flt.GEOGRAPHY_LABELS[sel.locality]}"


# --------------------------------------------------------------------------- page layout
def layout(teams: pd.DataFrame, **query: str) -> html.Div:
    """The page frame; `teams` (INT team reference rows, no patient data) comes from the app."""
    sel = parse(query, teams)
    f = flt.Filters(locality=sel.locality)
    extra = [
        components.filter_control("INT team", "team", team_options(teams, sel.locality), sel.team, width="13rem"),
        components.filter_control("Cohort", "cohort", [{"label": label, "value": key} for key, (label, _a, _b)
                                                       in pp.COHORT_PRESETS.items()], sel.cohort, width="22.5rem"),
        components.filter_control("Window (months each side)", "window",
                                  [{"label": f"{w} months", "value": w} for w in windows()], sel.window,
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


def in_scope(frame: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Rows of the chosen teams plus the BSol Total row."""
    if frame.empty:
        return frame
    return frame[frame["int_team_code"].isin(list(codes)) | (frame["int_team_code"] == pp.TOTAL_CODE)]


def _row_hidden(r: pd.Series) -> bool:
    return _nan(r["people"]) or _nan(r["pre"]) or _nan(r["post"])


# --------------------------------------------------------------------------- tables (page + downloads)
def plan_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The plan's layout (rows per INT: pre / post / variance; a column per activity); NaN = [c]."""
    return pp.plan_layout(frame)


def _team_names(frame: pd.DataFrame) -> pd.Series:
    return frame["int_team"].where(frame["int_team_code"] != pp.TOTAL_CODE, "Total (BSol)")


def _rounded(series: pd.Series, digits: int) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").round(digits)


def rates_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates per person-year and rate ratios with the person-clustered 95% interval (numbers)."""
    out = pd.DataFrame({
        "INT": _team_names(frame),
        "Activity": frame["activity"].map(ACTIVITY_NAMES),
        "People": frame["people"], "Pre": frame["pre"], "Post": frame["post"],
        "Pre rate per person-year": _rounded(frame["pre_rate"], 2),
        "Post rate per person-year": _rounded(frame["post_rate"], 2),
        "Rate ratio": _rounded(frame["rate_ratio"], 3),
        "Lower 95% CI (person-clustered)": _rounded(frame["rr_robust_lower"], 3),
        "Upper 95% CI (person-clustered)": _rounded(frame["rr_robust_upper"], 3),
    })
    return out.reset_index(drop=True)


def did_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Comparison cohort (difference-in-differences) per INT and activity (numbers; per person)."""
    sub = frame[frame["activity"].isin(pp.DID_ACTIVITIES)]
    out = pd.DataFrame({
        "INT": _team_names(sub),
        "Activity": sub["activity"].map(ACTIVITY_NAMES),
        "Matched people": sub["did_cases"], "Unmatched people": sub["did_unmatched"],
        "Change per person: caseload": _rounded(sub["case_change_pp"], 3),
        "Change per person: comparison": _rounded(sub["control_change_pp"], 3),
        "Difference per person": _rounded(sub["did_pp"], 3),
        "Lower 95% CI": _rounded(sub["did_lower"], 3),
        "Upper 95% CI": _rounded(sub["did_upper"], 3),
        "Share of the fall beyond the comparison": _rounded(sub["did_share"], 3),
    })
    return out.reset_index(drop=True)


def download_tables(frame: pd.DataFrame, sel: Selection, label: str) -> dict[str, pd.DataFrame]:
    """Sheets for the Excel download (the CSV is the first): plan table, rates, comparison, notes."""
    plan = plan_frame(frame)
    for col in plan.columns[2:]:
        plan[col] = plan[col].map(lambda v: SUPPRESSED if _nan(v) else int(v))
    rates = rates_frame(frame).astype(object).where(lambda d: d.notna(), "")
    for col in ("People", "Pre", "Post"):
        rates[col] = rates[col].map(lambda v: SUPPRESSED if v == "" else int(v))
    did = did_frame(frame).astype(object).where(lambda d: d.notna(), "")
    cohort_label = pp.COHORT_PRESETS[sel.cohort][0]
    notes = pd.DataFrame({"Note": [
        f"Pre/post INT analysis: {label}; cohort {cohort_label}; {sel.window} months before and after joining.",
        "The Total row is every INT in BSol, each person counted once at their first start.",
        "Disclosure control: " + disclosure.describe(disclosure.configured_rule()),
        "Rate ratio = post rate / pre rate per person-year alive; 95% CI clustered by person (high users are "
        "over-dispersed).",
        "Caution: " + pp.RTM_CAUTION,
        *("Limitation: " + x for x in LIMITATIONS),
    ]})
    return {"Plan table": plan, "Rates and ratios": rates, "Comparison cohort": did, "Notes": notes}


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


def content(frame: pd.DataFrame, sel: Selection, teams: pd.DataFrame, flow: Mapping[str, float]) -> html.Div:
    """Plan table, downloads, the regression-to-the-mean caution and the rates table."""
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
    plan = plan_frame(shown)
    caption = f"{cohort_label}: activity {sel.window} months before and after joining the caseload ({label})"
    rates = rates_frame(shown)
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
            components.suppression_legend(),
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
    name = ACTIVITY_NAMES[r["activity"]]
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


def did_content(frame: pd.DataFrame, sel: Selection, teams: pd.DataFrame) -> html.Section:
    """The comparison cohort (difference-in-differences) in plain words, with unmatched people and limits."""
    heading = html.H2("Compared with similar people never on a caseload")
    if frame.empty:
        return html.Section([heading, html.P("No pre/post results for this selection.", className="muted")],
                            className="panel", id="prepost-did")
    shown = in_scope(frame, scope_codes(sel, teams))
    shown = shown[shown["activity"].isin(pp.DID_ACTIVITIES)]
    if pd.to_numeric(shown["did_pp"], errors="coerce").isna().all() and \
            pd.to_numeric(frame["did_pp"], errors="coerce").isna().all():
        did_windows = ", ".join(str(w) for w in pp.stored_did_windows())
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
    table = did_frame(shown)
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
        html.Ul([html.Li(x) for x in LIMITATIONS], className="small"),
    ], className="panel", id="prepost-did")


# --------------------------------------------------------------------------- caseload profile
def _group_label(breakdown: str, group: str) -> str:
    if breakdown == "sex":
        group = SEX_NAMES.get(group, group)
    if breakdown == "imd_quintile" and group == "Q1":
        group = "Q1 (most deprived)"
    if breakdown == "imd_quintile" and group == "Q5":
        group = "Q5 (least deprived)"
    return f"{BREAKDOWN_NAMES.get(breakdown, breakdown)}: {group}"


def profile_frame(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile as a readable table (strings): counts, shares, index with CI and the reading in words."""
    rows = []
    for _, r in profile.iterrows():
        sup = bool(r.get("suppressed", False))
        rep = r["representation"]
        if sup:
            reading = f"{SUPPRESSED} suppressed"
        elif _nan(rep):
            reading = "Not computable"
        else:
            reading = {"under-represented": "Under-represented", "over-represented": "Over-represented"}.get(
                r["flag"], "Not clearly different")
        rows.append({
            "Group": _group_label(r["breakdown"], r["group"]),
            "Caseload": _count(r["caseload"]),
            "Caseload %": SUPPRESSED if _nan(r["caseload_share"]) else f"{r['caseload_share'] * 100:.1f}%",
            "Population": _count(r["population"]),
            "Population %": SUPPRESSED if _nan(r["population_share"]) else f"{r['population_share'] * 100:.1f}%",
            "Representation index (95% CI)": SUPPRESSED if _nan(rep) else
            f"{rep:.2f} ({r['representation_lower']:.2f} to {r['representation_upper']:.2f})",
            "Reading": reading,
        })
    return pd.DataFrame(rows)


def profile_content(profile: pd.DataFrame, sel: Selection, teams: pd.DataFrame) -> html.Section:
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
    under = [_group_label(r.breakdown, r.group) for r in profile.itertuples() if r.flag == "under-represented"]
    over = [_group_label(r.breakdown, r.group) for r in profile.itertuples() if r.flag == "over-represented"]
    summary = [
        html.Li([html.Strong("Under-represented "), "(95% CI wholly below 1): ",
                 "; ".join(under) if under else "none"]),
        html.Li([html.Strong("Over-represented "), "(95% CI wholly above 1): ",
                 "; ".join(over) if over else "none"]),
    ]
    table = profile_frame(profile)
    fig = figures.representation_figure(
        profile.assign(label=[_group_label(b, g) for b, g in zip(profile["breakdown"], profile["group"], strict=True)]),
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
