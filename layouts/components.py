"""Small reusable building blocks: filter bar, messages, tables, icon badges, definition lists."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dash import dcc, html

from layouts import figures, ids
from layouts import filters as flt
from metrics import disclosure, stats

SUPPRESSED = "[c]"


def page_header(title: str, lede: str | None = None, badge: str | None = None) -> html.Div:
    children: list = [html.H1(title, className="page-title")]
    if badge:
        children.append(html.Span(badge, className="tag tag-proposed"))
    if lede:
        children.append(html.P(lede, className="lede"))
    return html.Div(children, className="page-header")


def filter_control(label: str, name: str, options: list[dict[str, object]], value: object,
                   clearable: bool = False, width: str = "13rem") -> html.Div:
    """One labelled dropdown whose value the shell writes into the URL (id ids.filter_id(name))."""
    control_id = f"filter-{name}"
    return html.Div([
        html.Label(label, className="filter-label", id=f"{control_id}-label"),
        dcc.Dropdown(id=ids.filter_id(name), options=options, value=value, clearable=clearable,
                     searchable=False, style={"width": width}, className="filter-dropdown"),
    ], className="filter")


def filter_bar(f: flt.Filters, names: Sequence[str], period_types: tuple[str, ...] | None = None,
               extra: Sequence[html.Div] = (), reset_href: str = "?") -> html.Div:
    controls: list = []
    if "locality" in names:
        controls.append(filter_control("Locality", "locality", flt.locality_options(), f.locality))
    if "period_type" in names:
        opts = flt.period_type_options(period_types) if period_types else flt.period_type_options()
        value = f.period_type if f.period_type in [o["value"] for o in opts] else opts[0]["value"]
        controls.append(filter_control("Period type", "period_type", opts, value, width="11rem"))
    if "period" in names:  # the value is always among the options, so the dropdown never clears it itself
        opts = [{"label": "Latest", "value": "latest"}]
        if f.period and f.period != "latest":
            opts.append({"label": f.period, "value": f.period})
        controls.append(filter_control("Period", "period", opts, f.period or "latest", width="11rem"))
    if "breakdown" in names:
        controls.append(filter_control("Breakdown", "breakdown", flt.breakdown_options(), f.breakdown, width="11rem"))
    controls += list(extra)
    controls.append(html.Div(dcc.Link("Reset filters", id=ids.RESET, href=reset_href, className="reset-link"),
                             className="filter filter-reset"))
    # A div, not a form: Dash 4 dropdowns are <button>s, and a button in a form submits it (a full reload).
    return html.Div(controls, className="filter-bar", role="search", **{"aria-label": "Filters"})


def message(title: str, body: str | Sequence[object], back_href: str = "/", back_text: str = "Back to the scorecard",
            kind: str = "warning") -> html.Div:
    return html.Div([
        html.H2(title, className="message-title"),
        html.P(body) if isinstance(body, str) else html.Div(list(body)),
        dcc.Link(back_text, href=back_href, className="button-link"),
    ], className=f"message message-{kind}", role="alert" if kind == "error" else "status")


def filtered_page(name: str, title: str, lede: str, f: flt.Filters, path: str, content_id: str,
                  extra: Sequence = ()) -> html.Div:
    """The common page shape: header, URL problems, locality/period filters, a loading content area."""
    return html.Div([
        page_header(title, lede),
        errors_message(f.errors, path) if f.errors else None,
        filter_bar(f, ("locality", "period_type")),
        dcc.Loading(html.Div(id=content_id, className="content"), type="default", delay_show=300),
        *extra,
    ], className=f"page page-{name}")


def no_data_message() -> html.Div:
    """Shown by every page while the database holds no results."""
    return message("No data loaded yet", "Load extracts or build the demo data.")


def errors_message(errors: Sequence[str], path: str = "/") -> html.Div:
    return html.Div([
        html.H2("This link has a problem", className="message-title"),
        html.Ul([html.Li(e) for e in errors]),
        html.P([dcc.Link("Show this page without the filters", href=path, className="button-link"), " ",
                dcc.Link("Back to the scorecard", href="/", className="button-link secondary")]),
    ], className="message message-error", role="alert")


def icon(uri: str, label: str, show_text: bool = True) -> html.Span:
    children: list = [html.Img(src=uri, alt="" if show_text else label, className="mdc-icon",
                               **({"aria-hidden": "true"} if show_text else {}))]
    if show_text:
        children.append(html.Span(label, className="icon-label"))
    return html.Span(children, className="icon-badge", title=label)


def variation_badge(variation: str | None) -> html.Span:
    uri, label = figures.variation_icon(variation)
    return icon(uri, label)


def assurance_badge(assurance: str | None) -> html.Span:
    got = figures.assurance_icon(assurance)
    if got is None:
        return html.Span("No target", className="muted")
    return icon(*got)


COMPARISON_CLASS = {"better": "cmp-better", "worse": "cmp-worse", "similar": "cmp-similar",
                    "higher": "cmp-neutral", "lower": "cmp-neutral", "not compared": "cmp-none"}


def comparison_badge(comparison: str, comparator: str, level: float | None = None) -> html.Span:
    """Better/similar/worse with the level it holds at (stats.compare_levels): "(99.8%)" when the
    stricter interval excludes the comparator too, "(95% only)" when only the 95% one does."""
    if comparison == "not compared" or not comparator:
        return html.Span("Not compared", className="cmp cmp-none")
    words = {"better": "Better than", "worse": "Worse than", "similar": "Similar to",
             "higher": "Higher than", "lower": "Lower than"}[comparison]
    marks = {"better": "▲ ", "worse": "▼ ", "similar": "● ", "higher": "◆ ", "lower": "◆ "}[comparison]
    at = stats.level_suffix(level)
    return html.Span([html.Span(marks, **{"aria-hidden": "true"}), f"{words} {comparator}{at}"],
                     className=f"cmp {COMPARISON_CLASS[comparison]}" + (" cmp-998" if level == 0.998 else ""),
                     title=_LEVEL_TITLES.get(level, "The 95% confidence interval includes the comparator"))


_LEVEL_TITLES = {0.998: "Both the 95% and the 99.8% confidence intervals exclude the comparator",
                 0.95: "The 95% confidence interval excludes the comparator; the 99.8% interval does not"}


def definition_list(rows: Sequence[tuple[str, str]]) -> html.Dl:
    items: list = []
    for label, value in rows:
        items += [html.Dt(label), html.Dd(value)]
    return html.Dl(items, className="definition-list")


def _fmt(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


PAGE_ROWS = 25


def data_table(frame: pd.DataFrame, caption: str, numeric: Sequence[str] = (), max_rows: int = 400,
               suppressed_col: str | None = "suppressed", table_id: str | None = None, start: int = 0,
               decimals: dict[str, int] | None = None) -> html.Div:
    """A plain, accessible HTML table; suppressed rows greyed with [c] in their value cells.

    `start` and `max_rows` show one page of a long table; `decimals` fixes the decimals of a column
    (so a column never mixes 12.3 and 12.35).
    """
    cols = [c for c in frame.columns if c != suppressed_col]
    places = decimals or {}
    head = html.Thead(html.Tr([html.Th(c, scope="col", className="num" if c in numeric else None) for c in cols]))
    body = []
    for _, row in frame.iloc[start:start + max_rows].iterrows():
        sup = bool(row[suppressed_col]) if suppressed_col and suppressed_col in frame.columns else False
        cells = []
        for c in cols:
            v = row[c]
            text = (f"{v:,.{places[c]}f}" if c in places and isinstance(v, float) and not pd.isna(v) else _fmt(v))
            if sup and c in numeric and text == "":
                text = SUPPRESSED
            cells.append(html.Td(text, className="num" if c in numeric else None))
        body.append(html.Tr(cells, className="row-suppressed" if sup else None))
    extra = [html.P(f"Showing rows {start + 1}-{min(start + max_rows, len(frame))} of {len(frame)}; download the "
                    "table for all of them.", className="muted")] if len(frame) > max_rows else []
    kwargs = {"id": table_id} if table_id else {}
    return html.Div([html.Table([html.Caption(caption), head, html.Tbody(body)], className="data-table", **kwargs),
                     *extra], className="table-scroll", tabIndex=0, role="region", **{"aria-label": caption})


def chart(figure: object, alt_table: html.Div | html.Details, description: str) -> html.Figure:
    """A chart with a text description and its data as a table (the accessible alternative).

    `alt_table` is the table itself, or a `lazy_table` that is rendered only when opened.
    """
    table = alt_table if isinstance(alt_table, html.Details) else html.Details(
        [html.Summary("Show the figures behind this chart as a table"), alt_table], className="chart-table")
    return html.Figure([
        dcc.Graph(figure=figure, config=figures.GRAPH_CONFIG, className="graph"),
        html.Figcaption(description, className="chart-caption"),
        table,
    ], className="chart")


def lazy_table(section: str, period: str, summary: str = "Show the figures behind this chart as a table",
               table_dom_id: str | None = None) -> html.Details:
    """A closed <details> whose table the server renders on first opening, a page of rows at a time.

    Keeps the page light: a measure page's tables are most of its DOM, and few readers open them.
    """
    def key(kind: str) -> dict[str, str]:
        return ids.table_id(kind, section, period)

    return html.Details([
        html.Summary(summary, id=key(ids.TABLE_OPEN), n_clicks=0),
        html.Div(id=key(ids.TABLE_BODY), className="lazy-table",
                 **({"data-table-id": table_dom_id} if table_dom_id else {})),
        html.Div([html.Button("Previous rows", id=key(ids.TABLE_PREV), n_clicks=0, type="button", disabled=True,
                              className="button secondary"),
                  html.Button("Next rows", id=key(ids.TABLE_NEXT), n_clicks=0, type="button", disabled=True,
                              className="button secondary")], className="table-pager"),
        dcc.Store(id=key(ids.TABLE_PAGE), data=None),
    ], className="chart-table")


def suppression_legend(policy: disclosure.DisclosurePolicy) -> html.P:
    """The legend for [c] cells, in the words of the serving app's disclosure policy."""
    return html.P([html.Span(SUPPRESSED, className="legend-swatch swatch-suppressed"),
                   f" Suppressed: fewer than {policy.max_suppressed + 1} people or events (or a directly standardised"
                   f" rate on fewer than {policy.min_dsr_count} events), or hidden so that a suppressed figure cannot"
                   " be worked out from a total. Not shown to protect confidentiality; not zero."],
                  className="legend")
