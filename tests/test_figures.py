"""The figures of layouts/figures.py, built as plain dicts: each kind passes plotly's validators and
draws what the page promises (suppressed points as labelled gaps, the benchmark line at the
benchmark, one legend entry per comparison drawn). Small hand-made inputs, known answers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures
from metrics.catalogue import INDICATORS_BY_ID
from metrics.funnel import Funnel

RATE = INDICATORS_BY_ID["m05_ucr_2h"]  # percent, 1 decimal place
COUNT = INDICATORS_BY_ID["m01_caseload"]


def validated(fig: figures.Figure) -> dict:
    """The figure's JSON, after plotly's validators have accepted it (an invalid property raises)."""
    out = fig.to_plotly_json()
    go.Figure(out)
    text = fig.to_json()
    assert "bdata" not in text and "NaN" not in text  # plain lists, NaN as null
    assert json.loads(text) == json.loads(json.dumps(out))
    assert "template" not in out["layout"]  # neither plotly's default template nor ours
    assert out["layout"]["font"]["family"] == figures.FONT  # our theme instead, in the layout itself
    assert out["layout"]["plot_bgcolor"] == "white" and out["layout"]["hovermode"] == "closest"
    return out


def _spc_frame() -> tuple[pd.DataFrame, list[str]]:
    """Ten months, rebased at month 6 (an event there), a target, months 3 and 8 suppressed."""
    periods = [f"2024-{m:02d}" for m in range(1, 11)]
    frame = pd.DataFrame({
        "period": periods, "segment": [0] * 5 + [1] * 5,
        "value": [50.0, 52.0, np.nan, 51.0, 49.0, 60.0, 61.0, np.nan, 62.0, 59.0],
        "mean": [50.5] * 5 + [60.5] * 5, "upper_limit": [55.0] * 5 + [66.0] * 5,
        "lower_limit": [46.0] * 5 + [55.0] * 5, "target": 70.0,
        "point_type": ["common_cause", "common_cause", None, "common_cause", "common_cause",
                       "special_cause_improvement", "special_cause_improvement", None, "common_cause",
                       "common_cause"],
        "event": [None] * 5 + ["INT go-live (East INT)"] + [None] * 4,
    })
    return frame, periods


def test_spc_chart_gaps_events_target_and_limits() -> None:
    frame, periods = _spc_frame()
    fig = validated(figures.spc_figure(frame, periods, RATE, "Trend"))
    traces, layout = fig["data"], fig["layout"]
    line = next(t for t in traces if t["mode"] == "lines" and t.get("hoverinfo") == "skip")
    assert line["y"][2] is None and line["y"][7] is None and line["y"][0] == 50.0  # gaps, never zero
    shown = [x for t in traces if t["mode"] == "markers" for x in t["x"]]
    assert sorted(shown) == sorted(p for i, p in enumerate(periods) if i not in (2, 7))
    assert [a["x"] for a in layout["annotations"] if a["text"] == "[c]"] == ["2024-03", "2024-08"]
    means = [t for t in traces if t.get("name") == "Mean"]
    assert [(m["x"][0], m["y"][0]) for m in means] == [("2024-01", 50.5), ("2024-06", 60.5)]  # one per segment
    assert sum(t["showlegend"] for t in traces if t.get("legendgroup") == "limits") == 1
    assert next(t for t in traces if t.get("name") == "Target")["y"] == [70.0] * 10
    # the event at the rebase is a named line with its label; it replaces the plain "Rebased" mark
    (event,) = layout["shapes"]
    assert (event["x0"], event["name"]) == ("2024-06", "event: INT go-live (East INT) (limits rebased)")
    assert "Rebased" not in [a["text"] for a in layout["annotations"]]
    assert layout["margin"] == {"l": 60, "r": 20, "t": 72, "b": 120}  # update_layout merges, as plotly's
    assert layout["yaxis"]["title"] == {"text": RATE.unit_label}  # title_text, plotly's magic underscore
    assert layout["xaxis"]["type"] == "category"


def test_spc_rebase_without_an_event_is_marked() -> None:
    frame, periods = _spc_frame()
    frame = frame.drop(columns=["event", "target"]).assign(target=np.nan)
    layout = validated(figures.spc_figure(frame, periods, RATE, "Trend"))["layout"]
    assert [s["x0"] for s in layout["shapes"]] == ["2024-06"]
    assert [a["x"] for a in layout["annotations"] if a["text"] == "Rebased"] == ["2024-06"]


def _comparison(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({
        "label": [f"Area {i}" for i in range(n)], "value": [40.0 + 5 * i for i in range(n)],
        "lower_ci": [35.0 + 5 * i for i in range(n)], "upper_ci": [45.0 + 5 * i for i in range(n)],
        "suppressed": [False, True, False, False, False][:n],
        "comparison": ["worse", "similar", "similar", "better", "better"][:n],
        "comparison_level": [0.95, 0.95, 0.95, 0.998, 0.95][:n],
    })


@pytest.mark.parametrize("horizontal", [True, False])
def test_comparison_bars_benchmark_and_suppressed(horizontal: bool) -> None:
    fig = validated(figures.comparison_figure(_comparison(), "label", RATE, "Areas", benchmark=50.0,
                                              highlight="Area 3", horizontal=horizontal))
    traces, layout = fig["data"], fig["layout"]
    cats, vals = ("y", "x") if horizontal else ("x", "y")
    # one bar trace per comparison drawn (the suppressed "similar" row leaves one similar bar)
    assert [t["name"] for t in traces] == [figures.COMPARISON_STYLE[k][0].format(b="BSol")
                                           for k in ("better", "similar", "worse")]
    assert all(t["type"] == "bar" for t in traces)
    drawn = {c for t in traces for c in t[cats]}
    assert "Area 1" not in drawn and len(drawn) == 4  # suppressed: no bar at all, not a zero bar
    (gap,) = [a for a in layout["annotations"] if a["text"] == "[c] suppressed"]
    assert gap[cats] == "Area 1"
    better = traces[0]
    assert better[vals] == [55.0, 60.0] and better["error_x" if horizontal else "error_y"]["array"] == [5.0, 5.0]
    assert better["marker"]["line"]["color"] == [figures.NHS_BLACK, "rgba(0,0,0,0)"]  # Area 3 highlighted
    (line,) = layout["shapes"]
    label = next(a for a in layout["annotations"] if a["text"] == "BSol 50.0")
    if horizontal:
        assert (line["x0"], line["x1"], line["xref"], line["yref"]) == (50.0, 50.0, "x", "y domain")
        assert (label["x"], label["y"], label["yref"]) == (50.0, 1, "y domain")
        axis = layout["yaxis"]
    else:
        assert (line["y0"], line["y1"], line["yref"], line["xref"]) == (50.0, 50.0, "y", "x domain")
        assert (label["y"], label["x"], label["xref"]) == (50.0, 0, "x domain")
        axis = layout["xaxis"]
    assert axis["ticktext"] == ["Area 0 ▼", "Area 1", "Area 2 ●", "Area 3 ▲*", "Area 4 ▲"]
    assert layout["showlegend"] is True and line["line"]["color"] == figures.NHS_BLACK


def test_comparison_target_counts_and_empty() -> None:
    target = validated(figures.comparison_figure(_comparison(), "label", RATE, "Areas", benchmark=70.0,
                                                 benchmark_label="Target", horizontal=False))
    assert target["layout"]["shapes"][0]["line"]["color"] == figures.MDC_TARGET
    assert "Target 70.0" in [a["text"] for a in target["layout"]["annotations"]]
    counts = validated(figures.comparison_figure(_comparison(), "label", COUNT, "Areas", benchmark=70.0))
    assert [t["name"] for t in counts["data"]] == ["Not compared"]  # a count is never compared
    assert "shapes" not in counts["layout"] and counts["layout"]["showlegend"] is False
    nan_bench = validated(figures.comparison_figure(_comparison(), "label", RATE, "Areas", benchmark=math.nan))
    assert "shapes" not in nan_bench["layout"]
    empty = validated(figures.comparison_figure(_comparison().iloc[:0], "label", RATE, "Areas"))
    assert empty["data"] == [] and empty["layout"]["annotations"][0]["text"] == "No data for this selection"


def test_lines_are_drawn_as_plotly_draws_them() -> None:
    """add_vline/add_hline emulate plotly's own, for the annotation positions the module uses."""
    line = {"color": "red", "dash": "dash", "width": 1.5}
    for ours, theirs in (
        (figures.Figure().add_vline(x=3.5, line=line, annotation_text="a", annotation_position="top"),
         go.Figure().add_vline(x=3.5, line=line, annotation_text="a", annotation_position="top")),
        (figures.Figure().add_hline(y=3.5, line=line, annotation_text="a", annotation_position="top left"),
         go.Figure().add_hline(y=3.5, line=line, annotation_text="a", annotation_position="top left")),
    ):
        got, want = ours.to_plotly_json()["layout"], theirs.to_plotly_json()["layout"]
        assert got["shapes"] == want["shapes"] and got["annotations"] == want["annotations"]
    with pytest.raises(ValueError):
        figures.Figure().add_vline(x=1, line=line, annotation_text="a", annotation_position="bottom")


