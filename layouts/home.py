"""Scorecard (home): the 21 measures, every indicator a row, grouped by work programme."""

from __future__ import annotations

from dash import dcc, html

from layouts import components, figures, ids
from layouts import filters as flt
from metrics.catalogue import MEASURES, WORK_PROGRAMMES
from metrics.results import ScorecardRow, format_value


def layout(**query: str) -> html.Div:
    f = flt.parse(query)
    return components.filtered_page(
        "home", "Impact measures scorecard",
        "The 21 impact measures of the Implementation Plan: latest value with its 95% confidence interval, "
        "comparison with BSol (or the target), and Making Data Count variation and assurance.",
        f, "/", ids.HOME_CONTENT)


def _value_cell(row: ScorecardRow) -> html.Td:
    ind = row.indicator
    value = format_value(row.value, ind, row.suppressed)
    ci = ""
    if row.lower is not None and row.upper is not None and not row.suppressed:
        ci = f"{format_value(row.lower, ind)} to {format_value(row.upper, ind)}"
    return html.Td([html.Span(value, className="value"), html.Br() if ci else None,
                    html.Span(ci, className="ci") if ci else None], className="num")


def summary(rows: list[ScorecardRow]) -> html.Div:
    counts = {"improvement": 0, "concern": 0, "neither": 0, "common_cause": 0, "none": 0}
    for r in rows:
        if r.variation is None:
            counts["none"] += 1
        elif r.variation == "common_cause":
            counts["common_cause"] += 1
        else:
            counts[r.variation.split("_")[2]] += 1
    tiles = [
        ("special_cause_improvement_high", counts["improvement"], "showing improvement"),
        ("special_cause_concern_high", counts["concern"], "showing concern"),
        ("common_cause", counts["common_cause"], "common cause variation"),
        (None, counts["none"], "too few points for SPC"),
    ]
    out = []
    for variation, n, text in tiles:
        uri, _ = figures.variation_icon(variation)
        out.append(html.Div([html.Img(src=uri, alt="", className="mdc-icon-lg", **{"aria-hidden": "true"}),
                             html.Span(str(n), className="summary-n"), html.Span(f"indicators {text}")],
                            className="summary-tile"))
    if counts["neither"]:
        out.append(html.Div([html.Span(str(counts["neither"]), className="summary-n"),
                             html.Span("indicators with special cause (no better/worse direction)")],
                            className="summary-tile"))
    return html.Div(out, className="summary-tiles", role="group", **{"aria-label": "Summary of variation"})


def scorecard(rows: list[ScorecardRow], bsol_rows: list[ScorecardRow] | None, f: flt.Filters) -> html.Div:
    by_id = {r.indicator.id: r for r in rows}
    bsol_by_id = {r.indicator.id: r for r in bsol_rows or []}
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type}, flt.CARRIED)
    place = flt.GEOGRAPHY_LABELS[f.locality]
    sections = [summary(rows)]
    for wp, wp_name in WORK_PROGRAMMES.items():
        head = [html.Th("Indicator", scope="col"), html.Th("Latest period", scope="col"),
                html.Th([f"{place} value", html.Br(), html.Span("(95% CI)", className="ci")], scope="col",
                        className="num")]
        if bsol_rows:
            head.append(html.Th("BSol value", scope="col", className="num"))
        head += [html.Th("Compared with", scope="col"), html.Th("Variation", scope="col"),
                 html.Th("Assurance", scope="col"), html.Th("Trend", scope="col")]
        ncols = len(head)
        bodies = []
        for m in (m for m in MEASURES if m.work_programme == wp):
            measure_head = html.Tr(html.Th([
                html.Span(f"Measure {m.number}", className="measure-number"), " ",
                html.Span(m.wording, className="measure-wording"),
                html.Span("proposed — not agreed", className="tag tag-proposed") if m.proposed else None,
            ], colSpan=ncols, scope="colgroup", className="measure-row"))
            trs = [measure_head]
            for ind in m.indicators:
                r = by_id[ind.id]
                cells = [
                    html.Th(dcc.Link(ind.title, href=f"/measure/{ind.id}{search}", className="indicator-link"),
                            scope="row", className="indicator-cell"),
                    html.Td(r.period or "—"),
                    _value_cell(r),
                ]
                if bsol_rows:
                    b = bsol_by_id.get(ind.id)
                    cells.append(html.Td(format_value(b.value, ind, b.suppressed) if b else "—", className="num"))
                spark_alt = (f"Trend of {len(r.spark)} periods from {r.spark_periods[0]} to {r.spark_periods[-1]}"
                             if r.spark_periods else "No trend available")
                cells += [
                    html.Td(components.comparison_badge(r.comparison, r.comparator)),
                    html.Td(components.variation_badge(r.variation), title=r.rule),
                    html.Td(components.assurance_badge(r.assurance)),
                    html.Td(html.Img(src=figures.sparkline_uri(r.spark), alt=spark_alt, className="sparkline")),
                ]
                trs.append(html.Tr(cells, className=f"polarity-{ind.polarity.value.lower()}"))
            bodies.append(html.Tbody(trs))
        sections.append(html.Section([
            html.H2(f"{wp}. {wp_name}", className="wp-title", id=f"wp-{wp}"),
            html.Div(html.Table([html.Caption(f"Work programme {wp}: {wp_name} — {place}", className="sr-only"),
                                 html.Thead(html.Tr(head)), *bodies], className="scorecard"),
                     className="table-scroll", tabIndex=0, role="region",
                     **{"aria-label": f"Scorecard: work programme {wp}"}),
        ], className="wp-section"))
    sections.append(components.suppression_legend())
    return html.Div(sections)
