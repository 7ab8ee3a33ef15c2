"""A hand-built caseload whose pre/post table is worked out by hand in tests/test_prepost.py.

Data 2023-04-01 to 2024-06-30, window 6 months. Two practices (Y90001 East, Y90002 West), two
INTs (INT01 East INT, INT02 West INT). Every event's fate is in its comment.

Cases (on a caseload):
  pat_a  INT01 2023-10-15 (re-joins 2024-03-01: ignored). pre [2023-04-15, 2023-10-15),
         post [2023-10-15, 2024-04-15): the window-boundary person.
  pat_b  INT01 2023-11-30, dies 2024-02-29 in the post window (post person-time 92 days).
  pat_c  INT02 2023-12-31: month-end clipping, pre [2023-06-30, ...), post [..., 2024-06-30).
  pat_d  INT02 2023-11-01 and INT01 2024-01-01: counted in both teams, once in Total (at
         2023-11-01). Its INT01 post window ends 2024-07-01 = data end + 1 day: just eligible.
  pat_e  INT01 2023-09-30: pre window starts 2023-03-30, before the data -> excluded.
  pat_f  INT02 2024-01-02: post window ends 2024-07-02, after the data -> excluded.
  pat_g  INT01 2023-10-01: pre window starts exactly at the data start -> included.
  pat_h  INT02 2023-10-10 but recorded dead 2023-09-01 -> excluded (data error).
Controls (never on a caseload; East, Q1): ctl1, ctl2 match pat_g (F, 65-74, prior band 2 at
pseudo-index 2023-10-01); ctl3 is band 0; ctl4 is male; ctl5 died before the pseudo-index.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from data_loaders.calendar import DATA_START  # noqa: F401  (re-exported: tests import it from here)
from tests.kat_data import _df, with_spell_coding

DATA_END = date(2024, 6, 30)


def _ae(i: int, pid: str, when: datetime) -> tuple:
    return (f"a{i}", pid, when, "01", False)


def frames() -> dict[str, pd.DataFrame]:
    f: dict[str, pd.DataFrame] = {}
    f["practice"] = _df([
        ("Y90001", "Practice One", "U00001", "N01", "East One", "East", "Birmingham"),
        ("Y90002", "Practice Two", "U00002", "N02", "West One", "West", "Birmingham"),
    ], "practice_code practice_name pcn_code neighbourhood_code neighbourhood_name locality place")
    f["lsoa"] = _df([
        ("E01000001", "Birmingham", "East", 1, 1),
        ("E01000002", "Birmingham", "West", 9, 5),
    ], "lsoa_code local_authority locality imd_decile imd_quintile")
    f["int_team"] = _df([
        ("INT01", "East INT", "East", "N01", date(2023, 10, 1)),
        ("INT02", "West INT", "West", "N02", date(2023, 10, 1)),
    ], "int_team_code int_team_name locality neighbourhood_code go_live_date")
    e, w = ("Y90001", "E01000001"), ("Y90002", "E01000002")
    f["patient"] = _df([
        ("pat_a", *e, "F", date(1940, 1, 1), "A", None, None),             # 83 at index: 75-84
        ("pat_b", *e, "M", date(1945, 5, 1), "H", None, date(2024, 2, 29)),  # 78: 75-84
        ("pat_c", *w, "F", date(1960, 2, 1), "A", None, None),
        ("pat_d", *e, "M", date(1970, 1, 1), None, None, None),            # 54 at INT01 start
        ("pat_e", *e, "F", date(1930, 6, 1), "A", None, None),             # 93: 85+
        ("pat_f", *w, "M", date(1955, 1, 1), "A", None, None),
        ("pat_g", *e, "F", date(1950, 3, 1), "A", None, None),             # 73: 65-74
        ("pat_h", *w, "F", date(1935, 1, 1), "A", None, date(2023, 9, 1)),
        ("ctl1", *e, "F", date(1949, 11, 1), "A", None, None),            # 73 at 2023-10-01
        ("ctl2", *e, "F", date(1955, 1, 1), "A", None, None),             # 68
        ("ctl3", *e, "F", date(1952, 1, 1), "A", None, None),             # 71, no events
        ("ctl4", *e, "M", date(1950, 1, 1), "A", None, None),             # male
        ("ctl5", *e, "F", date(1950, 1, 1), "A", None, date(2023, 9, 15)),  # dead before 10-01
    ], "patient_id practice_code lsoa_code sex birth_month ethnic_category care_home date_of_death")
    f["population"] = _df([
        ("2023-24", "Y90001", "F", 65, 1, "White", 100),
        ("2023-24", "Y90001", "F", 75, 1, "White", 60),
        ("2023-24", "Y90001", "M", 45, 1, "Asian", 200),
        ("2023-24", "Y90001", "M", 85, 1, "Asian", 40),
        ("2023-24", "Y90002", "F", 60, 5, "Black", 500),
    ], "financial_year practice_code sex age_band_start imd_quintile ethnic_group persons")
    f["int_caseload"] = _df([
        ("pat_a", "INT01", date(2023, 10, 15), date(2024, 1, 31)),
        ("pat_a", "INT01", date(2024, 3, 1), None),                # re-join: ignored
        ("pat_b", "INT01", date(2023, 11, 30), date(2024, 2, 29)),
        ("pat_c", "INT02", date(2023, 12, 31), None),
        ("pat_d", "INT02", date(2023, 11, 1), date(2023, 12, 20)),
        ("pat_d", "INT01", date(2024, 1, 1), None),
        ("pat_e", "INT01", date(2023, 9, 30), None),
        ("pat_f", "INT02", date(2024, 1, 2), None),
        ("pat_g", "INT01", date(2023, 10, 1), None),
        ("pat_h", "INT02", date(2023, 10, 10), None),
    ], "patient_id int_team_code start_date end_date")
    f["gp_appointment"] = _df([
        ("g_a1", "pat_a", date(2023, 5, 1), "attended"),    # a pre
        ("g_a2", "pat_a", date(2023, 10, 14), "attended"),  # a pre (day before index)
        ("g_a3", "pat_a", date(2023, 9, 1), "dna"),         # not counted: DNA
        ("g_a4", "pat_a", date(2024, 3, 5), "attended"),    # a post (after the re-join: no reset)
        ("g_c1", "pat_c", date(2023, 7, 15), "attended"),   # c pre
        ("g_c2", "pat_c", date(2024, 1, 15), "unknown"),    # not counted: status unknown
        ("g_d1", "pat_d", date(2023, 6, 1), "attended"),    # d: INT02/Total pre; before INT01 pre
        ("g_d2", "pat_d", date(2023, 12, 1), "attended"),   # d: INT02/Total post; INT01 pre
        ("g_d3", "pat_d", date(2024, 6, 1), "attended"),    # d: INT01 post; after INT02/Total post
        ("g_e1", "pat_e", date(2023, 10, 5), "attended"),   # e excluded
    ], "appointment_id patient_id appointment_date status")
    f["ae_attendance"] = _df([
        _ae(1, "pat_a", datetime(2023, 4, 14, 23, 0)),   # excluded: day before index - 6 months
        _ae(2, "pat_a", datetime(2023, 4, 15, 0, 30)),   # pre: exactly index - 6 months
        _ae(3, "pat_a", datetime(2023, 10, 15, 9, 0)),   # post: the index day
        _ae(4, "pat_a", datetime(2024, 4, 14, 22, 0)),   # post: last day of the post window
        _ae(5, "pat_a", datetime(2024, 4, 15, 1, 0)),    # excluded: index + 6 months
        _ae(6, "pat_b", datetime(2023, 7, 1, 10, 0)),    # pre
        _ae(7, "pat_b", datetime(2023, 7, 2, 10, 0)),    # pre
        _ae(8, "pat_b", datetime(2024, 1, 5, 10, 0)),    # post
        _ae(9, "pat_c", datetime(2023, 6, 29, 12, 0)),   # excluded (31 Dec - 6 months = 30 Jun)
        _ae(10, "pat_c", datetime(2023, 6, 30, 12, 0)),  # pre
        _ae(11, "pat_c", datetime(2024, 6, 29, 12, 0)),  # post
        _ae(12, "pat_c", datetime(2024, 6, 30, 12, 0)),  # excluded: index + 6 months
        _ae(13, "pat_d", datetime(2023, 12, 15, 8, 0)),  # d: INT02/Total post; INT01 pre
        _ae(14, "pat_e", datetime(2023, 10, 1, 8, 0)),   # e excluded
        _ae(15, "pat_f", datetime(2024, 2, 1, 8, 0)),    # f excluded
        _ae(16, "pat_g", datetime(2023, 5, 1, 8, 0)),    # g pre
        _ae(17, "pat_g", datetime(2023, 9, 30, 8, 0)),   # g pre
        _ae(18, "pat_h", datetime(2023, 8, 1, 8, 0)),    # h excluded
        _ae(19, "ctl1", datetime(2023, 5, 10, 8, 0)),    # controls (pseudo-index 2023-10-01)
        _ae(20, "ctl1", datetime(2023, 6, 10, 8, 0)),
        _ae(21, "ctl2", datetime(2023, 7, 1, 8, 0)),
        _ae(22, "ctl2", datetime(2024, 1, 1, 8, 0)),
        _ae(23, "ctl4", datetime(2023, 5, 1, 8, 0)),
        _ae(24, "ctl4", datetime(2023, 6, 1, 8, 0)),
        _ae(25, "ctl5", datetime(2023, 5, 1, 8, 0)),
        _ae(26, "ctl5", datetime(2023, 6, 1, 8, 0)),
    ], "attendance_id patient_id arrival_datetime department_type wound_care")
    spell_cols = ("spell_id patient_id admission_date discharge_date admission_method primary_diagnosis "
                  "cause_code discharge_ready_date discharge_pathway admitted_from_care_home")

    def spell(sid: str, pid: str, day: date, method: str = "21") -> tuple:
        return (sid, pid, day, day, method, "J44X", None, None, None, False)

    f["inpatient_spell"] = with_spell_coding(_df([
        spell("s_a1", "pat_a", date(2023, 6, 1)),          # a pre
        spell("s_a2", "pat_a", date(2023, 6, 20), "11"),   # a pre (elective: all methods count)
        spell("s_a3", "pat_a", date(2024, 1, 10)),         # a post
        spell("s_b1", "pat_b", date(2024, 2, 29)),         # b post, on the day of death
        spell("s_c1", "ctl2", date(2023, 8, 1)),           # control pre
    ], spell_cols))
    f["community_contact"] = _df([
        ("c_a1", "pat_a", date(2023, 12, 1), "community", "District nursing"),  # a post
        ("c_b1", "pat_b", date(2023, 11, 29), "outpatient", "Cardiology"),      # b pre
        ("c_c1", "pat_c", date(2023, 12, 30), "community", "Podiatry"),         # c pre
        ("c_c2", "pat_c", date(2023, 12, 31), "community", "Podiatry"),         # c post
        ("c_g1", "pat_g", date(2023, 11, 1), "community", "District nursing"),  # g post
        ("c_g2", "pat_g", date(2023, 12, 1), "community", "District nursing"),  # g post
        ("c_g3", "pat_g", date(2024, 3, 31), "community", "District nursing"),  # g post
        ("c_g4", "pat_g", date(2024, 4, 1), "community", "District nursing"),   # excluded
        ("c_x1", "ctl1", date(2023, 11, 10), "community", "District nursing"),  # control post
    ], "contact_id patient_id contact_date setting service")
    f["social_care_package"] = _df([
        ("k_a1", "pat_a", date(2023, 8, 1), None, "home_care", "Birmingham"),   # a pre
    ], "package_id patient_id start_date end_date package_type local_authority")
    return f