def test_builder_merges_and_makes_values_plain() -> None:
    fig = figures.Figure()
    fig.update_layout(legend={"x": 0, "y": 1}, paper_bgcolor="white")
    fig.update_layout(legend={"y": 0}, title_font_size=16)
    fig.update_xaxes(title_text="Months", range=np.array([0.0, 2.0]))
    fig.add_trace({"type": "scatter", "x": pd.Series([1, 2, 3]), "y": pd.Series([1.5, np.nan, np.float64(2)]),
                   "error_y": {"array": np.array([0.1, np.nan, 0.2])}})
    out = fig.to_plotly_json()
    assert out["layout"] == {"legend": {"x": 0, "y": 0}, "paper_bgcolor": "white", "title": {"font": {"size": 16}},
                             "xaxis": {"title": {"text": "Months"}, "range": [0.0, 2.0]}}
    assert out["data"] == [{"type": "scatter", "x": [1, 2, 3], "y": [1.5, None, 2.0],
                            "error_y": {"array": [0.1, None, 0.2]}}]
    assert type(out["data"][0]["x"][0]) is int and fig.to_dict() == out


def test_funnel_limits_benchmark_and_points() -> None:
    xs = np.array([100.0, 1000.0, 10000.0])
    curves = pd.DataFrame([(lv, side, x, 50 + (1 if side == "upper" else -1) * k / math.sqrt(x))
                           for lv, k in ((0.95, 196), (0.998, 309)) for side in ("lower", "upper") for x in xs],
                          columns=["level", "side", "x", "limit"])
    points = pd.DataFrame({"geography": ["P1", "P2", "P3"], "x": [200.0, 900.0, 5000.0],
                           "value": [80.0, 51.0, 40.0],
                           "position": ["High (0.001)", "Not significant", "Low (0.001)"]})
    f = Funnel(points=points, curves=curves, benchmark=50.0, method="test", x_label="Patients")
    fig = validated(figures.funnel_figure(f, RATE, "Funnel"))
    names = [t["name"] for t in fig["data"]]
    assert names == ["95% limits"] * 2 + ["99.8% limits"] * 2 + ["BSol", "High (0.001)", "Not significant",
                                                                  "Low (0.001)"]
    bsol = fig["data"][4]
    assert bsol["x"] == [100.0, 10000.0] and bsol["y"] == [50.0, 50.0]
    assert fig["data"][5]["text"] == ["P1"] and fig["layout"]["xaxis"]["type"] == "log"
    assert fig["layout"]["xaxis"]["title"] == {"text": "Patients"}


