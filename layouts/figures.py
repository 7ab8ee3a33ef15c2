"""Every chart and icon the pages draw, in one themed module (NHS identity + Making Data Count).

Figures take tidy frames that have already passed disclosure control; suppressed points are left
as gaps and labelled, never plotted as zero. Icons are small inline SVGs (data URIs) so a table of
36 rows costs no extra requests and no JavaScript; every icon is paired with a text label.

Figures are plain dicts (``{"data": [...], "layout": {...}}``, built by the small ``Figure`` class
below), not ``plotly.graph_objects``: dcc.Graph takes either and plotly.js draws the same JSON,
but graph_objects validates every property as it is set. That cost ~17-35 ms a figure (measured on
the small demo: ``comparison_figure`` on 8 bars 18-27 ms, ``spc_figure`` on 24 months 24-35 ms,
``funnel_figure`` 20 ms) and a measure page builds several per callback; as dicts the same calls
take 0.7-2.5 ms (most of it the pandas work on the frames), and 88 measure pages' two callbacks on
warm data caches 16 s -> 5 s. tests/test_figures.py passes each kind through plotly's validators
(``go.Figure(fig.to_plotly_json())``), so an invalid property still fails a test, not a page.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from plotly.io.json import to_json_plotly

from metrics.catalogue import Indicator
from metrics.funnel import Funnel

Json = dict[str, Any]

# NHS identity colours (https://www.england.nhs.uk/nhsidentity/identity-guidelines/colours/)
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BLACK = "#231F20"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_WARM_YELLOW = "#FFB81C"
NHS_RED = "#DA291C"
FONT = "Frutiger W01, Arial, Helvetica, sans-serif"

# Making Data Count colours
MDC_COMMON = "#A6A6A6"
MDC_IMPROVEMENT = "#00B0F0"
MDC_CONCERN = "#E46C0A"
MDC_NEITHER = "#490092"
MDC_TARGET = "#DE1B1B"
POINT_COLOURS = {
    "common_cause": MDC_COMMON,
    "special_cause_improvement": MDC_IMPROVEMENT,
    "special_cause_concern": MDC_CONCERN,
    "special_cause_neither": MDC_NEITHER,
}
POINT_LABELS = {
    "common_cause": "Common cause variation",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neither": "Special cause: neither improvement nor concern",
}

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


# The theme, set in every figure's layout. No template: plotly.py's default one (~10 KB of JSON a
# figure) is applied only to graph_objects figures, and plotly.js applies none to a dict figure.
THEME = {"font": {"family": FONT, "size": 13, "color": NHS_BLACK},
         "paper_bgcolor": "white", "plot_bgcolor": "white", "hovermode": "closest"}

# Better / similar / worse against a benchmark: colour AND a mark and a legend name (never colour alone).
COMPARISON_STYLE = {  # comparison: (legend name, fill colour, mark beside the axis label)
    "better": ("▲ Better than {b} (95% CI excludes it)", "#007F3B", "▲"),
    "similar": ("● Similar to {b} (95% CI includes it)", "#FFB81C", "●"),
    "worse": ("▼ Worse than {b} (95% CI excludes it)", "#D5281B", "▼"),
    "higher": ("◆ Higher than {b} (no better/worse direction)", "#330072", "◆"),
    "lower": ("◆ Lower than {b} (no better/worse direction)", "#330072", "◆"),
    "not compared": ("Not compared", NHS_BLUE, ""),
}


# --------------------------------------------------------------------------- the figure builder
def _plain(value: Any) -> Any:
    """JSON-ready plain Python: Series, arrays and Index to lists, NaN and NA to None, numpy scalars to
    Python numbers (the figure's JSON is the same whoever encodes it, and never a typed array)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, pd.Series | pd.Index | np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


# Property names with an underscore of their own; any other underscore is plotly's "magic
# underscore" (title_text=... is title={"text": ...}).
_UNDERSCORED = frozenset({"paper_bgcolor", "plot_bgcolor", "error_x", "error_y"})


def _props(kw: dict[str, Any]) -> Json:
    """Keyword properties as nested dicts, magic underscores expanded, values made plain."""
    out: Json = {}
    for key, value in kw.items():
        path = [key] if key in _UNDERSCORED else key.split("_")
        _merge(out, _nest(path, _plain(value)))
    return out


def _nest(path: list[str], value: Any) -> Json:
    for key in reversed(path[1:]):
        value = {key: value}
    return {path[0]: value}


def _merge(into: Json, update: Json) -> Json:
    """Deep update, as plotly's ``update``: nested dicts merge, anything else replaces."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


class Figure:
    """A Plotly figure as plain dicts, with the few graph_objects methods this module uses.

    dcc.Graph and plotly's JSON encoder take it through ``to_plotly_json``. Traces are dicts with
    their ``type`` ("scatter", "bar"); everything else is set as plotly would set it.
    """

    __slots__ = ("data", "layout")

    def __init__(self) -> None:
        self.data: list[Json] = []
        self.layout: Json = {}

    def add_trace(self, trace: Json) -> Figure:
        self.data.append(_plain(trace))
        return self

    def add_shape(self, **shape: Any) -> Figure:
        self.layout.setdefault("shapes", []).append(_props(shape))
        return self

    def add_annotation(self, **annotation: Any) -> Figure:
        self.layout.setdefault("annotations", []).append(_props(annotation))
        return self

    def update_layout(self, **layout: Any) -> Figure:
        _merge(self.layout, _props(layout))
        return self

    def update_xaxes(self, **axis: Any) -> Figure:
        _merge(self.layout.setdefault("xaxis", {}), _props(axis))
        return self

    def update_yaxes(self, **axis: Any) -> Figure:
        _merge(self.layout.setdefault("yaxis", {}), _props(axis))
        return self

    def add_vline(self, x: float, line: Json, annotation_text: str, annotation_position: str = "top") -> Figure:
        """A vertical line across the plot with its label above it: plotly's add_vline, position "top"."""
        if annotation_position != "top":
            raise ValueError(f"annotation_position {annotation_position!r}: only 'top' is drawn here")
        self.add_shape(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)
        return self.add_annotation(showarrow=False, text=annotation_text, x=x, xanchor="center", xref="x",
                                   y=1, yanchor="bottom", yref="y domain")

    def add_hline(self, y: float, line: Json, annotation_text: str,
                  annotation_position: str = "top left") -> Figure:
        """A horizontal line across the plot, labelled above its left end: plotly's add_hline, "top left"."""
        if annotation_position != "top left":
            raise ValueError(f"annotation_position {annotation_position!r}: only 'top left' is drawn here")
        self.add_shape(type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y", line=line)
        return self.add_annotation(showarrow=False, text=annotation_text, x=0, xanchor="left", xref="x domain",
                                   y=y, yanchor="bottom", yref="y")

    def to_plotly_json(self) -> Json:
        return {"data": self.data, "layout": self.layout}

    to_dict = to_plotly_json

    def to_json(self) -> str:
        return str(to_json_plotly(self.to_plotly_json()))


def _scatter(**trace: Any) -> Json:
    return {"type": "scatter", **trace}


def _bar(**trace: Any) -> Json:
    return {"type": "bar", **trace}


def comparison_caption(indicator: Indicator, benchmark_label: str) -> str:
    """What a comparison chart shows; counts are not rates, so no significance is implied for them."""
    if indicator.unit == "count":
        return ("Bars show each group's count. Counts depend on population size, so they are not compared "
                f"with {benchmark_label} and no significance is implied.")
    return (f"Bars show each value with its 95% confidence interval; the dashed line is {benchmark_label}. "
            f"The colour and the mark beside each label (▲ better, ● similar, ▼ worse) say whether the interval "
            f"excludes {benchmark_label}; * marks a difference the stricter 99.8% interval confirms.")


def _layout(fig: Figure, title: str, height: int = 360, y_title: str = "") -> Figure:
    fig.update_layout(
        **THEME,
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16, "color": NHS_BLACK}},
        height=height,
        margin={"l": 60, "r": 20, "t": 56, "b": 48},
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(showline=True, linecolor=NHS_MID_GREY, gridcolor=NHS_PALE_GREY, zeroline=False)
    fig.update_yaxes(title_text=y_title, showline=True, linecolor=NHS_MID_GREY, gridcolor=NHS_PALE_GREY,
                     zeroline=False)
    return fig


def empty_figure(message: str) -> Figure:
    fig = Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": NHS_DARK_GREY})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "", height=200)


def unit_axis(indicator: Indicator) -> str:
    return indicator.unit_label if indicator.unit != "count" else "Number"


# --------------------------------------------------------------------------- SPC
def spc_figure(frame: pd.DataFrame, periods: Sequence[str], indicator: Indicator, title: str) -> Figure:
    """XmR chart in Making Data Count style from a metrics.spc.xmr frame (same row order as periods)."""
    fig = Figure()
    x = list(periods)
    segments = frame["segment"].to_numpy() if "segment" in frame else np.zeros(len(x), dtype=int)
    has_events = "event" in frame
    for seg in dict.fromkeys(segments):  # limits restart at each rebase: one line per segment
        rows = np.flatnonzero(segments == seg)
        for col, name, dash in (("upper_limit", "Process limits", "dash"), ("lower_limit", None, "dash"),
                                ("mean", "Mean", "solid")):
            if frame[col].iloc[rows].isna().all():  # no limits drawn (e.g. a rolling 12-month series)
                continue
            fig.add_trace(_scatter(
                x=[x[i] for i in rows], y=frame[col].iloc[rows], mode="lines", name=name or "Process limits",
                showlegend=bool(name is not None and seg == segments[0]), legendgroup=col if col == "mean" else "limits",
                line={"color": NHS_DARK_GREY if col == "mean" else NHS_MID_GREY, "dash": dash, "width": 1.5},
                hovertemplate=f"{name or 'Lower limit'}: %{{y:.{indicator.decimals}f}}<extra></extra>",
            ))
        if rows[0] > 0 and not (has_events and isinstance(frame["event"].iloc[rows[0]], str)):
            fig.add_shape(type="line", x0=x[rows[0]], x1=x[rows[0]], yref="paper", y0=0, y1=1,
                          line={"color": NHS_DARK_GREY, "dash": "dot", "width": 1})
            fig.add_annotation(x=x[rows[0]], yref="paper", y=1, text="Rebased", showarrow=False,
                               yanchor="bottom", font={"color": NHS_DARK_GREY, "size": 11})
    for i in np.flatnonzero(frame["event"].map(lambda v: isinstance(v, str)).to_numpy()) if has_events else ():
        # dated events (INT go-lives, metrics/events.py): a labelled vertical line in the period
        label = str(frame["event"].iloc[i]) + (" (limits rebased)" if i > 0 and segments[i] != segments[i - 1] else "")
        fig.add_shape(type="line", x0=x[i], x1=x[i], yref="paper", y0=0, y1=1, name=f"event: {label}",
                      line={"color": NHS_BLUE, "dash": "dot", "width": 1.5})
        fig.add_annotation(x=x[i], yref="paper", y=0.98, text=label.split(" (")[0], hovertext=label,
                           showarrow=False, xanchor="left", yanchor="top", textangle=-90,
                           font={"color": NHS_BLUE, "size": 11}, name="event")
    if frame["target"].notna().any():
        fig.add_trace(_scatter(x=x, y=frame["target"], mode="lines", name="Target",
                                 line={"color": MDC_TARGET, "dash": "dot", "width": 2}))
    fig.add_trace(_scatter(x=x, y=frame["value"], mode="lines", line={"color": NHS_MID_GREY, "width": 1.5},
                             showlegend=False, hoverinfo="skip", connectgaps=False))
    for kind, colour in POINT_COLOURS.items():
        mask = frame["point_type"] == kind
        if not mask.any():
            continue
        fig.add_trace(_scatter(
            x=[p for p, m in zip(x, mask, strict=True) if m], y=frame.loc[mask, "value"], mode="markers",
            name=POINT_LABELS[kind],
            marker={"color": colour, "size": 9, "line": {"color": "white", "width": 1},
                    "symbol": {"common_cause": "circle", "special_cause_improvement": "diamond",
                               "special_cause_concern": "square", "special_cause_neither": "triangle-up"}[kind]},
            hovertemplate=f"%{{x}}: %{{y:.{indicator.decimals}f}} ({POINT_LABELS[kind]})<extra></extra>",
        ))
    missing = [p for p, v in zip(x, frame["value"], strict=True) if pd.isna(v)]
    for p in missing:  # along the top edge, clear of the limits and the data
        fig.add_annotation(x=p, yref="paper", y=1, yanchor="bottom", text="[c]", showarrow=False,
                           font={"color": NHS_DARK_GREY, "size": 11})
    fig.update_xaxes(type="category", tickangle=-45 if len(x) > 12 else 0, automargin=True,
                     nticks=min(len(x), 24))
    fig = _layout(fig, title, height=420, y_title=unit_axis(indicator))
    # The legend sits under the (automargin) tick labels, never over them.
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
                      margin={"t": 72, "b": 120})
    return fig


