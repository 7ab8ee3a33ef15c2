"""A tiny hand-built dataset whose every indicator value is worked out by hand in test_measures.

Data end is 2024-06-30, so the reporting periods are April-June 2024 (months), 2024-25 Q1, and
financial year 2024-25 (to date). Two practices: P1 in East (Birmingham), P2 in Solihull.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

DATA_END = date(2024, 6, 30)


def _df(rows: list[tuple], cols: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=cols.split())


SPELL_CODING = ("patient_classification", "admission_source", "secondary_diagnoses", "procedure_codes")


def with_spell_coding(spells: pd.DataFrame, coding: dict[str, tuple] | None = None) -> pd.DataFrame:
    """Add the APC coding columns (empty = not recorded) and set `coding[spell_id]` in their order."""
    out = spells.copy()
    for col in SPELL_CODING:
        out[col] = pd.Series([None] * len(out), dtype=object)
    out["patient_classification"] = out["patient_classification"].astype("Int64")
    for sid, values in (coding or {}).items():
        row = out.index[out["spell_id"] == sid]
        assert len(row) == 1, sid
        for col, v in zip(SPELL_CODING, values, strict=True):
            out.loc[row, col] = v
    return out


def frames() -> dict[str, pd.DataFrame]:
    f: dict[str, pd.DataFrame] = {}
    f["practice"] = _df([
        ("Y90001", "Practice One", "U00001", "N01", "East One", "East", "Birmingham"),
        ("Y90002", "Practice Two", "U00002", "N02", "Solihull One", "Solihull", "Solihull"),
    ], "practice_code practice_name pcn_code neighbourhood_code neighbourhood_name locality place")
    f["lsoa"] = _df([
        ("E01000001", "Birmingham", "East", 1, 1),
        ("E01000002", "Solihull", "Solihull", 9, 5),
    ], "lsoa_code local_authority locality imd_decile imd_quintile")
    f["int_team"] = _df([("INT01", "East INT", "East", "N01", date(2023, 10, 1)),
                         ("INT02", "East Frailty INT", "East", "N01", date(2024, 4, 1))],
                        "int_team_code int_team_name locality neighbourhood_code go_live_date")
    # patients: a..f at P1 (East, Q1), g..j at P2 (Solihull, Q5)
    f["patient"] = _df([
        ("pat_a", "Y90001", "E01000001", "F", date(1940, 1, 1), "A", "nursing", None),   # 84
        ("pat_b", "Y90001", "E01000001", "M", date(1950, 7, 1), "H", None, None),        # 73/74
        ("pat_c", "Y90001", "E01000001", "F", date(2010, 3, 1), "N", None, None),        # 14
        ("pat_d", "Y90001", None, "M", date(1980, 5, 1), None, None, None),              # 44, no LSOA
        ("pat_e", "Y90001", "E01000001", "F", date(1935, 2, 1), "A", "nursing", date(2024, 5, 20)),
        ("pat_f", "Y90001", "E01000001", "M", date(1955, 9, 1), "M", None, None),
        ("pat_g", "Y90002", "E01000002", "F", date(1945, 6, 1), "A", None, None),
        ("pat_h", "Y90002", "E01000002", "M", date(1975, 1, 1), "A", None, date(2024, 4, 10)),
        ("pat_i", "Y90002", "E01000002", "F", date(1990, 1, 1), "Z", None, None),
        ("pat_j", "Y90002", "E01000002", "M", date(1960, 1, 1), "A", None, None),
        # pat_k turns 65 in June 2024 (born June 1959): 64 in May, 65 from 2024-06-01
        ("pat_k", "Y90002", "E01000002", "M", date(1959, 6, 1), "A", None, None),
        # pat_l died in a hospice on 2024-06-15: outside hospital, but not her usual residence
        ("pat_l", "Y90002", "E01000002", "F", date(1950, 2, 1), "A", None, date(2024, 6, 15)),
        # pat_m is 19 (born January 2005): one year too old for NHS OF 2.3.ii (under 19s)
        ("pat_m", "Y90001", "E01000001", "M", date(2005, 1, 1), "A", None, None),
    ], "patient_id practice_code lsoa_code sex birth_month ethnic_category care_home date_of_death")
    f["population"] = _df([
        ("2024-25", "Y90001", "F", 80, 1, "Asian", 1000),
        ("2024-25", "Y90001", "M", 70, 1, "Asian", 3000),
        ("2024-25", "Y90001", "F", 10, 1, "Black", 2000),
        ("2024-25", "Y90001", "M", 40, 0, "Not stated", 4000),
        ("2024-25", "Y90002", "F", 75, 5, "White", 2000),
        ("2024-25", "Y90002", "M", 45, 5, "White", 8000),
    ], "financial_year practice_code sex age_band_start imd_quintile ethnic_group persons")
    f["modelled_prevalence"] = _df([
        ("2024-25", "Y90001", "hypertension", 4.0), ("2024-25", "Y90002", "hypertension", 2.0),
        ("2024-25", "Y90001", "diabetes", 2.0), ("2024-25", "Y90002", "diabetes", 1.0),
    ], "financial_year practice_code condition expected_patients")
    f["int_caseload"] = _df([
        ("pat_a", "INT01", date(2024, 4, 1), None),              # whole quarter: 91 days
        ("pat_b", "INT01", date(2024, 5, 1), date(2024, 5, 31)),  # May only: 31 days
        ("pat_e", "INT01", date(2024, 4, 1), None),  # episode left open after death (2024-05-20): 50 days alive
        # pat_a is on a second team in May while still on INT01: her person-time is the union (not +31 days)
        ("pat_a", "INT02", date(2024, 5, 1), date(2024, 5, 31)),
    ], "patient_id int_team_code start_date end_date")
    f["inpatient_spell"] = _df([
        # id, patient, adm, dis, method, dx, cause, drd, pathway, from care home
        ("s1", "pat_a", date(2024, 4, 10), date(2024, 4, 20), "21", "S720", "W19X", date(2024, 4, 15), 1, True),
        ("s2", "pat_a", date(2024, 5, 2), date(2024, 5, 9), "21", "J44X", None, date(2024, 5, 9), 1, True),
        ("s3", "pat_b", date(2024, 5, 15), date(2024, 5, 30), "22", "I50X", None, date(2024, 5, 26), 2, False),
        ("s4", "pat_b", date(2024, 6, 3), date(2024, 6, 4), "11", "J44X", None, None, None, False),
        # s5: a child discharged a day after being ready (pathway 0): outside BCF's adult (18+) delay metric
        ("s5", "pat_c", date(2024, 6, 10), date(2024, 6, 12), "21", "J45X", None, date(2024, 6, 11), 0, False),
        ("s6", "pat_g", date(2024, 4, 5), date(2024, 4, 25), "21", "S060", "W01X", date(2024, 4, 20), 1, False),
        ("s7", "pat_f", date(2024, 6, 1), date(2024, 6, 8), "21", "E119", None, date(2024, 6, 2), 2, False),
        # s8: a fall at age 64 (pat_k's 65th birthday month is June): not in m09 (65+)
        ("s8", "pat_k", date(2024, 5, 15), date(2024, 5, 16), "21", "S000", "W19X", None, None, False),
        # s9: asthma at 44, emergency method "2A": in m16 (J45 prefix), not in m21 (under 20)
        # s9: an adult pathway 0 discharge one day after ready: in BCF's all-pathway delay metric
        ("s9", "pat_d", date(2024, 6, 20), date(2024, 6, 21), "2A", "J459", None, date(2024, 6, 20), 0, False),
        # s10: pat_e (nursing home at death) admitted from her own home, before she moved in: not m07
        ("s10", "pat_e", date(2024, 3, 20), date(2024, 3, 22), "21", "N390", None, None, None, False),
        # s11: pat_m, epilepsy at 19: not in m21 (under 19s)
        ("s11", "pat_m", date(2024, 5, 25), date(2024, 5, 26), "21", "G409", None, None, None, False),
    ], "spell_id patient_id admission_date discharge_date admission_method primary_diagnosis cause_code discharge_ready_date discharge_pathway admitted_from_care_home")
    # every spell an ordinary admission (classification 1) from home (source 19), nothing else coded
    f["inpatient_spell"] = with_spell_coding(f["inpatient_spell"], {
        sid: (1, "19", None, None) for sid in f["inpatient_spell"]["spell_id"]})
    f["ae_attendance"] = _df([
        ("a1", "pat_a", datetime(2024, 4, 3, 10, 0), "01", False),
        ("a2", "pat_c", datetime(2024, 4, 7, 12, 0), "03", True),
        ("a3", "pat_g", datetime(2024, 5, 7, 12, 0), "03", True),
        ("a4", "pat_i", datetime(2024, 6, 7, 12, 0), "03", False),
    ], "attendance_id patient_id arrival_datetime department_type wound_care")
    f["community_contact"] = _df([("c1", "pat_a", date(2024, 4, 2), "community", "District nursing")],
                                 "contact_id patient_id contact_date setting service")
    f["social_care_package"] = _df([("k1", "pat_a", date(2024, 4, 2), None, "home_care", "Birmingham")],
                                   "package_id patient_id start_date end_date package_type local_authority")
    f["care_home_admission"] = _df([
        ("h1", "pat_b", date(2024, 4, 20), "residential", True, "Birmingham"),
        ("h2", "pat_g", date(2024, 5, 20), "nursing", True, "Solihull"),
        ("h3", "pat_j", date(2024, 5, 21), "nursing", True, "Solihull"),       # aged 64: excluded
        ("h4", "pat_f", date(2024, 6, 21), "residential", False, "Birmingham"),  # respite: excluded
        ("h5", "pat_k", date(2024, 6, 3), "nursing", True, "Solihull"),        # aged 65 (birthday month): included
        ("h6", "pat_b", date(2024, 6, 10), "nursing", True, "Birmingham"),     # residential -> nursing: a transfer
    ], "admission_id patient_id admission_date setting permanent local_authority")
    f["ucr_referral"] = _df([
        ("u1", "pat_a", datetime(2024, 4, 1, 9, 0), datetime(2024, 4, 1, 10, 30), True, "managed_at_home"),
        ("u2", "pat_b", datetime(2024, 4, 2, 9, 0), datetime(2024, 4, 2, 11, 30), True, "conveyed"),
        ("u3", "pat_g", datetime(2024, 5, 2, 9, 0), datetime(2024, 5, 2, 11, 0), True, "managed_at_home"),
        ("u4", "pat_j", datetime(2024, 5, 3, 9, 0), datetime(2024, 5, 4, 9, 0), False, "unknown"),
    ], "referral_id patient_id referral_datetime first_contact_datetime two_hour_eligible outcome")
    f["reablement_discharge"] = _df([
        ("pat_a", date(2023, 10, 20), "reablement", "at_home"),
        ("pat_b", date(2023, 11, 30), "rehabilitation", "hospital"),
        ("pat_g", date(2023, 10, 25), "reablement", "at_home"),
        ("pat_i", date(2023, 11, 1), "reablement", "at_home"),   # aged 33: excluded
        ("pat_f", date(2024, 1, 15), "reablement", "at_home"),   # Q4: not in the FY (Q3) cohort
        ("pat_g", date(2024, 5, 1), "reablement", "at_home"),    # 91 days not over by 2024-06-30
    ], "patient_id hospital_discharge_date service status_91_days")
    f["death"] = _df([
        ("pat_e", date(2024, 5, 20), "care_home", "F03X", True, False),
        ("pat_h", date(2024, 4, 10), "hospital", "I219", False, False),
        ("pat_l", date(2024, 6, 15), "hospice", "C349", True, False),
    ], "patient_id date_of_death place_of_death underlying_cause on_palliative_register eol_care_plan")
    snap = date(2024, 6, 30)
    f["smoking_status"] = _df([
        (snap, "pat_a", "never", date(2020, 1, 1), None, True),          # recorded 2020: outside the 12 months
        (snap, "pat_b", "current", date(2023, 7, 1), date(2024, 2, 1), True),   # first day of the 12 months
        (snap, "pat_d", "current", date(2024, 1, 1), date(2022, 2, 1), False),  # no SMOK002 condition
        (snap, "pat_f", "not_recorded", None, None, True),
        (snap, "pat_g", "ex", date(2023, 6, 30), None, True),            # one day before the 12 months
        (snap, "pat_j", "current", date(2024, 1, 1), date(2023, 7, 1), True),  # referred on the first day of the 12 months to the snapshot
        (snap, "pat_c", "current", date(2024, 3, 1), date(2024, 4, 1), True),  # aged 14: outside the 15+ population
    ], "snapshot_date patient_id status status_date referral_date ltc_register")
    f["hypertension"] = _df([
        (snap, "pat_a", 148, 85, 2.1, 2.5, True),   # age 84: <=150/90 ok; CVD: LDL 2.1 > 2.0 fails (LDL wins over non-HDL 2.5)
        (snap, "pat_b", 145, 80, 1.9, 3.0, True),   # age 73: 145 > 140 fail; CVD: LDL 1.9 ok
        (snap, "pat_f", 130, 85, 3.0, 3.5, False),  # BP ok; no CVD: not in the lipid (secondary prevention) denominator
        (snap, "pat_g", None, None, None, None, True),  # no readings: fail both
    ], "snapshot_date patient_id last_systolic last_diastolic ldl non_hdl cvd")
    f["diabetes"] = _df([
        (snap, "pat_b", "type2", 55.0, 138, 78),
        (snap, "pat_j", "type2", 70.0, 150, 90),
        (snap, "pat_c", "type1", 50.0, 118, 70),   # aged 14: outside the 17+ register population
    ], "snapshot_date patient_id diabetes_type last_hba1c last_systolic last_diastolic")
    f["gp_appointment"] = _df([
        ("g1", "pat_a", date(2024, 4, 5), "attended"),
        ("g2", "pat_a", date(2024, 5, 5), "attended"),
        ("g3", "pat_a", date(2024, 5, 6), "dna"),
        ("g4", "pat_b", date(2024, 5, 10), "attended"),
        ("g5", "pat_b", date(2024, 6, 10), "attended"),  # after caseload end
    ], "appointment_id patient_id appointment_date status")
    m4, m5 = date(2024, 4, 1), date(2024, 5, 1)
    f["gp_appointments"] = _df([
        (m4, "Y90001", "same_day", "attended", 300),
        (m4, "Y90001", "2_to_7_days", "attended", 500),
        (m4, "Y90001", "more_than_28_days", "attended", 100),
        (m4, "Y90001", "unknown", "attended", 100),
        (m4, "Y90002", "same_day", "attended", 400),
        (m4, "Y90002", "8_to_14_days", "dna", 600),
        (m5, "Y90001", "same_day", "attended", 1000),
    ], "month practice_code booking_interval status appointments")
    f["wound_prescribing"] = _df([
        (m4, "Y90001", "2001010A0AAAAAA", 50, 120.0),
        (m4, "Y90002", "2001010A0AAAAAA", 30, 60.0),
        (m4, "Y90001", "0601060D0AAA0AA", 40, 90.0),   # glucose test strips (BNF 6.1.6): not wound care
    ], "month practice_code bnf_code items actual_cost")
    m6 = date(2024, 6, 1)
    f["gp_workforce"] = _df([
        (m6, "Y90001", "gp", 5.0, 6, 0, 1),
        (m6, "Y90001", "nurse", 1.7, 3, 1, 0),   # 1.7 is not exact in a 4-byte float (1.70000005)
        (m6, "Y90001", "admin", 8.0, 9, 0, 2),
        (m6, "Y90002", "gp", 4.0, 4, 0, 0),
        (m6, "Y90002", "dpc", 1.0, 2, 0, 1),
    ], "month practice_code staff_group fte headcount joiners leavers")
    f["standard_population"] = _df(list(zip(range(0, 95, 5), [
        5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
        4000, 2500, 1500, 1000], strict=True)), "age_band_start persons")
    f["ethnicity_code"] = _df([
        ("A", "British", "White"), ("H", "Indian", "Asian"), ("M", "Caribbean", "Black"),
        ("N", "African", "Black"), ("Z", "Not stated", "Not stated"),
    ], "code description ethnic_group")
    f["code_list"] = _df([
        ("acsc_chronic", "J44", "COPD", "test", "1"), ("acsc_chronic", "I50", "CHF", "test", "1"),
        ("acsc_chronic", "E11", "Diabetes", "test", "1"), ("acsc_chronic", "J45", "Asthma", "test", "1"),
        ("injury_diagnosis", "S", "Injury", "test", "1"), ("falls_cause", "W01", "Fall", "test", "1"),
        ("falls_cause", "W19", "Fall", "test", "1"), ("cyp_ltc", "J45", "Asthma", "test", "1"),
        ("cyp_ltc", "G40", "Epilepsy", "test", "1"),
        ("wound_bnf", "20", "Dressings", "test", "1"),
    ], "list_name code_prefix description source version")
    return f
