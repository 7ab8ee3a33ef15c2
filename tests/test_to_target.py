"""Patients needed to reach the target (CVDPREVENT style), worked by hand from the definition:
ceil(target share x denominator - numerator) where positive, from the counts as displayed."""

from __future__ import annotations

import math

import pandas as pd

from layouts import views
from layouts.filters import Filters
from metrics.catalogue import INDICATORS, INDICATORS_BY_ID
from metrics.results import patients_to_target

BP = INDICATORS_BY_ID["m12_hypertension_bp_target"]  # target 80%
DETECTION = INDICATORS_BY_ID["m11_hypertension_detection"]  # target 80% of expected


def _rows(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["numerator", "denominator", "suppressed"])


def test_gap_is_rounded_up_and_zero_when_met() -> None:
    shown = _rows((700, 1000, False),   # 0.8 x 1000 = 800; 800 - 700 = 100
                  (801, 1000, False),   # above 80%: 0
                  (800, 1000, False),   # exactly 80%: 0
                  (55, 70, False),      # 0.8 x 70 = 56; 56 - 55 = 1
                  (0, 9, False),        # 7.2 -> 8
                  (20, 30, True),       # suppressed: no figure
                  (None, 30, False))    # numerator hidden: no figure
    got = patients_to_target(shown, BP).tolist()
    assert got[:5] == [100, 0, 0, 1, 8]
    assert math.isnan(got[5]) and math.isnan(got[6])


def test_detection_gap_uses_the_modelled_expected_denominator() -> None:
    # register 950 of an expected 1234.5: 0.8 x 1234.5 = 987.6; 987.6 - 950 = 37.6 -> 38
    assert patients_to_target(_rows((950, 1234.5, False)), DETECTION).tolist() == [38]


def test_only_register_and_treatment_indicators_with_a_target() -> None:
    flagged = {i.id for i in INDICATORS if i.patients_to_target}
    assert flagged == {"m11_hypertension_detection", "m12_hypertension_bp_target"}
    assert all(INDICATORS_BY_ID[i].target is not None for i in flagged)
    other = INDICATORS_BY_ID["m05_ucr_2h"]  # has a target, but its gap is not a number of patients
    assert patients_to_target(_rows((10, 20, False)), other).isna().all()


def test_table_by_locality_neighbourhood_and_imd_quintile() -> None:
    base = dict(indicator_id=BP.id, period_type="quarter", period="2024-25 Q1", lower_ci=None, upper_ci=None)
    frame = pd.DataFrame([
        {**base, "geography_level": "bsol", "geography": "BSol", "breakdown": "none", "group": "All",
         "numerator": 7000, "denominator": 10000, "value": 70.0, "suppressed": False},
        {**base, "geography_level": "locality", "geography": "East", "breakdown": "none", "group": "All",
         "numerator": 1500, "denominator": 2000, "value": 75.0, "suppressed": False},
        {**base, "geography_level": "neighbourhood", "geography": "East 1", "breakdown": "none", "group": "All",
         "numerator": 90, "denominator": 100, "value": 90.0, "suppressed": False},
        {**base, "geography_level": "locality", "geography": "East", "breakdown": "imd_quintile",
         "group": "Q1 (most deprived)", "numerator": 333, "denominator": 500, "value": 66.6, "suppressed": False},
    ])
    table = views.to_target_table(frame, BP, Filters("East"), "2024-25 Q1", None)
    got = dict(zip(table["Area"] + "|" + table["Group"], table["Patients needed"], strict=True))
    # BSol 8000 - 7000; East 1600 - 1500; East 1 met; East Q1 400 - 333
    assert got == {"BSol|All": 1000, "East|All": 100, "East 1 (neighbourhood)|All": 0, "East|Q1 (most deprived)": 67}
