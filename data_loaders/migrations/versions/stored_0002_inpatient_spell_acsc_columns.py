"""inpatient_spell: patient_classification, admission_source, secondary_diagnoses, procedure_codes.

The columns the chronic ACSC exclusions need (NHS Digital CCG OIS 2.6: CLASSPAT, ADMISORC,
DIAG_3_CONCAT, OPERTN_3_CONCAT). Optional values: rows loaded before this revision keep NULL.

Revision ID: stored_0002
Revises: stored_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'stored_0002'
down_revision = 'stored_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('inpatient_spell', sa.Column('patient_classification', sa.Integer(), nullable=True, comment='NHS Data Dictionary patient classification: 1 ordinary admission, 2 day case, 3 regular day attender, 4 regular night attender, 5 mothers and babies using only delivery facilities; empty when not recorded.'))
    op.add_column('inpatient_spell', sa.Column('admission_source', sa.String(length=2), nullable=True, comment='NHS Data Dictionary admission source, two digits (e.g. 19 usual place of residence, 51-53 transfer from another hospital provider); empty when not recorded.'))
    op.add_column('inpatient_spell', sa.Column('secondary_diagnoses', sa.String(length=119), nullable=True, comment='Secondary diagnoses of the first episode, ICD-10 codes without the dot separated by single spaces (at most 20); empty when none are recorded.'))
    op.add_column('inpatient_spell', sa.Column('procedure_codes', sa.String(length=119), nullable=True, comment='Procedures of the first episode, OPCS-4 codes without the dot separated by single spaces, primary procedure first (at most 24); empty when none were done or recorded.'))


def downgrade() -> None:
    op.drop_column('inpatient_spell', 'procedure_codes')
    op.drop_column('inpatient_spell', 'secondary_diagnoses')
    op.drop_column('inpatient_spell', 'admission_source')
    op.drop_column('inpatient_spell', 'patient_classification')
