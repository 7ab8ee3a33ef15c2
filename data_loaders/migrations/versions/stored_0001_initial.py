"""Stored tables as they were when migrations began: every extract table, load_log and dataset_info.

Derived tables (measure_result, prepost_result, inequality_result, chart_event) are not here:
the refresh rebuilds them (data_loaders.migrate).

Revision ID: stored_0001
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'stored_0001'
down_revision = None
branch_labels = ('stored',)
depends_on = None


def upgrade() -> None:
    op.create_table('ae_attendance',
        sa.Column('attendance_id', sa.String(length=200), nullable=False, comment='Attendance identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('arrival_datetime', sa.DateTime(), nullable=False, comment='Arrival date and time.'),
        sa.Column('department_type', sa.String(length=2), nullable=False, comment='ECDS department type: 01 major A&E, 02 single specialty, 03 UTC/MIU, 04 walk-in.'),
        sa.Column('wound_care', sa.Boolean(), nullable=False, comment='Attendance for wound care (ECDS diagnosis in the wound-care SNOMED list).'),
        comment='A&E and UTC attendances'
    )
    op.create_table('care_home_admission',
        sa.Column('admission_id', sa.String(length=200), nullable=False, comment='Admission identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('admission_date', sa.Date(), nullable=False, comment='Date of admission to the care home.'),
        sa.Column('setting', sa.String(length=200), nullable=False, comment='Residential or nursing.'),
        sa.Column('permanent', sa.Boolean(), nullable=False, comment='Permanent (long-term) admission rather than respite/short stay.'),
        sa.Column('local_authority', sa.String(length=200), nullable=False, comment='Supporting local authority.'),
        comment='Admissions to residential and nursing care'
    )
    op.create_table('code_list',
        sa.Column('list_name', sa.String(length=200), nullable=False, comment='Code list name (e.g. acsc_chronic).'),
        sa.Column('code_prefix', sa.String(length=200), nullable=False, comment='ICD-10 (no dot) or BNF code prefix.'),
        sa.Column('description', sa.String(length=200), nullable=False, comment='What the code means.'),
        sa.Column('source', sa.String(length=200), nullable=False, comment='Where the list comes from.'),
        sa.Column('version', sa.String(length=200), nullable=False, comment='Version or date of the list.'),
        comment='Clinical code lists'
    )
    op.create_table('community_contact',
        sa.Column('contact_id', sa.String(length=200), nullable=False, comment='Contact identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('contact_date', sa.Date(), nullable=False, comment='Contact date.'),
        sa.Column('setting', sa.String(length=200), nullable=False, comment='Outpatient or community.'),
        sa.Column('service', sa.String(length=200), nullable=False, comment='Service or specialty.'),
        comment='Outpatient and community contacts'
    )
    op.create_table('dataset_info',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=True),
        comment='Facts about the loaded data: demo or real, generator seed and size, data end date.'
    )
    op.create_table('death',
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('date_of_death', sa.Date(), nullable=False, comment='Date of death.'),
        sa.Column('place_of_death', sa.String(length=200), nullable=False, comment='Place of death (ONS place-of-death type).'),
        sa.Column('underlying_cause', sa.String(length=5), nullable=False, comment='Underlying cause of death, ICD-10.'),
        sa.Column('on_palliative_register', sa.Boolean(), nullable=False, comment='On the GP palliative care register before death.'),
        sa.Column('eol_care_plan', sa.Boolean(), nullable=False, comment='Had a recorded end-of-life care plan (e.g. ReSPECT/PPC) before death.'),
        comment='Deaths'
    )
    op.create_table('diabetes',
        sa.Column('snapshot_date', sa.Date(), nullable=False, comment='Quarter-end snapshot (last day of June, September, December, March).'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('diabetes_type', sa.String(length=200), nullable=False, comment='Type 1, type 2 or other.'),
        sa.Column('last_hba1c', sa.Float(precision=53), nullable=True, comment='Latest HbA1c in the 12 months (mmol/mol).'),
        sa.Column('last_systolic', sa.Integer(), nullable=True, comment='Latest systolic BP in the 12 months (mmHg).'),
        sa.Column('last_diastolic', sa.Integer(), nullable=True, comment='Latest diastolic BP in the 12 months (mmHg).'),
        comment='Diabetes register (GP)'
    )
    op.create_table('ethnicity_code',
        sa.Column('code', sa.String(length=2), nullable=False, comment='NHS ethnic category code.'),
        sa.Column('description', sa.String(length=200), nullable=False, comment='Code description.'),
        sa.Column('ethnic_group', sa.String(length=200), nullable=False, comment='ONS 2021 high-level group.'),
        comment='NHS ethnic category codes'
    )
    op.create_table('gp_appointment',
        sa.Column('appointment_id', sa.String(length=200), nullable=False, comment='Appointment identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('appointment_date', sa.Date(), nullable=False, comment='Appointment date.'),
        sa.Column('status', sa.String(length=200), nullable=False, comment='Attended or did not attend.'),
        comment='GP appointments (INT caseload patients)'
    )
    op.create_table('gp_appointments',
        sa.Column('month', sa.Date(), nullable=False, comment='First day of the calendar month the figures cover.'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('booking_interval', sa.String(length=200), nullable=False, comment='Time between booking and appointment.'),
        sa.Column('status', sa.String(length=200), nullable=False, comment='Appointment status.'),
        sa.Column('appointments', sa.Integer(), nullable=False, comment='Number of appointments.'),
        comment='Appointments in General Practice (practice level)'
    )
    op.create_table('gp_workforce',
        sa.Column('month', sa.Date(), nullable=False, comment='First day of the calendar month the figures cover.'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('staff_group', sa.String(length=200), nullable=False, comment='Staff group.'),
        sa.Column('fte', sa.Float(precision=53), nullable=False, comment='Full-time equivalent (37.5 hours).'),
        sa.Column('headcount', sa.Integer(), nullable=False, comment='Headcount.'),
        sa.Column('joiners', sa.Integer(), nullable=False, comment='Joiners in the quarter (headcount).'),
        sa.Column('leavers', sa.Integer(), nullable=False, comment='Leavers in the quarter (headcount).'),
        comment='General practice workforce (practice level)'
    )
    op.create_table('hypertension',
        sa.Column('snapshot_date', sa.Date(), nullable=False, comment='Quarter-end snapshot (last day of June, September, December, March).'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('last_systolic', sa.Integer(), nullable=True, comment='Latest systolic BP in the 12 months to the snapshot (mmHg).'),
        sa.Column('last_diastolic', sa.Integer(), nullable=True, comment='Latest diastolic BP in the 12 months to the snapshot (mmHg).'),
        sa.Column('ldl', sa.Float(precision=53), nullable=True, comment='Latest LDL cholesterol in the 12 months (mmol/L).'),
        sa.Column('non_hdl', sa.Float(precision=53), nullable=True, comment='Latest non-HDL cholesterol in the 12 months (mmol/L).'),
        sa.Column('cvd', sa.Boolean(), nullable=True, comment='Also on a cardiovascular disease register (CHD, stroke/TIA or PAD): the CVDPREVENT secondary-prevention lipid population; empty counts as no.'),
        comment='Hypertension register (GP)'
    )
    op.create_table('inpatient_spell',
        sa.Column('spell_id', sa.String(length=200), nullable=False, comment='Spell identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('admission_date', sa.Date(), nullable=False, comment='Admission date.'),
        sa.Column('discharge_date', sa.Date(), nullable=True, comment='Discharge date; empty if still in hospital.'),
        sa.Column('admission_method', sa.String(length=2), nullable=False, comment='NHS Data Dictionary admission method (2x = emergency).'),
        sa.Column('primary_diagnosis', sa.String(length=5), nullable=False, comment='Primary diagnosis, ICD-10 without the dot (first episode).'),
        sa.Column('cause_code', sa.String(length=5), nullable=True, comment='External cause ICD-10 code (V01-Y98), if any.'),
        sa.Column('discharge_ready_date', sa.Date(), nullable=True, comment='Date the patient was clinically ready for discharge.'),
        sa.Column('discharge_pathway', sa.Integer(), nullable=True, comment='Discharge pathway 0-3 (1 = home with support, 2 = intermediate care bed).'),
        sa.Column('admitted_from_care_home', sa.Boolean(), nullable=False, comment='Admitted from a care home (usual residence or admission source).'),
        comment='Inpatient spells'
    )
    op.create_table('int_caseload',
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('int_team_code', sa.String(length=200), nullable=False, comment='INT code.'),
        sa.Column('start_date', sa.Date(), nullable=False, comment='Date the patient joined the caseload (INT involvement began).'),
        sa.Column('end_date', sa.Date(), nullable=True, comment='Date the patient left the caseload; empty if still on it.'),
        comment='INT caseload'
    )
    op.create_table('int_team',
        sa.Column('int_team_code', sa.String(length=200), nullable=False, comment='INT code.'),
        sa.Column('int_team_name', sa.String(length=200), nullable=False, comment="INT name as used in reports (e.g. 'East INT')."),
        sa.Column('locality', sa.String(length=200), nullable=False, comment='Locality the team serves.'),
        sa.Column('neighbourhood_code', sa.String(length=200), nullable=True, comment='Neighbourhood served; empty for a locality-wide team.'),
        sa.Column('go_live_date', sa.Date(), nullable=False, comment='Date the team took its first caseload patient.'),
        comment='Integrated Neighbourhood Teams'
    )
    op.create_table('load_log',
        sa.Column('load_id', sa.String(length=36), nullable=False),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.Column('extract', sa.String(length=64), nullable=True),
        sa.Column('file_name', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        comment='Every load attempt: what, when, content hash, rows and outcome.'
    )
    op.create_table('lsoa',
        sa.Column('lsoa_code', sa.String(length=9), nullable=False, comment='LSOA 2011 code.'),
        sa.Column('local_authority', sa.String(length=200), nullable=False, comment='Local authority.'),
        sa.Column('locality', sa.String(length=200), nullable=False, comment='Locality the LSOA lies in.'),
        sa.Column('imd_decile', sa.Integer(), nullable=False, comment='IMD 2019 national decile (1 = most deprived 10%).'),
        sa.Column('imd_quintile', sa.Integer(), nullable=False, comment='IMD 2019 national quintile (1 = most deprived 20%).'),
        comment='LSOA lookup'
    )
    op.create_table('modelled_prevalence',
        sa.Column('financial_year', sa.String(length=7), nullable=False, comment='Financial year, e.g. 2024-25.'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('condition', sa.String(length=200), nullable=False, comment='Condition.'),
        sa.Column('expected_patients', sa.Float(precision=53), nullable=False, comment='Modelled expected number of patients.'),
        comment='Modelled (expected) prevalence'
    )
    op.create_table('patient',
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('lsoa_code', sa.String(length=9), nullable=True, comment='LSOA of residence; empty when unknown.'),
        sa.Column('sex', sa.String(length=200), nullable=False, comment='Sex: F, M or U (unknown).'),
        sa.Column('birth_month', sa.Date(), nullable=False, comment='First day of the month of birth (no day, for disclosure control).'),
        sa.Column('ethnic_category', sa.String(length=2), nullable=True, comment='NHS ethnic category code; empty when not recorded.'),
        sa.Column('care_home', sa.String(length=200), nullable=True, comment='Lives in a care home: residential or nursing; empty otherwise.'),
        sa.Column('date_of_death', sa.Date(), nullable=True, comment='Date of death, empty if alive.'),
        comment='Patient spine'
    )
    op.create_table('population',
        sa.Column('financial_year', sa.String(length=7), nullable=False, comment='Financial year, e.g. 2024-25.'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('sex', sa.String(length=200), nullable=False, comment='Sex.'),
        sa.Column('age_band_start', sa.Integer(), nullable=False, comment='Lower bound of the 5-year age band (90 = 90+).'),
        sa.Column('imd_quintile', sa.Integer(), nullable=False, comment='IMD 2019 quintile of residence (0 = LSOA unknown).'),
        sa.Column('ethnic_group', sa.String(length=200), nullable=False, comment='ONS 2021 high-level ethnic group.'),
        sa.Column('persons', sa.Integer(), nullable=False, comment='Registered patients.'),
        comment='Registered population denominators'
    )
    op.create_table('practice',
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('practice_name', sa.String(length=200), nullable=False, comment='Practice name.'),
        sa.Column('pcn_code', sa.String(length=200), nullable=False, comment='Primary Care Network code.'),
        sa.Column('neighbourhood_code', sa.String(length=200), nullable=False, comment='Neighbourhood code (aligned to the PCN).'),
        sa.Column('neighbourhood_name', sa.String(length=200), nullable=False, comment='Neighbourhood name.'),
        sa.Column('locality', sa.String(length=200), nullable=False, comment='Locality.'),
        sa.Column('place', sa.String(length=200), nullable=False, comment='Place (Place Committee area).'),
        comment='GP practices'
    )
    op.create_table('reablement_discharge',
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('hospital_discharge_date', sa.Date(), nullable=False, comment='Date of discharge from hospital.'),
        sa.Column('service', sa.String(length=200), nullable=False, comment='Reablement or rehabilitation.'),
        sa.Column('status_91_days', sa.String(length=200), nullable=False, comment='Where the person was 91 days after discharge.'),
        comment='Discharges into reablement / rehabilitation'
    )
    op.create_table('smoking_status',
        sa.Column('snapshot_date', sa.Date(), nullable=False, comment='Quarter-end snapshot (last day of June, September, December, March).'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('status', sa.String(length=200), nullable=False, comment='Latest smoking status.'),
        sa.Column('status_date', sa.Date(), nullable=True, comment='Date the status was recorded.'),
        sa.Column('referral_date', sa.Date(), nullable=True, comment='Latest referral to NHS Stop Smoking Services.'),
        sa.Column('ltc_register', sa.Boolean(), nullable=True, comment='On any register of the QOF SMOK002 population (CHD, PAD, stroke/TIA, hypertension, diabetes, COPD, CKD, asthma, schizophrenia, bipolar disorder or other psychoses) at the snapshot; empty counts as not on one.'),
        comment='Smoking status (GP)'
    )
    op.create_table('social_care_package',
        sa.Column('package_id', sa.String(length=200), nullable=False, comment='Package identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('start_date', sa.Date(), nullable=False, comment='Package start date.'),
        sa.Column('end_date', sa.Date(), nullable=True, comment='Package end date; empty if open.'),
        sa.Column('package_type', sa.String(length=200), nullable=False, comment='Type of package.'),
        sa.Column('local_authority', sa.String(length=200), nullable=False, comment='Funding local authority.'),
        comment='Social care packages'
    )
    op.create_table('standard_population',
        sa.Column('age_band_start', sa.Integer(), nullable=False, comment='Lower bound of the 5-year age band (90 = 90+).'),
        sa.Column('persons', sa.Integer(), nullable=False, comment='Standard population weight.'),
        comment='European Standard Population 2013'
    )
    op.create_table('ucr_referral',
        sa.Column('referral_id', sa.String(length=200), nullable=False, comment='Referral identifier.'),
        sa.Column('patient_id', sa.String(length=64), nullable=False, comment='Pseudonymised patient identifier (same pseudonymisation key in every extract).'),
        sa.Column('referral_datetime', sa.DateTime(), nullable=False, comment='Referral received date and time.'),
        sa.Column('first_contact_datetime', sa.DateTime(), nullable=True, comment='First face-to-face contact date and time.'),
        sa.Column('two_hour_eligible', sa.Boolean(), nullable=False, comment='Referral within the 2-hour standard (clinically urgent, 8am-8pm, 7 days).'),
        sa.Column('outcome', sa.String(length=200), nullable=False, comment='Outcome of the UCR episode.'),
        comment='Urgent Community Response referrals'
    )
    op.create_table('wound_prescribing',
        sa.Column('month', sa.Date(), nullable=False, comment='First day of the calendar month the figures cover.'),
        sa.Column('practice_code', sa.String(length=6), nullable=False, comment='GP practice code (ODS).'),
        sa.Column('bnf_code', sa.String(length=200), nullable=False, comment='BNF presentation code.'),
        sa.Column('items', sa.Integer(), nullable=False, comment='Prescription items.'),
        sa.Column('actual_cost', sa.Float(precision=53), nullable=False, comment='Actual cost (GBP).'),
        comment='Wound-care prescribing (practice level)'
    )


def downgrade() -> None:
    op.drop_table('wound_prescribing')
    op.drop_table('ucr_referral')
    op.drop_table('standard_population')
    op.drop_table('social_care_package')
    op.drop_table('smoking_status')
    op.drop_table('reablement_discharge')
    op.drop_table('practice')
    op.drop_table('population')
    op.drop_table('patient')
    op.drop_table('modelled_prevalence')
    op.drop_table('lsoa')
    op.drop_table('load_log')
    op.drop_table('int_team')
    op.drop_table('int_caseload')
    op.drop_table('inpatient_spell')
    op.drop_table('hypertension')
    op.drop_table('gp_workforce')
    op.drop_table('gp_appointments')
    op.drop_table('gp_appointment')
    op.drop_table('ethnicity_code')
    op.drop_table('diabetes')
    op.drop_table('death')
    op.drop_table('dataset_info')
    op.drop_table('community_contact')
    op.drop_table('code_list')
    op.drop_table('care_home_admission')
    op.drop_table('ae_attendance')
