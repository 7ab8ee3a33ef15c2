"""Scorecard (home), in the style of an NHS integrated performance report.

First the Making Data Count summary matrix (variation icon x assurance icon, the measures named in
its cells; a cell filters the scorecard), then one row per measure (its headline indicator, the
other indicators folded under it), grouped by work programme or sorted by status.
"""

from __future__ import annotations

from dash import dcc, html

from layouts import components, figures, ids
from layouts import filters as flt
from metrics.catalogue import MEASURES, WORK_PROGRAMMES, Measure
from metrics.disclosure import DisclosurePolicy
from metrics.results import ScorecardRow, format_value

VARIATIONS = (("concern", "Special cause: concern"), ("improvement", "Special cause: improvement"),
              ("neither", "Special cause: no better/worse direction"), ("common_cause", "Common cause variation"),
              ("too_few", "Too few points for SPC"))
ASSURANCES = (("fail", "Consistently failing target"), ("hit_or_miss", "Hit and miss target"),
              ("pass", "Consistently passing target"), ("none", "No target"))
VARIATION_ICON = {"concern": "special_cause_concern_high", "improvement": "special_cause_improvement_high",
                  "neither": "special_cause_neither_high", "common_cause": "common_cause", "too_few": None}
STATUS_ORDER = [f"{v}.{a}" for v, _ in VARIATIONS for a, _ in ASSURANCES]


def layout(**query: str) -> html.Div:
    f = flt.parse(query)
    return components.filtered_page(
        "home", "Impact measures scorecard",
        "The 21 impact measures of the Implementation Plan: what is improving, what needs attention, and whether "
        "each target is being met. Choose a cell of the summary to list its measures.",
        f, "/", ids.HOME_CONTENT,
        extra=(dcc.Store(id=ids.HOME_STATUS, data={"status": _text(query.get("status")),
                                                    "sort": _text(query.get("sort"))}),))


def _text(value: object) -> str:
    return str(value[0] if isinstance(value, list | tuple) and value else value or "")[:40]


def variation_class(variation: str | None) -> str:
    if variation is None:
        return "too_few"
    if variation == "common_cause":
        return "common_cause"
    return variation.split("_")[2]


def status_of(row: ScorecardRow) -> str:
    """The summary-matrix cell of a row: "<variation class>.<assurance or none>"."""
    return f"{variation_class(row.variation)}.{row.assurance or 'none'}"


def _search(f: flt.Filters, **extra: str) -> str:
    values: dict[str, object] = {"locality": f.locality, "period_type": f.period_type, **extra}
    return flt.to_search(values, (*flt.CARRIED, "status", "sort"))


def matrix(heads: dict[int, ScorecardRow], f: flt.Filters, selected: str) -> html.Section:
    """Variation x assurance, one measure name per headline indicator, each cell a filter link."""
    cells: dict[str, list[Measure]] = {}
    for m in MEASURES:
        cells.setdefault(status_of(heads[m.number]), []).append(m)
    head = html.Tr([html.Td(html.Span("Variation ↓ / assurance →", className="sr-only")),
                    *[html.Th([html.Img(src=_assurance_uri(a), alt="", className="mdc-icon",
                                        **{"aria-hidden": "true"}), html.Br(), text], scope="col")
                      for a, text in ASSURANCES]])
    body = []
    for v, vtext in VARIATIONS:
        uri, _ = figures.variation_icon(VARIATION_ICON[v])
        tds = []
        for a, atext in ASSURANCES:
            key = f"{v}.{a}"
            ms = cells.get(key, [])
            if not ms:
                tds.append(html.Td("", className="mdc-cell mdc-empty"))
                continue
            active = key == selected
            link = dcc.Link([html.Span(f"{len(ms)}", className="mdc-n"),
                             html.Span(f" measure{'s' if len(ms) != 1 else ''}: {vtext.lower()}, {atext.lower()}",
                                       className="sr-only")],
                            href="/" + (_search(f) if active else _search(f, status=key)),
                            className="mdc-filter mdc-active" if active else "mdc-filter",
                            id={"type": ids.MDC_CELL, "cell": key},
                            title="Selected: choose again to show all measures" if active else "Show these measures")
            names = html.Ul([html.Li(f"M{m.number} {_short(m.indicators[0].title)}") for m in ms],
                            className="mdc-names")
            tds.append(html.Td([link, names], className="mdc-cell mdc-selected" if active else "mdc-cell"))
        body.append(html.Tr([html.Th([html.Img(src=uri, alt="", className="mdc-icon", **{"aria-hidden": "true"}),
                                      " ", vtext], scope="row"), *tds]))
    return html.Section([
        html.H2("Summary: variation and assurance", className="wp-title"),
        html.Div(html.Table([html.Caption("Measures by Making Data Count variation (rows) and assurance (columns). "
                                          "Choose a number to list those measures."),
                             html.Thead(head), html.Tbody(body)], className="mdc-matrix"),
                 className="table-scroll", tabIndex=0, role="region", **{"aria-label": "Summary matrix"}),
    ], className="panel mdc-panel", id="mdc-summary")


