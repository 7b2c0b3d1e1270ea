"""dashboard: maintained case counters (case_tally), per-office date indexes, active-queue, sweep and attachment indexes

Revision ID: a1c3e5f7b9d2
Revises: 112979b214e1
Create Date: 2026-11-29 10:14:00

The counters are filled from the cases already in the database, so an upgraded
portal shows the same numbers as before, only faster.
"""
from alembic import op
import sqlalchemy as sa


revision = 'a1c3e5f7b9d2'
down_revision = '112979b214e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_tally',
        sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('breached', sa.Boolean(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('rating_sum', sa.Integer(), nullable=False),
        sa.Column('rating_n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_id', 'kind', 'category_id', 'priority', 'status', 'breached',
                                name=op.f('pk_case_tally')),
    )
    op.create_index('ix_case_office_created', 'case', ['current_office_id', 'created_at'], unique=False)
    op.create_index('ix_case_office_closed', 'case', ['current_office_id', 'closed_at'], unique=False)
    op.create_index('ix_case_office_active', 'case', ['current_office_id', 'created_at', 'id'], unique=False,
                    postgresql_where=sa.text("status != 'closed'"), sqlite_where=sa.text("status != 'closed'"))
    # the case page loads each timeline row's attachments by event
    op.create_index(op.f('ix_attachment_event_id'), 'attachment', ['event_id'], unique=False)
    # the timer sweep's "resolution overdue" rule reads only due rows
    op.create_index('ix_case_status_resolution_due', 'case', ['status', 'resolution_due'], unique=False)
    op.execute(
        'INSERT INTO case_tally (office_id, kind, category_id, priority, status, breached, n, '
        'rating_sum, rating_n) '
        'SELECT c.current_office_id, c.kind, COALESCE(c.category_id, 0), c.priority, c.status, '
        'c.sla_breached, COUNT(*), COALESCE(SUM(f.rating), 0), COUNT(f.rating) '
        'FROM "case" c LEFT OUTER JOIN feedback f ON f.case_id = c.id '
        'GROUP BY c.current_office_id, c.kind, COALESCE(c.category_id, 0), c.priority, c.status, '
        'c.sla_breached')


def downgrade():
    op.drop_index('ix_case_status_resolution_due', table_name='case')
    op.drop_index(op.f('ix_attachment_event_id'), table_name='attachment')
    op.drop_index('ix_case_office_active', table_name='case')
    op.drop_index('ix_case_office_closed', table_name='case')
    op.drop_index('ix_case_office_created', table_name='case')
    op.drop_table('case_tally')
