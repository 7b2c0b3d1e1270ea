"""search: cases by their category (a catalogue row's name finds its cases)

Revision ID: d1f3b5a7c9e2
Revises: c5e8a2f4b6d1
Create Date: 2026-12-07 16:20:00

A case whose subject is its catalogue row stores no copy of the name (c5e2a8f4d7b1); the
queue search finds it through the row's name in any language, as `category_id IN (the few
matching rows)`. Without an index on `case.category_id` that branch alone reads every case.
"""
from alembic import op

revision = 'd1f3b5a7c9e2'
down_revision = 'c5e8a2f4b6d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_case_category', 'case', ['category_id'], unique=False)


def downgrade():
    op.drop_index('ix_case_category', table_name='case')