def test_representation_line_at_one_and_suppressed_groups() -> None:
    profile = pd.DataFrame({
        "label": ["Aged 65-74", "Aged 75+", "Female", "Male"],
        "representation": [0.6, 1.8, np.nan, 1.0], "representation_lower": [0.4, 1.5, np.nan, 0.8],
        "representation_upper": [0.8, 2.1, np.nan, 1.2],
        "flag": ["under-represented", "over-represented", None, None]})
    fig = validated(figures.representation_figure(profile, "Profile"))
    assert [t["y"] for t in fig["data"]] == [["Aged 65-74"], ["Aged 75+"], ["Male"]]
    under = fig["data"][0]["error_x"]
    assert under["array"] == pytest.approx([0.2]) and under["arrayminus"] == pytest.approx([0.2])
    (line,) = fig["layout"]["shapes"]
    assert (line["x0"], line["x1"]) == (1, 1)
    assert [a["y"] for a in fig["layout"]["annotations"] if a["text"] == "[c] suppressed"] == ["Female"]
    empty = validated(figures.representation_figure(profile.iloc[:0], "Profile"))
    assert empty["layout"]["annotations"][0]["text"] == "No caseload for this selection"


def test_empty_figure() -> None:
    fig = validated(figures.empty_figure("Nothing here"))
    assert fig["data"] == [] and fig["layout"]["annotations"][0]["text"] == "Nothing here"
    assert fig["layout"]["xaxis"]["visible"] is False and fig["layout"]["height"] == 200
