"""Indicator x column grids (inequalities, neighbourhoods): values with CI-based shading and text."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html

from layouts import components
from metrics.catalogue import Indicator
from metrics.results import format_value, period_label, period_note

LABELS = {"better": "significantly better", "worse": "significantly worse", "similar": "similar",
          "higher": "significantly higher", "lower": "significantly lower", "not compared": "not compared"}
MARKS = {"better": "▲", "worse": "▼", "higher": "◆", "lower": "◆", "similar": "", "not compared": ""}


def _num(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(v) else v


def cell(row: pd.Series | None, bench: pd.Series | None, ind: Indicator, bench_label: str) -> html.Td:
    if row is None:
        return html.Td("—", className="grid-cell cell-missing", title="No data")
    if bool(row["suppressed"]):
        return html.Td("[c]", className="grid-cell cell-suppressed", title="Suppressed (small numbers)")
    value = _num(row["value"])
    if value is None:
        return html.Td("—", className="grid-cell cell-missing", title="No data")
    cmp, level = comparison_of(row)  # worked out by metrics.results.with_comparisons
    mark = MARKS[cmp]
    at = {0.998: " (99.8% interval excludes it)", 0.95: " (95% interval only; not at 99.8%)"}.get(level or 0.0, "")
    return html.Td([html.Span(f"{mark} " if mark else "", **{"aria-hidden": "true"}), format_value(value, ind),
                    html.Span("*", className="cmp-998-mark", **{"aria-hidden": "true"}) if level == 0.998 else ""],
                   className=("grid-cell cell-998" if level == 0.998 else "grid-cell") + f" cell-{cmp.replace(' ', '-')}",
                   title=f"{LABELS[cmp]}{at} compared with {bench_label}")


def comparison_of(row: pd.Series) -> tuple[str, float | None]:
    """(comparison, level) stored on a displayed row; "not compared" where the callbacks left none."""
    cmp = row.get("comparison")
    level = _num(row.get("comparison_level"))
    return (str(cmp), level) if isinstance(cmp, str) else ("not compared", None)


def grid_table(rows: list, columns: list[str], caption: str, bench_label: str, search: str = "",
               column_labels: dict[str, str] | None = None) -> html.Div:
    labels = column_labels or {}
    head = html.Thead(html.Tr([html.Th("Indicator", scope="col"), html.Th("Period", scope="col"),
                               html.Th(bench_label, scope="col", className="num")]
                              + [html.Th(labels.get(c, c), scope="col", className="num") for c in columns]))
    body = []
    for ind, period, bench, cells in rows:
        bench_text = format_value(_num(bench["value"]), ind, bool(bench["suppressed"])) if bench is not None else "—"
        tds = [cell(cells.loc[c] if c in cells.index else None, bench, ind, bench_label) for c in columns]
        body.append(html.Tr([
            html.Th([dcc.Link(ind.title, href=f"/measure/{ind.id}{search}"),
                     html.Span(f" M{ind.measure} · {ind.unit_label}", className="muted small")], scope="row"),
            html.Td(_period_text(period, bench, cells)), html.Td(bench_text, className="num grid-bench"), *tds]))
    return html.Div(html.Table([html.Caption(caption), head, html.Tbody(body)], className="data-table grid"),
                    className="table-scroll", tabIndex=0, role="region", **{"aria-label": caption})


def _period_text(period: str | None, bench: pd.Series | None, cells: pd.DataFrame) -> str:
    """The row's period with "to date" / "provisional" (the flags are the period's, any area's row)."""
    if not period:
        return "—"
    flags = bench if bench is not None else (cells.iloc[0] if len(cells) else None)
    return period_label(period, period_note(flags))


def legend(bench_label: str) -> html.Div:
    items = [("cell-better", "▲ 12.3", f"Significantly better than {bench_label} (95% CI excludes it)"),
             ("cell-worse", "▼ 12.3", f"Significantly worse than {bench_label}"),
             ("cell-higher", "◆ 12.3", "Significantly different; no better/worse direction"),
             ("cell-similar", "12.3", "Similar (95% CI includes the comparator)"),
             ("cell-998 cell-better", "▲ 12.3*", "* The 99.8% CI excludes it too (a stricter test)"),
             ("cell-suppressed", "[c]", "Suppressed: small numbers, not zero"),
             ("cell-missing", "—", "No data")]
    return html.Div([html.Span([html.Span(sample, className=f"legend-swatch grid-cell {cls}"), f" {text}"],
                               className="legend-item") for cls, sample, text in items],
                    className="legend grid-legend", role="note", **{"aria-label": "Key to the grid"})


__all__ = ["grid_table", "legend", "components"]
