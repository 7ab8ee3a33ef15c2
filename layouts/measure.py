"""Measure page (one page for every indicator: /measure/<indicator_id>)."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
from dash import dcc, html

from layouts import components, figures, ids, views
from layouts import filters as flt
from metrics import funnel, inequality, spc
from metrics.catalogue import INDICATORS, INDICATORS_BY_ID, Indicator, measure_of
from metrics.dimensions import BREAKDOWN_LABELS
from metrics.disclosure import DisclosurePolicy
from metrics.docs import indicator_rows
from metrics.results import format_value, period_label, period_note

SUFFIX = " | BSol outcomes dashboard"
OTHER_BREAKDOWNS = ("sex", "age_band")
LATEST = "latest"
ROLLING = "rolling_12m"


def title(indicator_id: str | None = None, **_: str) -> str:
    ind = INDICATORS_BY_ID.get(indicator_id or "")
    return (f"Measure {ind.measure}: {ind.title}" if ind else "Measure not found") + SUFFIX


def layout(indicator_id: str | None = None, **query: str) -> html.Div:
    if indicator_id is None:  # the validation layout: every id the page can hold
        indicator_id = INDICATORS[0].id
    ind = INDICATORS_BY_ID.get(indicator_id)
    if ind is None:
        return html.Div([
            components.page_header("Measure not found"),
            components.message(f"There is no indicator “{indicator_id[:64]}”",
                               "The link may be out of date. Choose a measure from the scorecard or the list "
                               "of definitions.", kind="error"),
        ], className="page")
    f = flt.parse(query)
    m = measure_of(ind)
    f_bar = flt.Filters(f.locality, f.period_type, f.period or LATEST,
                        f.breakdown if f.breakdown in OTHER_BREAKDOWNS else "sex")
    bar = components.filter_bar(f_bar, ("locality", "period_type", "period", "breakdown"), ind.frequency)
    for ctl in bar.children:  # breakdown: only the breakdowns not already charted
        dd = getattr(ctl, "children", [None, None])
        if isinstance(dd, list) and len(dd) == 2 and getattr(dd[1], "id", None) == ids.filter_id("breakdown"):
            dd[1].options = [o for o in flt.breakdown_options() if o["value"] in OTHER_BREAKDOWNS]
    return html.Div([
        html.P(dcc.Link("← All measures", href="/" + flt.to_search({"locality": f.locality, "period_type": f.period_type},
                                                                   flt.CARRIED), className="back-link", id="measure-back")),
        html.P([f"Measure {m.number} · ", html.Q(m.wording, className="measure-wording")], className="kicker"),
        components.page_header(ind.title, badge="proposed — not agreed" if m.proposed else None),
        components.errors_message(f.errors, f"/measure/{ind.id}") if f.errors else None,
        dcc.Store(id=ids.MEASURE_ID, data=ind.id),
        bar,
        dcc.Store(id=ids.MEASURE_VIEW, data=None),
        dcc.Loading(html.Div(id=ids.MEASURE_CONTENT, className="content"), type="default", delay_show=300),
        # Below the fold: assets/lazy.js clicks the hidden trigger when this comes into view.
        html.Button(id=ids.MEASURE_BELOW_TRIGGER, n_clicks=0, hidden=True, type="button", tabIndex="-1"),
        html.Div(id=ids.MEASURE_BELOW, className="content lazy-below"),
    ], className="page page-measure")


def period_options(periods: list[str], value: str | None) -> tuple[list[dict[str, str]], str]:
    latest = periods[-1] if periods else "none"
    options = [{"label": f"Latest ({latest})", "value": LATEST}] + [{"label": p, "value": p} for p in reversed(periods)]
    if value and value != LATEST and value not in periods:
        options.append({"label": f"{value} (no data)", "value": value})
    return options, value or LATEST


def download_href(ind: Indicator, f: flt.Filters, period: str, fmt: str) -> str:
    query = {k: v for k, v in (("locality", f.locality), ("period_type", f.period_type), ("period", period)) if v}
    return f"/download/measure/{ind.id}.{fmt}?{urlencode(query)}"


def _fmt_est(value: float | None, lower: float | None, upper: float | None, ind: Indicator, sup: bool) -> str:
    text = format_value(value, ind, sup)
    if not sup and lower is not None and upper is not None and not pd.isna(lower) and not pd.isna(upper):
        text += f" (95% CI {format_value(lower, ind)} to {format_value(upper, ind)})"
    return text


def view_key(f: flt.Filters, period: str | None) -> dict[str, str | None]:
    """What the content shows (stored beside it): the lazy sections and tables render the same view."""
    return {"locality": f.locality, "period_type": f.period_type, "period": period, "breakdown": f.breakdown}


def content(ind: Indicator, frame: pd.DataFrame, f: flt.Filters, requested_period: str | None,
            neighbourhoods: list[str] | None, practices: list[str] | None, data_end: str,
            chart: tuple[pd.DataFrame, spc.SpcSummary] | None = None, *,
            policy: DisclosurePolicy) -> tuple[list, str | None]:
    """The first screen: headline, trend and localities; returns (children, period shown).

    `frame` holds this indicator's display results for one period type. ``chart``: the XmR frame and
    icons for the selected series from ``results.spc_frame`` (computed on the shown values, limits
    rounded); without it the chart is drawn from the displayed values. Neighbourhoods, practices,
    inequalities and the definition are `below()` (rendered when scrolled to), and every table
    behind a chart is rendered only when opened (`section_table`): a measure page used to be 4,000
    DOM nodes, most of them tables few readers open.
    """
    here = flt.GEOGRAPHY_LABELS[f.locality]
    path = f"/measure/{ind.id}"
    if frame.empty:
        return [components.message("No data for this selection",
                                   f"There are no {f.period_type or ''} results for {ind.title} yet.", path,
                                   "Show this measure without filters")], None
    periods = views.periods(frame)
    period = views.latest_period(frame, f) if requested_period in (None, "", LATEST) else requested_period
    if period is None or period not in periods:
        return [components.message(
            "No data for this selection",
            f"There are no figures for {here} in period “{requested_period or ''}”. Choose another period, or "
            "reset the filters.", path, "Show the latest period")], None
    s = views.series(frame, f)
    out: list = []
    shown = _period_label(period, s if not s.empty else frame)

    # Headline + SPC --------------------------------------------------------------------------
    latest = s[s.period == period]
    bsol = frame[(frame.geography_level == "bsol") & (frame.breakdown == "none") & (frame.period == period)]
    summary = chart[1] if chart is not None else None
    row = latest.iloc[0] if not latest.empty else None
    head: list = []
    if row is not None:
        head.append(html.Div([html.Span(f"{here}, {shown}", className="stat-label"),
                              html.Span(format_value(_n(row.value), ind, bool(row.suppressed)), className="stat-value"),
                              html.Span(_ci_text(row, ind), className="ci")], className="stat"))
    if f.level != "bsol" and not bsol.empty:
        b = bsol.iloc[0]
        head.append(html.Div([html.Span(f"BSol, {shown}", className="stat-label"),
                              html.Span(format_value(_n(b.value), ind, bool(b.suppressed)), className="stat-value"),
                              html.Span(_ci_text(b, ind), className="ci")], className="stat"))
    if f.period_type == ROLLING:  # overlapping windows: no SPC icons (metrics.results.NO_SPC_ROLLING)
        head.append(html.Div([html.Span("Variation", className="stat-label"),
                              html.Span("Not assessed on rolling years", className="stat-target")], className="stat"))
    elif summary is not None:
        head.append(html.Div([html.Span("Variation", className="stat-label"),
                              components.variation_badge(summary.variation)], className="stat"))
        head.append(html.Div([html.Span("Assurance", className="stat-label"),
                              components.assurance_badge(summary.assurance)], className="stat"))
    if ind.target is not None:
        head.append(html.Div([html.Span("Target", className="stat-label"),
                              html.Span(ind.target_text or format_value(ind.target, ind), className="stat-target")],
                             className="stat"))
    out.append(html.Div(head, className="stats-row"))
    out.append(html.P([f"Data to {data_end}. " if data_end else "",
                       html.A("Download all figures (CSV)", href=download_href(ind, f, period, "csv"),
                              className="button-link", id="download-csv", download=""), " ",
                       html.A("Download all figures (Excel)", href=download_href(ind, f, period, "xlsx"),
                              className="button-link", id="download-xlsx", download="")], className="downloads"))

    if chart is not None and len(chart[0]) >= 2:
        xmr = chart[0]
        fig = figures.spc_figure(xmr, [_period_label(p, s) for p in xmr["period"]], ind,
                                 f"{ind.title}: {here}, by {f.period_type or ''}".replace("_", " "))
        rule = (summary.rule if summary and summary.rule else "No SPC rule evaluated").rstrip(".")
        trial = " Limits are trial limits (fewer than 12 points)." if summary and summary.trial_limits else ""
        if spc.segment_starts(xmr):
            trial += (" Limits are recalculated (rebased) from " +
                      ", ".join(str(xmr["period"].iloc[i]) for i in spc.segment_starts(xmr)) + ".")
        direction = {"HIGH_IS_GOOD": "Higher is better.", "LOW_IS_GOOD": "Lower is better.",
                     "NO_JUDGEMENT": "No direction is better."}[ind.polarity.value]
        kind = "Rolling 12-month trend" if f.period_type == ROLLING else "SPC (XmR) chart"
        caption = f"{kind}. {rule}.{trial} {direction}".replace("..", ".")
        if "event" in xmr and xmr["event"].map(lambda v: isinstance(v, str)).any():  # the annotations in words
            caption += " Marked on the chart: " + "; ".join(
                f"{e} in {_period_label(p, s)}" for p, e in zip(xmr["period"], xmr["event"], strict=True)
                if isinstance(e, str)) + "."
        missing = int(xmr["value"].isna().sum())
        gaps = (f" {missing} of {len(xmr)} points are suppressed ([c] along the top of the chart)."
                if missing else "")
        out.append(html.Section([html.H2("Trend and variation"),  # the rule sentence once: as the caption
                                 components.chart(fig, components.lazy_table("trend", period), caption + gaps),
                                 _rolling_offer(ind, f, missing, len(xmr))],
                                className="panel"))
    else:
        out.append(html.Section([html.H2("Trend and variation"),
                                 html.P("Not enough periods for an SPC chart yet.", className="muted")],
                                className="panel"))

    # Localities -----------------------------------------------------------------------------------
    loc = views.localities(frame, period)
    bench = _n(bsol.iloc[0].value) if not bsol.empty else None
    loc_fig = figures.comparison_figure(loc.assign(label=loc.geography.map(flt.GEOGRAPHY_LABELS)), "label", ind,
                                        f"Localities, {shown}", benchmark=bench,
                                        highlight=flt.GEOGRAPHY_LABELS[f.locality])
    out.append(html.Section([html.H2("Localities compared with BSol"),
                             _all_suppressed(loc) or components.chart(
                                 loc_fig, components.lazy_table("localities", period),
                                 figures.comparison_caption(ind, "BSol"))], className="panel"))
    out.append(components.suppression_legend(policy))
    return out, period


def below(ind: Indicator, frame: pd.DataFrame, f: flt.Filters, period: str, neighbourhoods: list[str] | None,
          practices: list[str] | None, data_end: str, inequality_rows: pd.DataFrame | None = None, *,
          funnel_plot: funnel.Funnel | None = None, policy: DisclosurePolicy) -> list:
    """Neighbourhoods, practices, inequalities and the definition: rendered when the reader scrolls here.

    ``inequality_rows``: stored SII/RII rows of this indicator (``metrics.inequality``);
    ``funnel_plot``: the funnel of ``views.funnel_areas`` (``metrics.funnel.funnel``, by the callback).
    """
    here = flt.GEOGRAPHY_LABELS[f.locality]
    s = views.series(frame, f)
    shown = _period_label(period, s if not s.empty else frame)
    bsol = frame[(frame.geography_level == "bsol") & (frame.breakdown == "none") & (frame.period == period)]
    bench = _n(bsol.iloc[0].value) if not bsol.empty else None
    out: list = []
    geo: list = [html.H2("Neighbourhoods and practices")]
    nb = views.neighbourhoods(frame, period, neighbourhoods)
    scope = f"in {here}" if neighbourhoods is not None else "across BSol"
    if not nb.empty:
        nb_fig = figures.comparison_figure(nb, "geography", ind, f"Neighbourhoods {scope}, {shown}", benchmark=bench)
        geo += [html.H3(f"Neighbourhoods {scope}"),
                _all_suppressed(nb) or components.chart(nb_fig, components.lazy_table("neighbourhoods", period),
                                                        figures.comparison_caption(ind, "BSol"))]
    pr = views.practices(frame, period, practices)
    if not pr.empty:
        geo.append(components.lazy_table("practices", period, f"Practices {scope} ({len(pr)}): show the table"))
    out.append(html.Section(geo, className="panel"))
    out.append(_funnel_section(ind, pr if not pr.empty else nb, funnel_plot, scope, shown))

    if ind.patients_to_target:
        out.append(_to_target_section(ind, frame, f, period, neighbourhoods, shown))

    ineq: list = [html.H2(f"Inequalities, {here}, {shown}")]
    if not ind.breakdowns:
        ineq.append(html.P("Breakdowns by deprivation, ethnicity, sex and age are not available for this "
                           "indicator (practice-level source).", className="muted"))
    else:
        row = s[s.period == period]
        overall = _n(row.iloc[0].value) if not row.empty else None
        imd = views.breakdown(frame, f, period, "imd_quintile")
        sii_text = inequality.describe(_sii_row(inequality_rows, f, period), ind, here)
        ineq += [html.H3("By deprivation (IMD 2019 quintile)"), html.P(sii_text, className="rule-text")]
        other = f.breakdown if f.breakdown in OTHER_BREAKDOWNS else "sex"
        for kind, title in (("imd_quintile", None), ("ethnicity", "By ethnic group"),
                            (other, f"By {BREAKDOWN_LABELS[other].lower()}")):
            part = imd if kind == "imd_quintile" else views.breakdown(frame, f, period, kind)
            if title:
                ineq.append(html.H3(title))
            label = BREAKDOWN_LABELS[kind].lower()
            fig = figures.comparison_figure(part, "group", ind, f"By {label}, {shown}", benchmark=overall,
                                            benchmark_label=here, horizontal=False)
            ineq.append(_all_suppressed(part) or components.chart(
                fig, components.lazy_table(kind, period), figures.comparison_caption(ind, here)))
        ineq.append(components.suppression_legend(policy))
    out.append(html.Section(ineq, className="panel"))

    currency = f"Data to {data_end}; latest period shown {shown}." if data_end else f"Latest period {shown}."
    out.append(html.Section([html.H2("Definition"),
                             components.definition_list([*indicator_rows(ind), ("Data currency", currency)])],
                            className="panel", id="definition"))
    out.append(html.Section([
        html.H2("The figures behind every chart"),
        components.lazy_table("all", period, f"Show all figures for {here}, {shown} as a table",
                              table_dom_id="figures-table"),
    ], className="panel", id=ids.MEASURE_DOWNLOADS))
    return out


def section_table(ind: Indicator, frame: pd.DataFrame, f: flt.Filters, period: str,
                  neighbourhoods: list[str] | None, practices: list[str] | None, section: str,
                  page: int, practice_names: dict[str, str] | None = None) -> tuple[html.Div, bool, bool]:
    """One page of the table behind a chart (or of every figure, section "all"); (table, has_prev, has_next).
    `practice_names` (code -> name) are shown beside practice codes."""
    here = flt.GEOGRAPHY_LABELS[f.locality]
    size = components.PAGE_ROWS
    if section == "all":
        t = views.figures_table(frame, ind, f, period, neighbourhoods, practices, practice_names)
        caption, numeric, dom_id = f"{ind.title}: all figures, {here}, {period}", list(views.NUMERIC), "figures-table"
        places = {c: ind.decimals for c in ("Value", "Lower 95% CI", "Upper 95% CI")}
    else:
        part = views.section(frame, f, period, neighbourhoods, practices, section)
        label = "geography" if section in ("trend", "localities", "neighbourhoods", "practices") else "group"
        if section == "localities":
            part = part.assign(geography=part.geography.map(flt.GEOGRAPHY_LABELS))
        t = _table_frame(part, label, ind)
        if section == "practices":
            t.insert(1, "Practice", views.practice_name_column(part, practice_names))
        caption, dom_id = f"{views.SECTIONS[section]}: {here}, {period}", None
        numeric = [c for c in t.columns if c not in ("Group", "Area", "Period", "Practice")]
        places = {c: ind.decimals for c in numeric if c.startswith(("Value", "Lower", "Upper"))}
    pages = max(1, -(-len(t) // size))
    page = min(max(page, 0), pages - 1)
    table = components.data_table(t, caption, numeric=numeric, max_rows=size, start=page * size,
                                  table_id=dom_id, decimals=places)
    return table, page > 0, page < pages - 1


def _table_frame(frame: pd.DataFrame, label_col: str, ind: Indicator) -> pd.DataFrame:
    cols = {label_col: "Group" if label_col == "group" else "Area", "period": "Period", "numerator": "Numerator",
            "denominator": "Denominator", "value": f"Value ({ind.unit_label})", "lower_ci": "Lower 95% CI",
            "upper_ci": "Upper 95% CI", "suppressed": "suppressed"}
    t = frame[list(cols)].rename(columns=cols)
    for c in ("Numerator", "Denominator"):
        nums = pd.to_numeric(t[c], errors="coerce")
        if nums.notna().any() and (nums.dropna() % 1 == 0).all():
            t[c] = nums.round().astype("Int64")
    return t


def _to_target_section(ind: Indicator, frame: pd.DataFrame, f: flt.Filters, period: str,
                       neighbourhoods: list[str] | None, shown: str) -> html.Section:
    """CVDPREVENT's "patients needed to reach the target", by locality, neighbourhood and IMD quintile."""
    table = views.to_target_table(frame, ind, f, period, neighbourhoods)
    target = format_value(ind.target, ind)
    return html.Section([
        html.H2(f"Patients needed to reach the target ({target})"),
        html.P(f"How many more patients would need to be counted in the numerator ({ind.numerator_text.lower()}) "
               f"for each area or group to reach {target}: the target share of the denominator, less the numerator, "
               "rounded up; 0 where the target is met. Worked out from the figures as shown (rounded, with small "
               "numbers suppressed), so suppressed rows have no figure.", className="muted"),
        components.data_table(table, f"Patients needed to reach {target}, {shown}",
                              numeric=["Numerator", "Denominator", "Value", "Patients needed"],
                              max_rows=components.PAGE_ROWS, table_id="to-target-table",
                              decimals={"Value": ind.decimals}),
    ], className="panel", id="to-target")


