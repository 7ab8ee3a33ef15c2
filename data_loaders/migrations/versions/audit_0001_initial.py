"""Audit tables: audit_log (who did what, when) and app_user (local accounts).

They sit in the main database on PostgreSQL and in a SQLite file beside an embedded DuckDB file,
so they are their own chain with their own version table (alembic_version_audit).

Revision ID: audit_0001
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'audit_0001'
down_revision = None
branch_labels = ('audit',)
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.supports_sequences:  # the id's sequence (SQLite numbers rows itself)
        op.execute(sa.schema.CreateSequence(sa.Sequence("audit_log_id_seq")))
    op.create_table('app_user',
        sa.Column('username', sa.String(length=320), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('locality', sa.String(length=40), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username'),
        comment='Local accounts for AUTH_MODE=password (small deployments); beside the audit log.'
    )
    op.create_table('audit_log',
        sa.Column('id', sa.Integer(), sa.Sequence('audit_log_id_seq'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        comment='Who did what and when: sign-ins (and failures), loads, exports, packs, exact exports.'
    )


def downgrade() -> None:
    op.drop_table('audit_log')
    op.drop_table('app_user')
    if op.get_bind().dialect.supports_sequences:
        op.execute(sa.schema.DropSequence(sa.Sequence("audit_log_id_seq")))