# --------------------------------------------------------------------------- funnel
FUNNEL_COLOURS = {"High (0.001)": NHS_DARK_BLUE, "High (0.025)": NHS_BLUE, "Not significant": MDC_COMMON,
                  "Low (0.025)": NHS_WARM_YELLOW, "Low (0.001)": NHS_RED}


def funnel_figure(f: Funnel, indicator: Indicator, title: str) -> Figure:
    """Funnel plot from a metrics.funnel.Funnel: areas against 95% and 99.8% limits around BSol."""
    fig = Figure()
    for level, dash, name in ((0.95, "dash", "95% limits"), (0.998, "dot", "99.8% limits")):
        for side in ("lower", "upper"):
            c = f.curves[(f.curves["level"] == level) & (f.curves["side"] == side)].sort_values("x")
            fig.add_trace(_scatter(
                x=c["x"], y=c["limit"], mode="lines", name=name, legendgroup=name, showlegend=side == "lower",
                line={"color": NHS_DARK_GREY, "dash": dash, "width": 1.2},
                hovertemplate=f"{name}: %{{y:.{indicator.decimals}f}}<extra></extra>"))
    x_range = [float(f.curves["x"].min()), float(f.curves["x"].max())]
    fig.add_trace(_scatter(x=x_range, y=[f.benchmark, f.benchmark], mode="lines", name="BSol",
                             line={"color": NHS_BLACK, "width": 1.5}, hoverinfo="skip"))
    for label, colour in FUNNEL_COLOURS.items():
        pts = f.points[f.points["position"] == label]
        if pts.empty:
            continue
        fig.add_trace(_scatter(
            x=pts["x"], y=pts["value"], mode="markers", name=label, text=pts["geography"],
            marker={"color": colour, "size": 8, "line": {"color": "white", "width": 1}},
            hovertemplate=f"%{{text}}: %{{y:.{indicator.decimals}f}} ({label})<extra></extra>"))
    fig.update_xaxes(type="log", title_text=f.x_label)
    return _layout(fig, title, height=400, y_title=unit_axis(indicator))