def _rolling_offer(ind: Indicator, f: flt.Filters, missing: int, points: int) -> html.P | None:
    """Where monthly points are suppressed, offer the rolling 12-month view (as Fingertips does for
    small areas): twelve months of events are rarely too few to show."""
    if not missing or ROLLING not in ind.frequency or views.resolved_period_type(ind, f.period_type) != "month":
        return None
    href = f"/measure/{ind.id}" + flt.to_search({"locality": f.locality, "period_type": ROLLING,
                                                 "breakdown": f.breakdown}, flt.CARRIED)
    return html.P([f"{missing} of {points} months are suppressed (small numbers). ",
                   dcc.Link("Show rolling 12 months", href=href, id="rolling-offer", className="button-link"),
                   " (each month with the 11 before it)."], className="rolling-offer")


def _all_suppressed(part: pd.DataFrame) -> html.P | None:
    """One line instead of a chart whose every group is suppressed (rare events)."""
    if part.empty or not part["suppressed"].astype(bool).all():
        return None
    return html.P(f"All {len(part)} groups are suppressed ([c]: small numbers) for this period. Choose a longer "
                  "period type (rolling 12 months, quarter or financial year) to see figures.",
                  className="muted all-suppressed")


def _funnel_section(ind: Indicator, areas: pd.DataFrame, f: funnel.Funnel | None, scope: str,
                    period: str) -> html.Section:
    """Funnel plot of practices (neighbourhoods where there are no practice figures) around BSol."""
    what = "Practices" if not areas.empty and (areas["geography_level"] == "practice").all() else "Neighbourhoods"
    head = html.H2(f"{what} {scope} compared with BSol (funnel plot)")
    if funnel.kind_of(ind) is None:
        return html.Section([head, html.P("A funnel plot is drawn for rates and percentages only.",
                                          className="muted")], className="panel", id="funnel")
    if f is None:
        return html.Section([head, html.P("Not enough areas with figures that can be shown for a funnel plot.",
                                          className="muted")], className="panel", id="funnel")
    fig = figures.funnel_figure(f, ind, f"{what} {scope}, {period}")
    table = f.points.rename(columns={"geography": "Area", "x": f.x_label, "value": f"Value ({ind.unit_label})",
                                     "position": "Compared with BSol"})
    table[f.x_label] = table[f.x_label].round(1)
    table[f"Value ({ind.unit_label})"] = table[f"Value ({ind.unit_label})"].round(ind.decimals)
    caption = ("Each dot is an area, plotted against its size; the lines are the 95% and 99.8% limits around the "
               f"BSol value. Dots outside the limits differ from BSol by more than chance. {funnel.summary(f)}")
    return html.Section([head, components.chart(fig, components.data_table(table, f"{what}, {period}",
                                                                           numeric=[f.x_label],
                                                                           max_rows=components.PAGE_ROWS), caption)],
                        className="panel", id="funnel")


def _sii_row(rows: pd.DataFrame | None, f: flt.Filters, period: str) -> pd.Series | None:
    if rows is None or rows.empty:
        return None
    hit = rows[(rows["period"] == period) & (rows["geography_level"] == f.level) & (rows["geography"] == f.locality)]
    return hit.iloc[0] if len(hit) else None


def _period_label(period: str, series: pd.DataFrame) -> str:
    """Chart label of a period, with "to date" / "provisional" from its stored flags (results.period_note)."""
    row = series[series["period"] == period]
    return period_label(period, period_note(row.iloc[0]) if not row.empty else "")


def _n(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(v) else v


def _ci_text(row: pd.Series, ind: Indicator) -> str:
    lo, hi = _n(row.lower_ci), _n(row.upper_ci)
    if bool(row.suppressed) or lo is None or hi is None:
        return ""
    return f"95% CI {format_value(lo, ind)} to {format_value(hi, ind)}"