def _short(title: str, width: int = 42) -> str:
    """A measure's name for a matrix cell: its headline indicator's title, cut at a word."""
    return title if len(title) <= width else title[:width].rsplit(" ", 1)[0] + "…"


def _assurance_uri(assurance: str) -> str:
    got = figures.assurance_icon(None if assurance == "none" else assurance)
    return got[0] if got else figures.svg_uri('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"></svg>')


def _value_cell(row: ScorecardRow) -> html.Td:
    ind = row.indicator
    value = format_value(row.value, ind, row.suppressed)
    ci = ""
    if row.lower is not None and row.upper is not None and not row.suppressed:
        ci = f"{format_value(row.lower, ind)} to {format_value(row.upper, ind)}"
    return html.Td([html.Span(value, className="value"), html.Br() if ci else None,
                    html.Span(ci, className="ci") if ci else None], className="num col-value")


def _target(row: ScorecardRow) -> str:
    ind = row.indicator
    return format_value(ind.target, ind) if ind.target is not None else "—"


def _row(m: Measure, rows: dict[str, ScorecardRow], bsol: dict[str, ScorecardRow] | None, f: flt.Filters,
         search: str) -> html.Tr:
    head = m.indicators[0]
    r = rows[head.id]
    others = [rows[i.id] for i in m.indicators[1:]]
    name: list = [html.Span(f"Measure {m.number}", className="measure-number"), " ",
                  dcc.Link(head.title, href=f"/measure/{head.id}{search}", className="indicator-link"),
                  html.Span("proposed — not agreed", className="tag tag-proposed") if m.proposed else None]
    if others:
        name.append(html.Details([
            html.Summary(f"{len(others)} more indicator{'s' if len(others) > 1 else ''}"),
            html.Ul([html.Li([dcc.Link(o.indicator.title, href=f"/measure/{o.indicator.id}{search}"), ": ",
                              html.Strong(format_value(o.value, o.indicator, o.suppressed)),
                              f" ({o.period_label or 'no data'}) · ",
                              figures.variation_icon(o.variation)[1]]) for o in others]),
        ], className="more-indicators"))
    spark_alt = (f"Trend of {len(r.spark)} periods from {r.spark_periods[0]} to {r.spark_periods[-1]}"
                 if r.spark_periods else "No trend available")
    cells = [html.Th(name, scope="row", className="indicator-cell"),
             html.Td(r.period_label or "—", className="col-period"), _value_cell(r),
             html.Td(_target(r), className="num col-target")]
    if bsol is not None:
        b = bsol.get(head.id)
        cells.append(html.Td(format_value(b.value, head, b.suppressed) if b else "—", className="num col-bench"))
    cells += [
        html.Td(components.comparison_badge(r.comparison, r.comparator, r.comparison_level)
                if r.comparator else html.Span("No target", className="muted"), className="col-compare"),
        html.Td(components.variation_badge(r.variation), title=r.rule or "", className="col-status"),
        html.Td(components.assurance_badge(r.assurance), className="col-assurance"),
        html.Td(html.Img(src=figures.sparkline_uri(r.spark), alt=spark_alt, className="sparkline"),
                className="col-trend"),
    ]
    return html.Tr(cells, className=f"polarity-{head.polarity.value.lower()} status-{status_of(r).replace('.', '-')}")


