"""Tests for metrics.disclosure: the one disclosure policy and its one function, protect.

Expected values are worked by hand from the NHS Digital HES rule (suppress 1-7, round to 5, derived
figures from the rounded counts) and the published interval formulas, not read from the code.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metrics.disclosure import (
    Col,
    DisclosurePolicy,
    Kind,
    apply,
    complementary,
    is_suppressed_mask,
    pinned_relations,
    protect,
    rolling_relations,
    secondary_suppression,
)
from metrics.disclosure import Hierarchy as H

POLICY = DisclosurePolicy()


def test_small_and_round() -> None:
    assert POLICY.small(np.array([0, 1, 4, 7, 8, np.nan])).tolist() == [False, True, True, True, False, False]
    # halves up (not banker's rounding): 2.5 -> 5, 12.5 -> 15, 8 -> 10, 13 -> 15
    assert POLICY.round(np.array([2.5, 12.5, 8, 13, 0, np.nan]))[:5].tolist() == [5, 15, 10, 15, 0]
    assert DisclosurePolicy(rounding=1).round(np.array([13.0])).tolist() == [13]


def results_frame() -> pd.DataFrame:
    rows = [
        # level, num, den, value, lo, hi, unit, ci_method, aggregation, multiplier     expected suppressed
        ("bsol", 3, 1000, 0.3, 0.1, 0.9, "percent", "wilson", "ratio", 100),  # 0 BSol is below England too
        ("locality", 3, 1000, 0.3, 0.1, 0.9, "percent", "wilson", "ratio", 100),  # 1 small numerator
        ("locality", 20, 6, 3.3, 1.0, 5.0, "ratio", "none", "ratio", 1),  # 2 small denominator
        ("locality", 0, 1000, 0.0, 0.0, 0.4, "percent", "wilson", "ratio", 100),  # 3 zero is safe
        ("practice", 7, 500, 1.4, 0.6, 2.9, "percent", "wilson", "ratio", 100),  # 4 7 is inclusive
        ("practice", 8, 500, 1.6, 0.7, 3.1, "percent", "wilson", "ratio", 100),  # 5 8 is shown (as 10)
        ("bsol", 9, 50000, 15.0, 7.0, 29.0, "per 100,000", "dobson", "dsr", 1e5),  # 6 DSR < 10
        ("locality", 10, 50000, 17.0, 8.0, 31.0, "per 100,000", "dobson", "dsr", 1e5),  # 7 DSR on 10 shown
        ("neighbourhood", 5, np.nan, 5.0, np.nan, np.nan, "count", "none", "count", 1),  # 8 count 5
        ("neighbourhood", 123, np.nan, 123.0, np.nan, np.nan, "count", "none", "count", 1),  # 9 big count
    ]
    return pd.DataFrame(rows, columns=["geography_level", "numerator", "denominator", "value", "lower_ci",
                                       "upper_ci", "unit", "ci_method", "aggregation", "multiplier"])


EXPECTED = [True, True, True, False, True, False, True, False, True, False]


def test_row_rules() -> None:
    mask = is_suppressed_mask(results_frame())
    assert mask.dtype == bool and mask.name == "suppressed"
    assert mask.tolist() == EXPECTED


def test_protect_results_hides_rounds_and_derives_from_rounded_counts() -> None:
    df = results_frame()
    before = df.copy()
    out = apply(df)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out["suppressed"].tolist() == EXPECTED
    hidden = out[out["suppressed"]]
    for col in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        assert hidden[col].isna().all(), col
    # Row 5: 8 of 500 -> shown 10 of 500; value 10/500 = 2.0% (not the exact 1.6%), Wilson on 10/500:
    # z = 1.959964, p = 0.02: centre (2*10 + z^2)/(2*(500 + z^2)), half-width z*sqrt(z^2 + 4*10*(1 - 10/500))/(2*(500+z^2))
    z = 1.959963984540054
    centre, half = (20 + z * z) / (2 * (500 + z * z)), z * math.sqrt(z * z + 40 * (1 - 10 / 500)) / (2 * (500 + z * z))
    assert out.loc[5, "numerator"] == 10 and out.loc[5, "denominator"] == 500
    assert out.loc[5, "value"] == pytest.approx(2.0)
    assert out.loc[5, "lower_ci"] == pytest.approx((centre - half) * 100)
    assert out.loc[5, "upper_ci"] == pytest.approx((centre + half) * 100)
    assert out.loc[3, "numerator"] == 0 and out.loc[3, "value"] == 0.0  # zero shown, no contradiction
    # Row 7 (DSR, Dobson): value scaled to the rounded count (10 -> 10: unchanged).
    assert out.loc[7, "numerator"] == 10 and out.loc[7, "value"] == pytest.approx(17.0)
    assert out.loc[9, "value"] == 125 and out.loc[9, "numerator"] == 125  # a count measure's value is a count


def test_rates_from_rounded_counts_cannot_be_inverted() -> None:
    # 58 events in 192.712 person-years (the m02 example): shown 60, value 60/192.712.
    df = pd.DataFrame({"geography_level": ["bsol"], "numerator": [58.0], "denominator": [192.712],
                       "value": [58 / 192.712], "lower_ci": [0.0], "upper_ci": [0.0], "unit": ["per_person_year"],
                       "ci_method": ["byar"], "aggregation": ["rate"], "multiplier": [1.0],
                       "denominator_disclosive": [False]})
    out = apply(df)
    assert out.loc[0, "numerator"] == 60 and out.loc[0, "denominator"] == pytest.approx(192.712)
    assert out.loc[0, "value"] * 192.712 == pytest.approx(60)
    # Byar limits of 60 (count >= 10): 60 (1 - 1/540 - z/(3 sqrt 60))^3 and 61 (1 - 1/549 + z/(3 sqrt 61))^3
    z = 1.959963984540054
    lo = 60 * (1 - 1 / 540 - z / (3 * math.sqrt(60))) ** 3
    hi = 61 * (1 - 1 / 549 + z / (3 * math.sqrt(61))) ** 3
    assert out.loc[0, "lower_ci"] * 192.712 == pytest.approx(lo)
    assert out.loc[0, "upper_ci"] * 192.712 == pytest.approx(hi)


def test_policy_validation_and_frozen() -> None:
    with pytest.raises(ValueError):
        DisclosurePolicy(min_count=0)
    with pytest.raises(ValueError):
        DisclosurePolicy(min_count=5, max_suppressed=3)
    with pytest.raises(AttributeError):
        POLICY.min_count = 2  # type: ignore[misc]


def test_custom_policy_and_exempt_level() -> None:
    df = results_frame()
    out = apply(df, DisclosurePolicy(max_suppressed=2, rounding=1, min_dsr_count=5, exempt_levels=("bsol",)))
    assert not out.loc[1, "suppressed"] and out.loc[1, "numerator"] == 3  # 3 > 2, no rounding
    assert not out.loc[6, "suppressed"]  # DSR on 9 >= 5


def test_empty_frame() -> None:
    out = apply(results_frame().iloc[0:0])
    assert len(out) == 0 and "suppressed" in out.columns


def test_protect_kinds() -> None:
    frame = pd.DataFrame({"team": ["A", "B"], "people": [6.0, 40.0], "pre": [30.0, 3.0], "post": [12.0, 22.0],
                          "py": [3.0, 20.0], "rate": [10.0, 0.15], "total_days": [100.0, 200.0]})

    def derive(exact: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
        shown["rate"] = shown["pre"] / shown["py"]
        return shown

    spec = {"people": Kind.COUNT, "pre": Col(Kind.COUNT, row=False), "post": Col(Kind.COUNT, row=False),
            "py": Kind.PERSON_TIME, "rate": Col(Kind.VALUE, basis=("people", "pre")), "total_days": Kind.TOTAL}
    out = protect(frame, spec, POLICY, derive=derive)
    assert out["suppressed"].tolist() == [True, True]
    assert out.loc[0, ["people", "pre", "post", "py", "rate"]].isna().all()  # 6 people hide the row
    assert math.isnan(out.loc[1, "pre"]) and math.isnan(out.loc[1, "rate"])  # pre 3 hides pre and its rate
    assert out.loc[1, "post"] == 20 and out.loc[1, "people"] == 40 and out.loc[1, "py"] == 20
    assert out["total_days"].isna().all()
    assert out["team"].tolist() == ["A", "B"]


def test_complementary_hides_the_smallest_other_cell() -> None:
    frame = pd.DataFrame({"set": ["x"] * 4 + ["y"] * 3, "n": [5.0, 0.0, 40.0, 0.0, 20.0, 30.0, 50.0]})
    hidden = np.array([True, False, False, False, False, False, False])
    out = complementary(frame, hidden, [["set"]], "n")
    # set x: the first of the two zeros (smallest, then first by position) joins the 5; set y untouched
    assert out.tolist() == [True, True, False, False, False, False, False]


def test_secondary_suppression_breakdowns_and_areas() -> None:
    # m04-like: BSol total 40 shown; ethnic group White 5 hidden, all other groups 0 -> White = 40 - 0.
    rows = [("bsol", "BSol", "none", "All", 40.0)]
    rows += [("bsol", "BSol", "ethnicity", g, n) for g, n in (("White", 5.0), ("Asian", 0.0), ("Black", 35.0))]
    rows += [("place", "Birmingham", "none", "All", 34.0), ("place", "Solihull", "none", "All", 6.0)]
    frame = pd.DataFrame(rows, columns=["geography_level", "geography", "breakdown", "group", "numerator"])
    frame = frame.assign(indicator_id="m04", period_type="quarter", period="Q1", aggregation="ratio")
    primary = (frame["numerator"] <= 7) & (frame["numerator"] >= 1)
    hier = H({("place", "Birmingham"): ("bsol", "BSol"), ("place", "Solihull"): ("bsol", "BSol")})
    out = secondary_suppression(frame, primary.to_numpy(), hier)
    # White and the smallest other group (Asian, 0) hidden; Solihull (6) forces Birmingham hidden too.
    assert out.tolist() == [False, True, True, False, True, True]


def test_complementary_unpins_two_hidden_cells_that_rounding_gives_back() -> None:
    """Worked by hand: parts 12, 12, 7, 7 (total 38, shown 40 = 38-42; the 12s shown 10 = 8-12, so
    16-24 together): the hidden pair sums to 14-26, and two counts of at most 7 can only be 7 and 7.
    With the policy, secondary suppression hides the smallest visible cell too; set b (10, [c], 0)
    is the classic one-hidden-cell case and gets its zero hidden, as before."""
    import pandas as pd

    from metrics.disclosure import complementary, pinned_sets

    f = pd.DataFrame({"s": ["a"] * 4 + ["b"] * 3, "n": [12, 12, 7, 7, 10, 3, 0]})
    primary = POLICY.small(f["n"])
    assert list(pinned_sets(f["s"].factorize()[0], primary, f["n"].to_numpy(float), POLICY)) == [0]
    assert complementary(f, primary, [["s"]], "n").tolist() == [False, False, True, True, False, True, True]
    assert complementary(f, primary, [["s"]], "n", POLICY).tolist() == [True, False, True, True, False, True, True]
    # 13 instead of 12 (shown 15 = 13-17): total 39 (38-42) less 21-29 visible: the pair sums to 9-21 -> each 2-7, not pinned
    g = f.assign(n=[13, 12, 7, 7, 10, 3, 0])
    assert complementary(g, POLICY.small(g["n"]), [["s"]], "n", POLICY).tolist()[:4] == [False, False, True, True]


def _rolling(rows: list[tuple[str, str, float]], series: str = "x") -> pd.DataFrame:
    base = {"indicator_id": series, "geography_level": "bsol", "geography": "BSol", "breakdown": "none", "group": "All"}
    return pd.DataFrame([{**base, "period_type": t, "period_end": e, "numerator": v} for t, e, v in rows])


def test_rolling_relations_pair_consecutive_windows_with_the_months_they_differ_by() -> None:
    frame = _rolling([("month", "2023-12-31", 7), ("rolling_12m", "2024-11-30", 50), ("month", "2024-12-31", 1),
                      ("rolling_12m", "2024-12-31", 40), ("rolling_12m", "2025-02-28", 44)])
    # R(Dec 24) = row 3, R(Nov 24) = row 1, M(Dec 24) = row 2, M(Dec 23) = row 0; Feb 25 has no Jan 25 window
    assert rolling_relations(frame, ["x"]).tolist() == [[3, 1, 2, 0]]
    assert rolling_relations(frame, ["other"]).shape == (0, 4)  # not an event count: no relation
    no_back = _rolling([("rolling_12m", "2024-11-30", 50), ("rolling_12m", "2024-12-31", 40), ("month", "2024-12-31", 1)])
    assert rolling_relations(no_back, ["x"]).tolist() == [[1, 0, 2, -1]]  # no December 2023 row: an exact 0


def test_rolling_differences_that_pin_a_hidden_month_hide_one_more_cell() -> None:
    """Worked by hand, rounding to 5 (a shown 40 is 38-42, 45 is 43-47, 50 is 48-52, 10 is 8-12)."""
    def pinned(r_now: float, r_before: float, m_now: float, m_back: float, hidden: list[bool]) -> bool:
        frame = _rolling([("rolling_12m", "2024-12-31", r_now), ("rolling_12m", "2024-11-30", r_before),
                          ("month", "2024-12-31", m_now), ("month", "2023-12-31", m_back)])
        cells = rolling_relations(frame, ["x"])
        return bool(pinned_relations(cells, np.array(hidden), frame["numerator"].to_numpy(float), POLICY)[0])

    # 40 - 50: M(t) - M(t-12) in [-14, -6]; both primaries (1-7) -> M(t) = 1, M(t-12) = 7: pinned
    assert pinned(40, 50, 1, 7, [False, False, True, True])
    # 45 - 45: the difference is in [-4, 4] -> neither month pinned
    assert not pinned(45, 45, 3, 3, [False, False, True, True])
    # M(t-12) shown 10: M(t) in [-7 + 8, -3 + 12] = [1, 9], within 1-7 not one value
    assert not pinned(40, 45, 4, 10, [False, False, True, False])
    # R(t-1) hidden too (a large count, only known >= 0): nothing pins
    assert not pinned(40, 50, 1, 7, [False, True, True, True])
    # complementary suppression hides the smaller visible rolling total (40) and then nothing pins
    frame = _rolling([("rolling_12m", "2024-12-31", 40), ("rolling_12m", "2024-11-30", 50),
                      ("month", "2024-12-31", 1), ("month", "2023-12-31", 7)])
    cells = rolling_relations(frame, ["x"])
    out = complementary(frame, np.array([False, False, True, True]), [], "numerator", POLICY, cells)
    assert out.tolist() == [True, False, True, True]
    assert not pinned_relations(cells, out, frame["numerator"].to_numpy(float), POLICY).any()
