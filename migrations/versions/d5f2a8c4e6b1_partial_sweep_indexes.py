"""timer sweep: partial indexes for the due times

Revision ID: d5f2a8c4e6b1
Revises: c3e8f1a2d4b6
Create Date: 2026-12-06 20:30:00

The four (status, due time) indexes the timer sweep reads held every case ever raised
(NULL due times included), and every change of a case's status moved its entry inside
each of them. They now hold only what the sweep can find: a confirmation or information
window that is set, and response and resolution times of cases not closed. A case that
closes leaves them; a new case enters two instead of four.
"""
import sqlalchemy as sa
from alembic import op

revision = 'd5f2a8c4e6b1'
down_revision = 'c3e8f1a2d4b6'
branch_labels = None
depends_on = None

OPEN = "status != 'closed'"
INDEXES = [
    ('ix_case_status_confirmation_due', 'confirmation_due', 'confirmation_due IS NOT NULL'),
    ('ix_case_status_info_due', 'info_due', 'info_due IS NOT NULL'),
    ('ix_case_status_response_due', 'response_due', OPEN),
    ('ix_case_status_resolution_due', 'resolution_due', OPEN),
]


def upgrade():
    for name, column, where in INDEXES:
        op.drop_index(name, table_name='case')
        op.create_index(name, 'case', ['status', column], unique=False,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade():
    for name, column, _ in INDEXES:
        op.drop_index(name, table_name='case')
        op.create_index(name, 'case', ['status', column], unique=False)