# --------------------------------------------------------------------------- comparisons
def comparison_figure(frame: pd.DataFrame, label_col: str, indicator: Indicator, title: str,
                      benchmark: float | None = None, benchmark_label: str = "BSol",
                      highlight: str | None = None, horizontal: bool = True) -> Figure:
    """Bars with 95% CI error bars; suppressed groups shown as labelled gaps; optional benchmark line."""
    if frame.empty:
        return empty_figure("No data for this selection")
    labels = frame[label_col].astype(str).tolist()
    sup_mask = frame["suppressed"].astype(bool).to_numpy()
    values = frame["value"].astype(float).where(~sup_mask)
    upper, lower = frame["upper_ci"].astype(float), frame["lower_ci"].astype(float)
    counts = indicator.unit == "count"
    if counts:
        benchmark = None  # a count against a BSol total would imply a comparison that means nothing
    # Better/similar/worse: worked out before drawing (metrics.results.with_comparisons).
    cmp = (frame["comparison"].astype(str).tolist() if "comparison" in frame and not counts and benchmark is not None
           else ["not compared"] * len(frame))
    levels = (frame["comparison_level"].tolist() if "comparison_level" in frame else [None] * len(frame))
    fig = Figure()
    fmt = f":,.{indicator.decimals}f"
    for kind, (name, colour, _mark) in COMPARISON_STYLE.items():
        rows = [i for i, c in enumerate(cmp) if c == kind and not sup_mask[i]]
        if not rows:
            continue
        v = values.iloc[rows]
        err = {"type": "data", "array": (upper.iloc[rows] - v).clip(lower=0).fillna(0).round(6).tolist(),
               "arrayminus": (v - lower.iloc[rows]).clip(lower=0).fillna(0).round(6).tolist(), "color": NHS_BLACK,
               "thickness": 1.5, "width": 4, "visible": bool(upper.iloc[rows].notna().any())}
        labs = [labels[i] for i in rows]
        edge = [NHS_BLACK if labels[i] == highlight else "rgba(0,0,0,0)" for i in rows]
        marker = {"color": colour, "line": {"color": edge, "width": 2}}
        bar = {"name": name.format(b=benchmark_label), "marker": marker, "cliponaxis": False}
        if horizontal:
            fig.add_trace(_bar(y=labs, x=v.round(6).tolist(), orientation="h", error_x=err,
                                 hovertemplate=f"%{{y}}: %{{x{fmt}}}<extra></extra>", **bar))
        else:
            fig.add_trace(_bar(x=labs, y=v.round(6).tolist(), error_y=err,
                                 hovertemplate=f"%{{x}}: %{{y{fmt}}}<extra></extra>", **bar))
    ticks = [f"{lab} {COMPARISON_STYLE[c][2]}{'*' if lv == 0.998 and c != 'not compared' else ''}".rstrip()
             if not m else lab for lab, c, lv, m in zip(labels, cmp, levels, sup_mask, strict=True)]
    order = {"categoryorder": "array", "categoryarray": labels, "type": "category", "tickvals": labels,
             "ticktext": ticks, "automargin": True}
    if horizontal:
        fig.update_yaxes(autorange="reversed", **order)
    else:
        fig.update_xaxes(**order)
    for lab, sup in zip(labels, frame["suppressed"].astype(bool), strict=True):
        if sup:  # a labelled gap, never a zero-height bar
            pos = {"y": lab, "x": 0, "xanchor": "left"} if horizontal else {"x": lab, "y": 0, "yanchor": "bottom"}
            fig.add_annotation(text="[c] suppressed", showarrow=False, font={"color": NHS_DARK_GREY, "size": 12},
                               **pos)
    if benchmark is not None and not math.isnan(benchmark):
        line = {"color": MDC_TARGET if benchmark_label == "Target" else NHS_BLACK, "dash": "dash", "width": 1.5}
        label = f"{benchmark_label} {benchmark:,.{indicator.decimals}f}"
        if horizontal:
            fig.add_vline(x=benchmark, line=line, annotation_text=label, annotation_position="top")
        else:
            fig.add_hline(y=benchmark, line=line, annotation_text=label, annotation_position="top left")
    shown = {k for k, m in zip(cmp, sup_mask, strict=True) if not m}
    height = (max(260, 40 + 34 * len(labels)) if horizontal else 340) + (60 if shown - {"not compared"} else 0)
    fig = _layout(fig, title, height=height, y_title="" if horizontal else unit_axis(indicator))
    if horizontal:
        fig.update_xaxes(title_text=unit_axis(indicator), rangemode="tozero")
    fig.update_layout(showlegend=bool(shown - {"not compared"}), barmode="overlay", bargap=0.3,
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
                      margin={"b": 110 if shown - {"not compared"} else 48})
    return fig


