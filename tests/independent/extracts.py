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
P016,A81001,,F,1942-05-01,A,,
P017,A81001,,M,1952-01-01,A,,
P018,B82002,,F,1957-08-01,A,,
P019,B82002,,M,1982-06-01,A,,
P020,A81001,,M,1952-03-01,A,,
P021,A81001,,F,1943-02-01,A,,
P022,A81001,,M,1991-07-01,A,,
P023,B82002,,F,1958-04-01,A,,
P024,B82002,,M,1983-01-01,A,,
P025,A81001,,F,1941-09-01,A,,
P026,A81001,,U,1950-01-01,A,,
P027,A81001,,M,1949-05-01,A,,
P028,B82002,,F,1959-03-01,A,,
P029,B82002,,M,1981-10-01,A,,
P030,A81001,,F,1958-06-01,A,,
""",
    "population.csv": """financial_year,practice_code,sex,age_band_start,imd_quintile,ethnic_group,persons
2024-25,A81001,F,80,1,White,100
2024-25,A81001,M,70,1,White,200
2024-25,A81001,M,30,2,Asian,300
2024-25,B82002,F,65,5,White,150
2024-25,B82002,F,5,4,Mixed,50
2024-25,B82002,M,40,3,Black,200
2024-25,A81001,M,75,1,White,50
2024-25,B82002,M,15,3,Black,40
2024-25,B82002,F,80,5,White,100
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
    "inpatient_spell.csv": """spell_id,patient_id,admission_date,discharge_date,admission_method,primary_diagnosis,cause_code,discharge_ready_date,discharge_pathway,admitted_from_care_home,patient_classification,admission_source,secondary_diagnoses,procedure_codes
S1,P002,2024-04-01,2024-04-08,21,J440,,2024-04-05,1,no,1,19,,
S2,P003,2024-03-25,2024-04-02,11,M170,,2024-04-02,1,no,1,19,,
S3,P006,2024-09-01,2024-09-20,21,I500,,2024-09-10,1,no,1,19,,
S4,P007,2025-02-01,2025-02-06,21,J189,,2025-02-05,2,no,1,19,,
S5,P009,2024-10-01,2024-10-05,21,N390,,,1,no,1,19,,
S6,P004,2025-03-01,,21,K359,,2025-03-03,,no,1,19,,
S7,P010,2024-12-01,2024-12-09,22,K800,,2024-12-02,1,no,1,19,,
S8,P008,2024-03-01,2024-03-12,21,I219,,2024-03-10,1,no,1,19,,
S9,P002,2024-05-15,2024-05-20,22,I500,,,,no,1,19,,
S10,P005,2024-11-01,2024-11-03,21,J450,,,,no,1,19,,
S11,P005,2024-12-01,2024-12-01,11,J450,,,,no,1,19,,
S12,P012,2025-01-10,2025-01-12,21,G409,,,,no,1,19,,
S13,P004,2024-08-01,2024-08-02,21,E109,,,,no,1,19,,
S20,P005,2024-06-01,2024-06-09,21,J450,,2024-06-03,1,no,1,19,,
T01,P016,2024-07-10,2024-07-14,21,I489,,,,no,1,19,,
T02,P017,2024-08-15,2024-08-17,21,I491,,,,no,1,19,,
T03,P018,2024-10-02,2024-10-04,21,I209,,,,no,1,19,,U202
T04,P019,2024-11-05,2024-11-08,21,I209,,,,no,1,19,,U202 K634
T05,P020,2024-06-20,2024-06-25,21,I500,,,,no,1,19,,K634
T06,P020,2025-01-15,2025-01-25,21,I500,,,,no,1,19,,K571
T07,P021,2024-12-01,2024-12-05,21,J200,,,,no,1,19,J449,
T08,P021,2025-02-10,2025-02-12,21,J209,,,,no,1,19,E119,
T09,P022,2024-09-09,2024-09-09,21,E119,,,,no,2,19,,
T10,P022,2025-01-20,2025-01-23,21,E119,,,,no,1,51,,
T11,P023,2024-05-05,2024-05-09,21,J449,,,,no,1,,,
T12,P023,2024-07-07,2024-07-10,21,J449,,,,no,1,53,,
T13,P024,2025-03-31,,21,G409,,,,no,1,19,,
T14,P024,2024-03-31,2024-04-03,21,G409,,,,no,1,19,,
T15,P025,2024-10-10,2024-10-12,11,F03,,,,no,1,19,,
T16,P025,2025-01-05,2025-01-09,2D,F03,,,,no,1,54,,
T17,P026,2024-09-01,2024-09-04,21,J449,,,,no,1,19,,
T18,X097,2024-09-01,2024-09-04,21,J449,,,,no,1,19,,
T19,P027,2024-07-01,2024-07-03,21,B181,,,,no,1,19,D571,
T20,P027,2024-12-12,2024-12-14,21,B181,,,,no,1,19,,
T21,P028,2024-08-08,2024-08-10,21,D500,,,,no,1,19,,
T22,P028,2025-02-02,2025-02-04,21,D509,,,,no,1,19,,
T23,P029,2024-06-06,2024-06-08,21,J449,,,,no,,19,,
T24,P029,2024-09-19,2024-09-21,21,I10X,,,,no,1,19,,
T25,P030,2024-10-20,2024-10-22,21,I119,,,,no,1,19,,K601
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
