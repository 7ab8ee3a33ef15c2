"""Tests for metrics.disclosure: the one small-number rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.disclosure import (
    DisclosureRule,
    apply,
    is_suppressed_mask,
    round_for_display,
    suppress_count,
)


@pytest.mark.parametrize(
    "x,expected",
    [
        (0, 0.0),
        (1, math.nan),
        (4, math.nan),
        (7, math.nan),
        (8, 8.0),
        (123, 123.0),
        (None, math.nan),
    ],
)
def test_suppress_count(x, expected):
    result = suppress_count(x)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected


def test_suppress_count_custom_rule():
    rule = DisclosureRule(max_suppressed=4)
    assert suppress_count(5, rule) == 5.0
    assert math.isnan(suppress_count(4, rule))


@pytest.mark.parametrize(
    "x,expected",
    [(0, 0.0), (8, 10.0), (12, 10.0), (12.5, 15.0), (13, 15.0), (2.5, 5.0), (1234, 1235.0)],
)
def test_round_for_display_halves_up(x, expected):
    assert round_for_display(x) == expected


def test_round_for_display_vectorised_and_nan():
    assert math.isnan(round_for_display(np.nan))
    arr = round_for_display(np.array([0, 17.5, np.nan, 22]))
    assert arr[0] == 0 and arr[1] == 20 and np.isnan(arr[2]) and arr[3] == 20
    ser = round_for_display(pd.Series([3.0, 8.0], index=[5, 6]))
    assert isinstance(ser, pd.Series) and list(ser.index) == [5, 6] and list(ser) == [5.0, 10.0]
    assert round_for_display(13, base=1) == 13


def results_frame() -> pd.DataFrame:
    rows = [
        # level, num, den, value, lo, hi, unit, ci_method          expected suppressed
        ("bsol", 3, 1000, 0.3, 0.1, 0.9, "%", "wilson"),  # 0 BSol: small counts shown
        ("locality", 3, 1000, 0.3, 0.1, 0.9, "%", "wilson"),  # 1 small numerator
        ("locality", 20, 6, 3.3, 1.0, 5.0, "ratio", "none"),  # 2 small denominator
        ("locality", 0, 1000, 0.0, 0.0, 0.4, "%", "wilson"),  # 3 zero is safe
        ("practice", 7, 500, 1.4, 0.6, 2.9, "%", "wilson"),  # 4 7 is inclusive
        ("practice", 8, 500, 1.6, 0.7, 3.1, "%", "wilson"),  # 5 8 is shown
        ("bsol", 9, 50000, 15.0, 7.0, 29.0, "per 100,000", "dobson"),  # 6 DSR < 10 even at BSol
        ("locality", 10, 50000, 17.0, 8.0, 31.0, "per 100,000", "dobson"),  # 7 DSR on 10 shown
        ("neighbourhood", np.nan, np.nan, 5.0, np.nan, np.nan, "count", None),  # 8 count value 5
        ("neighbourhood", np.nan, np.nan, 123.0, np.nan, np.nan, "count", None),  # 9 big count
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "geography_level",
            "numerator",
            "denominator",
            "value",
            "lower_ci",
            "upper_ci",
            "unit",
            "ci_method",
        ],
    )


EXPECTED = [False, True, True, False, True, False, True, False, True, False]


def test_is_suppressed_mask():
    df = results_frame()
    mask = is_suppressed_mask(df)
    assert mask.dtype == bool and mask.name == "suppressed"
    assert mask.tolist() == EXPECTED


def test_mask_without_optional_columns():
    df = results_frame()[["geography_level", "numerator"]]
    assert is_suppressed_mask(df).tolist()[:6] == [False, True, False, False, True, False]
    with pytest.raises(KeyError):
        is_suppressed_mask(df.drop(columns="numerator"))


def test_apply_suppresses_and_rounds_a_copy():
    df = results_frame()
    before = df.copy()
    out = apply(df)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out["suppressed"].tolist() == EXPECTED
    hidden = out[out["suppressed"]]
    for col in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        assert hidden[col].isna().all(), col
    # shown rows: counts rounded to 5, rates/percentages unrounded
    assert out.loc[0, "numerator"] == 5 and out.loc[0, "denominator"] == 1000
    assert out.loc[0, "value"] == 0.3
    assert out.loc[3, "numerator"] == 0 and out.loc[3, "value"] == 0.0
    assert out.loc[5, "numerator"] == 10 and out.loc[5, "value"] == 1.6
    assert out.loc[7, "numerator"] == 10
    assert out.loc[9, "value"] == 125  # a count measure's value is itself a count


def test_apply_honours_existing_flag_and_level_col():
    df = results_frame().rename(columns={"geography_level": "level"})
    df["suppressed"] = False
    df.loc[9, "suppressed"] = True
    out = apply(df, level_col="level")
    assert out["suppressed"].tolist() == EXPECTED[:9] + [True]
    assert math.isnan(out.loc[9, "value"])


def test_custom_rule_and_exempt_levels():
    df = results_frame()
    rule = DisclosureRule(
        max_suppressed=2, rounding=1, min_dsr_count=5, exempt_levels=("bsol", "place")
    )
    out = apply(df, rule)
    assert not out.loc[1, "suppressed"]  # 3 > 2
    assert out.loc[1, "numerator"] == 3  # no rounding
    assert not out.loc[6, "suppressed"]  # DSR on 9 >= 5
    df.loc[1, "geography_level"] = "place"
    df.loc[1, "numerator"] = 1
    assert not is_suppressed_mask(df, rule).iloc[1]


def test_rule_validation():
    with pytest.raises(ValueError):
        DisclosureRule(min_count=0)
    with pytest.raises(ValueError):
        DisclosureRule(min_count=5, max_suppressed=3)
    rule = DisclosureRule()
    with pytest.raises(AttributeError):
        rule.min_count = 2  # frozen


def test_empty_frame():
    df = results_frame().iloc[0:0]
    out = apply(df)
    assert len(out) == 0 and "suppressed" in out.columns


def test_bsol_breakdown_groups_are_small_areas_too() -> None:
    frame = pd.DataFrame({
        "geography_level": ["bsol", "bsol", "bsol"],
        "breakdown": ["none", "ethnicity", "imd_quintile"],
        "numerator": [5.0, 5.0, 40.0],
        "denominator": [100.0, 100.0, 100.0],
    })
    # BSol as a whole shows its 5; BSol x ethnic group with 5 people is hidden; 40 is fine.
    assert is_suppressed_mask(frame).tolist() == [False, True, False]