def scorecard(rows: list[ScorecardRow], bsol_rows: list[ScorecardRow] | None, f: flt.Filters,
              status: str = "", sort: str = "", data_end: str = "", *,
              policy: DisclosurePolicy) -> html.Div:
    by_id = {r.indicator.id: r for r in rows}
    bsol_by_id = {r.indicator.id: r for r in bsol_rows} if bsol_rows else None
    heads = {m.number: by_id[m.indicators[0].id] for m in MEASURES}
    status = status if status in STATUS_ORDER else ""
    search = flt.to_search({"locality": f.locality, "period_type": f.period_type}, flt.CARRIED)
    place = flt.GEOGRAPHY_LABELS[f.locality]
    compare = "Compared with BSol" if bsol_rows else "Compared with target"
    head = [html.Th("Measure", scope="col", className="col-measure"), html.Th("Latest period", scope="col", className="col-period"),
            html.Th([f"{place} value", html.Br(), html.Span("(95% CI)", className="ci")], scope="col",
                    className="num col-value"),
            html.Th("Target", scope="col", className="num col-target")]
    if bsol_rows:
        head.append(html.Th("BSol value", scope="col", className="num col-bench"))
    head += [html.Th(compare, scope="col", className="col-compare"),
             html.Th("Variation", scope="col", className="col-status"),
             html.Th("Assurance", scope="col", className="col-assurance"),
             html.Th("Trend", scope="col", className="col-trend")]
    chosen = [m for m in MEASURES if not status or status_of(heads[m.number]) == status]
    tools = [html.Span(f"Data to {data_end}. " if data_end else "", className="data-to"),
             dcc.Link("Sort by status" if sort != "status" else "Group by work programme",
                      href="/" + _search(f, status=status, sort="" if sort == "status" else "status"),
                      className="button-link secondary", id="sort-status")]
    if status:
        tools += [" ", html.Span(f"Showing {len(chosen)} of {len(MEASURES)} measures: "
                                 f"{_status_text(status)}. ", className="filter-note", role="status"),
                  dcc.Link("Show all measures", href="/" + _search(f, sort=sort), className="button-link",
                           id="clear-status")]
    sections: list = [matrix(heads, f, status), html.P(tools, className="scorecard-tools")]
    if sort == "status":
        groups = [("", "All measures by status",
                   sorted(chosen, key=lambda m: (STATUS_ORDER.index(status_of(heads[m.number])), m.number)))]
    else:
        groups = [(f"wp-{wp}", f"{wp}. {name}", [m for m in chosen if m.work_programme == wp])
                  for wp, name in WORK_PROGRAMMES.items()]
    for anchor, title, ms in groups:
        if not ms:
            continue
        body = html.Tbody([_row(m, by_id, bsol_by_id, f, search) for m in ms])
        sections.append(html.Section([
            html.H2(title, className="wp-title", id=anchor or "by-status"),
            html.Div(html.Table([html.Caption(f"{title} — {place}", className="sr-only"),
                                 html.Thead(html.Tr(head)), body], className="scorecard"),
                     className="table-scroll", tabIndex=0, role="region", **{"aria-label": f"Scorecard: {title}"}),
        ], className="wp-section"))
    sections.append(components.suppression_legend(policy))
    return html.Div(sections)


def _status_text(status: str) -> str:
    v, a = status.split(".")
    return f"{dict(VARIATIONS)[v].lower()}, {dict(ASSURANCES)[a].lower()}"
