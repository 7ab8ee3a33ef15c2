"""Tests for metrics.spc with small hand-made series.

Most series start with a fixed 12-point baseline ``[11, 9] * 6``: mean 10, every moving range 2,
so amr = 2 and
    process limits  10 +/- 2.66 * 2          = 15.32 / 4.68
    two sigma       10 +/- 2 * 2.66 / 3 * 2  = 13.5467 / 6.4533
    one sigma       10 +/- 2.66 / 3 * 2      = 11.7733 / 8.2267
The baseline alternates sides of the mean and ends below it (9), and has no monotone runs, so it
fires no rule itself.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from metrics.spc import SpcRules, summarise, xmr

BASE = [11.0, 9.0] * 6


def chart(tail, polarity="HIGH_IS_GOOD", **kw):
    return xmr(BASE + list(tail), polarity=polarity, baseline=12, **kw)


def test_limits_by_hand():
    frame = xmr(BASE)
    row = frame.iloc[-1]
    assert row["mean"] == pytest.approx(10.0)
    assert row["upper_limit"] == pytest.approx(15.32)
    assert row["lower_limit"] == pytest.approx(4.68)
    assert row["upper_two_sigma"] == pytest.approx(10 + 2 * 2.66 / 3 * 2)
    assert row["lower_one_sigma"] == pytest.approx(10 - 2.66 / 3 * 2)
    assert math.isnan(frame["mr"].iloc[0]) and (frame["mr"].iloc[1:] == 2).all()
    assert not frame["special_cause"].any()
    assert (frame["point_type"] == "common_cause").all()
    assert not frame["trial_limits"].any()


def test_outside_limits_fires_only_on_the_spike():
    frame = chart([10.5, 16.0, 9.5])
    assert frame["outside_limits"].tolist() == [False] * 13 + [True, False]
    assert frame["point_type"].iloc[13] == "special_cause_improvement"
    low = chart([10.5, 4.0], polarity="HIGH_IS_GOOD")
    assert low["outside_limits"].iloc[-1] and low["point_type"].iloc[-1] == "special_cause_concern"


def test_shift_of_seven_fires_and_six_does_not():
    above = [10.5, 10.6] * 3 + [10.5]  # 7 points above the mean, within 1 sigma, not monotone
    frame = chart(above)
    assert frame["shift"].tolist() == [False] * 12 + [True] * 7
    assert not frame["trend"].any() and not frame["two_of_three"].any()
    assert not chart(above[:6])["shift"].any()
    summary = summarise(frame)
    assert summary.rule == "Latest 7 points above the mean (shift)"
    assert summary.variation == "special_cause_improvement_high"


def test_shift_length_is_configurable():
    above = [10.5, 10.6] * 3 + [10.5]
    assert not chart(above, rule_lengths=SpcRules(shift=8))["shift"].any()
    assert chart(above[:5], rule_lengths=SpcRules(shift=5))["shift"].sum() == 5


def test_point_on_the_mean_breaks_a_shift():
    frame = chart([10.5, 10.6, 10.5, 10.0, 10.6, 10.5, 10.6])
    assert not frame["shift"].any()


def test_trend_of_seven_fires_and_six_does_not():
    # 9 (last baseline point) -> 8.5 is a fall, so the rising run starts at 8.5: 7 points.
    rising = [8.5, 9.0, 9.5, 10.2, 10.4, 10.6, 10.8]
    frame = chart(rising)
    assert frame["trend"].tolist() == [False] * 12 + [True] * 7
    assert not frame["shift"].any() and not frame["outside_limits"].any()
    assert (frame["point_type"].iloc[12:] == "special_cause_improvement").all()
    assert summarise(frame).rule == "Latest 7 points increasing (trend)"
    assert not chart(rising[1:])["trend"].any()  # 9 -> 9 is a tie: only 6 rising points
    assert chart(rising[1:], rule_lengths=SpcRules(trend=6))["trend"].sum() == 6


def test_trend_polarity_flips_improvement_and_concern():
    falling = [11.5, 11.0, 10.5, 9.8, 9.6, 9.4, 9.2]  # 9 -> 11.5 rises, then 7 falling points
    high = chart(falling, polarity="HIGH_IS_GOOD")
    low = chart(falling, polarity="LOW_IS_GOOD")
    neither = chart(falling, polarity="NO_JUDGEMENT")
    assert high["trend"].sum() == 7
    assert (high["point_type"].iloc[12:] == "special_cause_concern").all()
    assert (low["point_type"].iloc[12:] == "special_cause_improvement").all()
    assert (neither["point_type"].iloc[12:] == "special_cause_neither").all()
    assert summarise(high, "HIGH_IS_GOOD").variation == "special_cause_concern_low"
    assert summarise(low, "LOW_IS_GOOD").variation == "special_cause_improvement_low"
    assert summarise(neither, "NO_JUDGEMENT").variation == "special_cause_neither_low"
    assert summarise(high).rule == "Latest 7 points decreasing (trend)"


def test_two_of_three_beyond_two_sigma():
    frame = chart([14.0, 10.2, 14.0])  # 14 is beyond 13.547 but inside 15.32
    assert frame["two_of_three"].tolist() == [False] * 12 + [True, False, True]
    assert not frame["outside_limits"].any()
    assert summarise(frame).rule == (
        "2 of the latest 3 points beyond 2 sigma above the mean (two of three)"
    )
    assert not chart([14.0, 10.2, 10.4])["two_of_three"].any()  # only one beyond
    assert not chart([14.0, 10.2, 6.0])["two_of_three"].any()  # opposite sides


def test_common_cause_summary_and_rule_sentence():
    frame = chart([10.5, 9.5, 10.2])
    summary = summarise(frame)
    assert summary.variation == "common_cause"
    assert "common cause" in summary.rule


@pytest.mark.parametrize(
    "polarity,target,expected",
    [
        ("HIGH_IS_GOOD", 4.0, "pass"),  # target below the lower limit 4.68
        ("HIGH_IS_GOOD", 16.0, "fail"),  # target above the upper limit 15.32
        ("HIGH_IS_GOOD", 12.0, "hit_or_miss"),
        ("LOW_IS_GOOD", 4.0, "fail"),
        ("LOW_IS_GOOD", 16.0, "pass"),
        ("LOW_IS_GOOD", 12.0, "hit_or_miss"),
        ("NO_JUDGEMENT", 4.0, None),
        ("HIGH_IS_GOOD", None, None),
    ],
)
def test_assurance(polarity, target, expected):
    frame = xmr(BASE, polarity=polarity, target=target)
    assert summarise(frame, polarity, target).assurance == expected


def test_trial_limits_below_twelve_points():
    assert xmr(BASE[:11])["trial_limits"].all()
    assert not xmr(BASE)["trial_limits"].any()
    assert summarise(xmr(BASE[:11])).trial_limits
    # a short baseline makes the limits trial even on a long series
    assert xmr(BASE * 2, baseline=6)["trial_limits"].all()


def test_nan_values_are_skipped_but_kept_as_rows():
    values = BASE[:6] + [np.nan] + BASE[6:]
    frame = xmr(values)
    assert len(frame) == 13
    assert frame["mean"].iloc[0] == pytest.approx(10.0)
    assert frame["point_type"].iloc[6] is None
    assert not frame["special_cause"].iloc[6]
    # a gap has no moving range on either side (NHSRplotthedots: NA propagates through diff)
    assert math.isnan(frame["mr"].iloc[6]) and math.isnan(frame["mr"].iloc[7])
    assert frame["mr"].iloc[8] == pytest.approx(2.0)
    summary = summarise(xmr(BASE + [np.nan]))
    assert summary.n_points == 12 and summary.latest_value == 9.0


def test_fewer_than_two_points():
    for values in ([], [5.0], [np.nan, 5.0]):
        frame = xmr(values)
        assert frame["upper_limit"].isna().all()
        assert summarise(frame).variation is None
        assert summarise(frame).assurance is None
    assert xmr([5.0])["mean"].iloc[0] == 5.0


def test_outlier_moving_ranges_are_screened():
    # moving ranges 1,1,1,1,1,1,1,1,1,1,20,20 -> amr 4.1667; 3.267 * amr = 13.6 screens the 20s
    values = [10.0, 11] * 5 + [10.0, 30.0, 10.0]
    screened = xmr(values)
    raw = xmr(values, rule_lengths=SpcRules(screen_outliers=False))
    mean = np.mean(values)
    assert screened["upper_limit"].iloc[0] == pytest.approx(mean + 2.66 * 1.0)
    assert raw["upper_limit"].iloc[0] == pytest.approx(mean + 2.66 * 50 / 12)
    assert screened["outside_limits"].iloc[11]


def test_dates_become_x_and_rows_are_sorted():
    dates = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])
    frame = xmr([3.0, 1.0, 2.0], dates=dates)
    assert list(frame["x"]) == sorted(dates)
    assert list(frame["value"]) == [1.0, 2.0, 3.0]
    assert list(xmr([3.0, 1.0])["x"]) == [1, 2]


def test_invalid_polarity():
    with pytest.raises(ValueError):
        xmr(BASE, polarity="UP")


def test_spc_frame_lines_come_from_the_shown_values_and_hide_suppressed_points():
    """Limits from the controlled (shown) values: exact 101, 102, 103 are shown as 100, 100, 105
    (rounded to 5), and lines from the exact ones would give the exact total back (mean x n)."""
    from metrics.catalogue import INDICATORS_BY_ID
    from metrics.results import spc_frame

    ind = INDICATORS_BY_ID["m01_caseload"]  # a count: displayed values are rounded to 5; rebased
    months = pd.period_range("2024-01", periods=24, freq="M")
    exact = [101.0 + (i % 3) for i in range(24)]
    series = pd.DataFrame({
        "indicator_id": ind.id, "measure": 1, "period_type": "month", "period": months.astype(str),
        "period_start": months.start_time.date, "period_end": months.end_time.date,
        "geography_level": "locality", "geography": "East", "breakdown": "none", "group": "All",
        "numerator": exact, "denominator": np.nan, "value": exact, "lower_ci": np.nan, "upper_ci": np.nan,
        "suppressed": [i == 20 for i in range(24)],
    })
    series.loc[20, "value"] = 9999.0  # a hidden point must not move the limits
    go_live = pd.DataFrame([{"geography_level": "locality", "geography": "East", "event_date": date(2025, 1, 6),
                             "kind": "rollout", "label": "INT roll-out widens (X INT)", "rebase": True}])
    frame = spc_frame(series, ind, area_events=go_live)
    shown = [{101.0: 100.0, 102.0: 100.0, 103.0: 105.0}[v] for v in exact]
    gapped = xmr([v if i != 20 else np.nan for i, v in enumerate(shown)],
                 dates=pd.to_datetime(series["period_start"]), rebase=[date(2025, 1, 1)])
    assert frame["mean"].tolist() == gapped["mean"].round(ind.decimals).tolist()
    assert frame["segment"].tolist() == [0] * 12 + [1] * 12  # rebased in January 2025 (go-live 6 Jan)
    assert frame["event"].iloc[12] == "INT roll-out widens (X INT)" and frame["event"].iloc[:12].isna().all()
    assert frame["upper_limit"].tolist() == gapped["upper_limit"].round(ind.decimals).tolist()
    assert math.isnan(frame["value"].iloc[20]) and frame["mr"].isna().all()
    assert set(frame["value"].dropna()) <= {100.0, 105.0}  # displayed (rounded) counts only
    assert (frame["upper_limit"] == frame["upper_limit"].round(0)).all()
