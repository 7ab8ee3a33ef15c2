"""metrics.spc against NHSRplotthedots 0.2.2's own published tests (numbers only).

Source: github.com/nhs-r-community/NHSRplotthedots at commit
050b07d7eacc011767532732f69b8fd7d6a28fd3 (tag 0.2.2):
* tests/testthat/test-ptd_calculate_point_type.R -- the rule helper vectors;
* tests/testthat/test-ptd_spc_standard.R and _snaps/ptd_spc_standard.md -- limits of
  ``set.seed(123); rnorm(20)``, with y[15] = 10 screened and not screened, and the
  two-of-three opposite-sides case;
* tests/testthat/test-ptd_spc.R and _snaps/ptd_spc.md -- the same series split 10/10
  (ptd_spc_standard groups a facet and a rebase group identically, so the facet summary is the
  rebased series' limits).
The 20 values are R's ``set.seed(123); rnorm(20)``; the snapshot means confirm them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.spc import SpcRules, shift_flags, summarise, trend_flags, two_of_three_flags, xmr

RNORM_123 = [-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
             -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
             -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141]
DATES = pd.Timestamp("2020-01-01") + pd.to_timedelta(range(1, 21), "D")


def first(frame: pd.DataFrame, *cols: str) -> list[float]:
    return [float(frame[c].iloc[0]) for c in cols]


def test_limits_match_the_snapshot() -> None:
    frame = xmr(RNORM_123, dates=DATES)
    assert first(frame, "mean", "lower_limit", "upper_limit") == pytest.approx(
        [0.1416238, -3.01138, 3.294627], abs=1e-6)
    assert list(np.sign(frame["value"] - frame["mean"]).astype(int)[:13]) == [
        -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1]
    assert (frame["point_type"] == "common_cause").all()  # summary: 20 common cause


def test_outlier_screening_matches_the_snapshot() -> None:
    y = list(RNORM_123)
    y[14] = 10.0
    screened = xmr(y, dates=DATES)
    raw = xmr(y, dates=DATES, rule_lengths=SpcRules(screen_outliers=False))
    assert first(screened, "mean", "lower_limit", "upper_limit") == pytest.approx(
        [0.6694159, -2.383666, 3.722497], abs=1e-6)
    assert first(raw, "mean", "lower_limit", "upper_limit") == pytest.approx(
        [0.6694159, -4.596625, 5.935457], abs=1e-6)


def test_rebased_series_has_each_segments_limits() -> None:
    frame = xmr(RNORM_123, dates=DATES, rebase=[DATES[10]])
    assert frame["segment"].tolist() == [0] * 10 + [1] * 10  # test-ptd_spc_standard: rebase_group
    seg = frame.groupby("segment")[["mean", "lower_limit", "upper_limit"]].first()
    assert seg.loc[0].tolist() == pytest.approx([0.0746, -2.60, 2.75], abs=5e-3)
    assert seg.loc[1].tolist() == pytest.approx([0.209, -3.28, 3.70], abs=5e-3)
    # the same with 1-based positions instead of dates
    assert xmr(RNORM_123, rebase=[11])["upper_limit"].tolist() == frame["upper_limit"].tolist()


def test_rebase_stops_runs_crossing_it() -> None:
    y = [1.0, -1.0] * 6 + [0.5] * 4 + [0.5] * 4 + [1.0, -1.0] * 3
    frame = xmr(y)
    assert frame["shift"].iloc[12:20].all()
    split = xmr(y, rebase=[17])  # 4 points above the mean either side of the rebase
    assert not split["shift"].any()


def test_shift_vectors() -> None:
    assert shift_flags(np.array([])).tolist() == []
    assert not shift_flags(np.ones(6)).any()
    assert not shift_flags(np.array([1] * 6 + [-1])).any()
    assert shift_flags(np.array([1] * 8 + [-1])).tolist() == [True] * 8 + [False]
    assert shift_flags(np.array([-1] * 8 + [1])).tolist() == [True] * 8 + [False]


def test_trend_vectors() -> None:
    assert not trend_flags(np.arange(1, 7))[0].any()
    assert not trend_flags(np.array([1, 2, 3, 3, 4, 5, 6]))[0].any()
    assert trend_flags(np.arange(1, 8))[0].all()
    flag, direction = trend_flags(np.array([2, 1, 2, 3, 4, 5, 6, 7, 3]))
    assert flag.tolist() == [False] + [True] * 7 + [False]
    assert direction.tolist() == [0] + [1] * 7 + [0]
    flag, direction = trend_flags(np.array([2, 7, 6, 5, 4, 3, 2, 1, 3]))
    assert flag.tolist() == [False] + [True] * 7 + [False]
    assert direction.tolist() == [0] + [-1] * 7 + [0]


@pytest.mark.parametrize("close,side,expected", [
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),  # the two are 4 apart
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),  # opposite sides of the mean
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
])
def test_two_of_three_vectors(close, side, expected) -> None:
    got = two_of_three_flags(np.array(close, dtype=float), np.array(side, dtype=float))
    assert got.astype(int).tolist() == expected


def test_two_of_three_opposite_sides_is_common_cause() -> None:
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    frame = xmr(y)
    assert frame["point_type"].iloc[-2:].tolist() == ["common_cause", "common_cause"]


def test_two_of_three_counts_only_points_between_two_sigma_and_the_limit() -> None:
    # baseline [11, 9] * 6: mean 10, amr 2, two sigma 13.547, upper limit 15.32
    base = [11.0, 9.0] * 6
    beyond = xmr(base + [14.0, 16.0, 10.5], baseline=12)  # one close, one outside: not 2-of-3
    assert not beyond["two_of_three"].any() and beyond["outside_limits"].iloc[13]
    on_mean = xmr(base + [14.0, 10.0, 14.0], baseline=12)  # middle point on the mean
    assert not on_mean["two_of_three"].any()
    fires = xmr(base + [14.0, 10.5, 14.0], baseline=12)
    assert fires["two_of_three"].tolist() == [False] * 12 + [True, False, True]


def test_a_gap_breaks_every_rule_window() -> None:
    base = [11.0, 9.0] * 6
    above = [10.5, 10.6, 10.5, 10.6]
    assert xmr(base + above + above[:3], baseline=12)["shift"].sum() == 7
    gapped = xmr(base + above + [np.nan] + above[:3], baseline=12)
    assert not gapped["shift"].any()
    assert xmr(base + [14.0, 10.5, 14.0], baseline=12)["two_of_three"].any()
    assert not xmr(base + [14.0, np.nan, 14.0], baseline=12)["two_of_three"].any()
    rising = [8.5, 9.0, 9.5, 10.2, 10.4, 10.6, 10.8]
    assert xmr(base + rising, baseline=12)["trend"].sum() == 7
    assert not xmr(base + rising[:3] + [np.nan] + rising[3:], baseline=12)["trend"].any()


def test_too_few_points_withholds_icons() -> None:
    fy = xmr([10.0, 12.0, 11.0, 13.0], polarity="HIGH_IS_GOOD", target=5)
    s = summarise(fy, "HIGH_IS_GOOD", 5)
    assert s.variation is None and s.assurance is None and s.rule.startswith("Too few points")
    # a rebase starts the count again
    rebased = xmr(RNORM_123, rebase=[15])
    s = summarise(rebased, "HIGH_IS_GOOD")
    assert s.variation is None and "since the last rebase" in s.rule and s.n_points == 6
    assert summarise(xmr(RNORM_123), "HIGH_IS_GOOD").variation == "common_cause"