# --------------------------------------------------------------------------- inline SVG icons
def svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def sparkline_uri(values: Sequence[float | None], width: int = 120, height: int = 28,
                  colour: str = NHS_BLUE) -> str:
    points = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(points) < 2:
        return svg_uri(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>')
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = hi - lo or 1.0
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 3 + (width - 6) * i / n, height - 3 - (height - 6) * (v - lo) / span

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    lx, ly = xy(*points[-1])
    return svg_uri(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.6" fill="{NHS_DARK_BLUE}"/></svg>'
    )


VARIATION_TEXT = {
    "common_cause": "Common cause variation",
    "special_cause_improvement_high": "Improvement (high)",
    "special_cause_improvement_low": "Improvement (low)",
    "special_cause_concern_high": "Concern (high)",
    "special_cause_concern_low": "Concern (low)",
    "special_cause_neither_high": "Special cause (high)",
    "special_cause_neither_low": "Special cause (low)",
}
ASSURANCE_TEXT = {"pass": "Consistently passing target", "fail": "Consistently failing target",
                  "hit_or_miss": "Hit and miss target"}


def variation_icon(variation: str | None) -> tuple[str, str]:
    """(data-URI SVG, text label) for an MDC variation icon."""
    if variation is None:
        return _circle(NHS_PALE_GREY, NHS_DARK_GREY, "–"), "Too few points for SPC"
    if variation == "common_cause":
        colour, letter = MDC_COMMON, ""
    else:
        kind = variation.split("_")[2]
        colour = {"improvement": MDC_IMPROVEMENT, "concern": MDC_CONCERN, "neither": MDC_NEITHER}[kind]
        letter = "H" if variation.endswith("high") else "L"
    dots = _dots(variation)
    return _circle(colour, colour, letter, dots), VARIATION_TEXT.get(variation, variation)


def assurance_icon(assurance: str | None) -> tuple[str, str] | None:
    if assurance is None:
        return None
    colour, letter = {"pass": (MDC_IMPROVEMENT, "P"), "fail": (MDC_CONCERN, "F"),
                      "hit_or_miss": (MDC_COMMON, "?")}[assurance]
    return _circle(colour, colour, letter), ASSURANCE_TEXT[assurance]


def _dots(variation: str) -> str:
    ys = [20, 19, 21, 20, 19.5, 20.5]
    if variation.endswith("high"):
        ys = [22, 21.5, 21, 19, 17, 15]
    elif variation.endswith("low"):
        ys = [16, 16.5, 17, 19, 21, 23]
    colour = NHS_DARK_GREY if variation == "common_cause" else "#FFFFFF"
    return "".join(f'<circle cx="{9 + i * 3.6:.1f}" cy="{y}" r="1.5" fill="{colour}"/>' for i, y in enumerate(ys))


def _circle(stroke: str, text_colour: str, letter: str, extra: str = "") -> str:
    fill = "#FFFFFF"
    inner = ""
    if letter:
        inner = (f'<text x="16" y="14" text-anchor="middle" font-family="Arial" font-weight="bold" '
                 f'font-size="11" fill="{text_colour}">{letter}</text>')
    if extra and letter:
        fill = stroke
        inner = inner.replace(f'fill="{text_colour}"', 'fill="#FFFFFF"')
    return svg_uri(
        '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">'
        f'<circle cx="16" cy="16" r="14" fill="{fill}" stroke="{stroke}" stroke-width="3"/>{inner}{extra}</svg>'
    )


# --------------------------------------------------------------------------- caseload profile
REPRESENTATION_STYLE = {  # flag: (legend name, colour, marker symbol) -- the symbol carries the meaning too
    "under-represented": ("Under-represented (95% CI below 1)", "#9A4200", "triangle-left"),
    "over-represented": ("Over-represented (95% CI above 1)", NHS_DARK_BLUE, "triangle-right"),
    "": ("Not clearly different", NHS_MID_GREY, "circle"),
}


def representation_figure(profile: pd.DataFrame, title: str) -> Figure:
    """Representation index (caseload share / population share) with 95% CIs per group, a line at 1.

    ``profile``: metrics.prepost.profile_for_display rows plus a ``label`` column. Suppressed groups
    are labelled gaps, never plotted.
    """
    if profile.empty:
        return empty_figure("No caseload for this selection")
    labels = profile["label"].astype(str).tolist()
    fig = Figure()
    for flag, (name, colour, symbol) in REPRESENTATION_STYLE.items():
        sub = profile[(profile["flag"].fillna("") == flag) & profile["representation"].notna()]
        if sub.empty:
            continue
        rep = sub["representation"].astype(float)
        fig.add_trace(_scatter(
            x=rep, y=sub["label"], mode="markers", name=name,
            marker={"color": colour, "size": 11, "symbol": symbol, "line": {"color": "white", "width": 1}},
            error_x={"type": "data", "array": (sub["representation_upper"].astype(float) - rep).clip(lower=0),
                     "arrayminus": (rep - sub["representation_lower"].astype(float)).clip(lower=0),
                     "color": colour, "thickness": 1.5, "width": 4},
            hovertemplate="%{y}: %{x:.2f}<extra>" + name + "</extra>",
        ))
    for lab, rep in zip(labels, profile["representation"], strict=True):
        if pd.isna(rep):
            fig.add_annotation(text="[c] suppressed", x=0, y=lab, xanchor="left", showarrow=False,
                               font={"color": NHS_DARK_GREY, "size": 12})
    fig.add_vline(x=1, line={"color": NHS_BLACK, "dash": "dash", "width": 1.5},
                  annotation_text="1 = in proportion", annotation_position="top")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, autorange="reversed")
    fig = _layout(fig, title, height=max(320, 90 + 26 * len(labels)))
    fig.update_xaxes(title_text="Representation index", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
                      margin={"l": 180, "r": 20, "t": 70, "b": 110})
    return fig
