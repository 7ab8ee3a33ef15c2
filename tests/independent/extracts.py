"""A small, tricky extract set for the independent check (FY 2024-25), written as a data team would send it.

Every row is here for a reason (see the comments in expected.py); no reference data is included,
since the app installs its own.
"""

from __future__ import annotations

from pathlib import Path

FILES: dict[str, str] = {
    "practice.csv": """practice_code,practice_name,pcn_code,neighbourhood_code,neighbourhood_name,locality,place
A81001,East Test Surgery,U10001,N01,East 1,East,Birmingham
B82002,Solihull Test Practice,U20002,N02,Solihull 1,Solihull,Solihull
""",
    "patient.csv": """patient_id,practice_code,lsoa_code,sex,birth_month,ethnic_category,care_home,date_of_death
P001,A81001,,F,1940-01-01,A,nursing,2024-05-10
P002,A81001,,M,1950-06-01,A,,2024-07-01
P003,B82002,,F,1958-01-01,H,,2025-01-05
P004,A81001,,M,1990-03-01,M,,
P005,B82002,,F,2015-05-01,D,,
P006,A81001,,M,1945-02-01,A,,2024-11-20
P007,B82002,,F,1938-07-01,A,,2025-03-15
P008,A81001,,M,1962-10-01,N,,2024-03-20
P009,A81001,,F,1948-09-01,A,,2024-12-01
P010,B82002,,M,1980-01-01,Z,,
P011,B82002,,F,2008-01-01,A,,
P012,B82002,,M,2008-06-01,A,,
P013,A81001,,F,1940-03-01,A,,
P014,A81001,,M,1945-04-01,A,,
P015,B82002,,F,1945-03-01,A,,
""",
    "population.csv": """financial_year,practice_code,sex,age_band_start,imd_quintile,ethnic_group,persons
2024-25,A81001,F,80,1,White,100
2024-25,A81001,M,70,1,White,200
2024-25,A81001,M,30,2,Asian,300
2024-25,B82002,F,65,5,White,150
2024-25,B82002,F,5,4,Mixed,50
2024-25,B82002,M,40,3,Black,200
""",
    "death.csv": """patient_id,date_of_death,place_of_death,underlying_cause,on_palliative_register,eol_care_plan
P001,2024-05-10,care_home,F03,yes,yes
P002,2024-07-01,hospital,I219,no,no
P006,2024-11-20,hospice,C349,yes,no
P007,2025-03-15,home,C509,no,yes
P009,2024-12-01,other,I64,no,no
P003,2025-01-05,religious_establishment,J440,no,no
P008,2024-03-20,hospital,I219,no,no
X099,2024-06-01,home,I219,no,no
""",
    "ucr_referral.csv": """referral_id,patient_id,referral_datetime,first_contact_datetime,two_hour_eligible,outcome
R1,P002,2024-04-02 10:00,2024-04-02 11:59,yes,managed_at_home
R2,P003,2024-05-01 09:00,2024-05-01 11:00,yes,managed_at_home
R3,P006,2024-06-01 09:00,2024-06-01 11:01,yes,conveyed
R4,P007,2024-07-01 09:00,,yes,unknown
R5,P009,2024-08-01 20:30,2024-08-01 21:00,no,other
R6,P010,2025-03-10 08:00,2025-03-10 09:00,yes,admitted
R7,P004,2024-03-15 09:00,2024-03-15 09:10,yes,managed_at_home
R8,X098,2024-09-01 09:00,2024-09-01 09:30,yes,managed_at_home
""",
    "inpatient_spell.csv": """spell_id,patient_id,admission_date,discharge_date,admission_method,primary_diagnosis,cause_code,discharge_ready_date,discharge_pathway,admitted_from_care_home
S1,P002,2024-04-01,2024-04-08,21,J440,,2024-04-05,1,no
S2,P003,2024-03-25,2024-04-02,11,M170,,2024-04-02,1,no
S3,P006,2024-09-01,2024-09-20,21,I500,,2024-09-10,1,no
S4,P007,2025-02-01,2025-02-06,21,J189,,2025-02-05,2,no
S5,P009,2024-10-01,2024-10-05,21,N390,,,1,no
S6,P004,2025-03-01,,21,K359,,2025-03-03,,no
S7,P010,2024-12-01,2024-12-09,22,K800,,2024-12-02,1,no
S8,P008,2024-03-01,2024-03-12,21,I219,,2024-03-10,1,no
S9,P002,2024-05-15,2024-05-20,22,I500,,,,no
S10,P005,2024-11-01,2024-11-03,21,J450,,,,no
S11,P005,2024-12-01,2024-12-01,11,J450,,,,no
S12,P012,2025-01-10,2025-01-12,21,G409,,,,no
S13,P004,2024-08-01,2024-08-02,21,E109,,,,no
S20,P005,2024-06-01,2024-06-09,21,J450,,2024-06-03,1,no
""",
    "gp_appointments.csv": """month,practice_code,booking_interval,status,appointments
2024-04-01,A81001,same_day,attended,100
2024-04-01,A81001,2_to_7_days,attended,50
2024-04-01,A81001,more_than_28_days,dna,10
2024-04-01,A81001,unknown,attended,40
2025-03-01,B82002,same_day,dna,20
2025-03-01,B82002,8_to_14_days,attended,30
2025-03-01,B82002,15_to_21_days,unknown,5
2024-03-01,A81001,same_day,attended,999
""",
    "care_home_admission.csv": """admission_id,patient_id,admission_date,setting,permanent,local_authority
C1,P002,2024-05-01,residential,yes,Birmingham
C2,P002,2024-06-15,nursing,yes,Birmingham
C3,P006,2024-06-01,residential,no,Birmingham
C4,P008,2024-02-01,nursing,yes,Birmingham
C5,P007,2025-03-01,nursing,yes,Solihull
C6,P009,2024-03-10,residential,yes,Birmingham
C7,P003,2024-10-01,residential,yes,Solihull
C8,P004,2024-08-01,nursing,yes,Birmingham
""",
    "int_team.csv": """int_team_code,int_team_name,locality,neighbourhood_code,go_live_date
INT01,East INT,East,N01,2024-01-01
INT02,Solihull INT,Solihull,N02,2024-01-01
""",
    "int_caseload.csv": """patient_id,int_team_code,start_date,end_date
P002,INT01,2024-04-01,2024-06-30
P002,INT02,2024-05-01,2024-06-20
P004,INT01,2023-06-01,2024-02-01
P010,INT02,2025-03-01,
""",
    "diabetes.csv": """snapshot_date,patient_id,diabetes_type,last_hba1c,last_systolic,last_diastolic
2024-12-31,P004,type2,90,150,95
2025-03-31,P004,type2,58,138,80
2025-03-31,P005,type1,50,100,60
2025-03-31,P010,type2,59,141,79
2025-03-31,P011,type1,40,,
2025-03-31,P012,type2,45,120,70
""",
    "hypertension.csv": """snapshot_date,patient_id,last_systolic,last_diastolic,ldl,non_hdl,cvd
2025-03-31,P004,140,90,,,
2025-03-31,P010,141,85,,,
2025-03-31,P013,150,90,,,
2025-03-31,P014,145,85,,,
2025-03-31,P015,145,85,,,
2025-03-31,P011,,,,,
""",
    "wound_prescribing.csv": """month,practice_code,bnf_code,items,actual_cost
2024-06-01,A81001,20030100018,10,5.0
2024-06-01,A81001,21040000000,7,3.5
2025-03-01,B82002,20010000000,3,1.5
2024-03-01,A81001,20030100018,100,50.0
""",
    "reablement_discharge.csv": """patient_id,hospital_discharge_date,service,status_91_days
P013,2024-10-15,reablement,at_home
P014,2024-11-20,rehabilitation,hospital
P015,2024-12-31,reablement,unknown
P009,2024-10-10,reablement,died
P004,2024-11-01,reablement,at_home
P013,2024-09-15,reablement,at_home
P015,2025-01-10,reablement,at_home
""",
}


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
