"""monitoring league (issue 27): flow and disposal counters, backlog snapshots, possible
repeats, weekly summaries

Revision ID: f4dfba35fa57
Revises: a4c6e8f0b2d1
Create Date: 2026-12-07 12:30:00

New tables `case_flow_tally` and `case_disposal_tally` (the league table's, heat
table's and weekly compliance's counters), `backlog_snapshot` (pending beyond SLA per
office and day, for its change), `weekly_summary` (one summary per head and week);
`case.repeat_of_id` and an index on `case.requester_email` (repeats at intake); `user.weekly_summary` (opt-out, on by default); an attachment on
`notification`. The counters are filled from the cases already in the database
(`app.services.engine.flow.rebuild`, which measures business days with the holiday calendar).
"""
import sqlalchemy as sa
from alembic import op

revision = 'f4dfba35fa57'
down_revision = 'a4c6e8f0b2d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_flow_tally',
        sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('raised', sa.Integer(), nullable=False),
        sa.Column('repeats', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('closed_in_sla', sa.Integer(), nullable=False),
        sa.Column('own_seconds', sa.BigInteger(), nullable=False),
        sa.Column('external_seconds', sa.BigInteger(), nullable=False),
        sa.Column('rejections', sa.Integer(), nullable=False),
        sa.Column('rating_sum', sa.Integer(), nullable=False),
        sa.Column('rating_n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_id', 'day', 'kind', 'category_id'),
    )
    op.create_table(
        'case_disposal_tally',
        sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('days', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_id', 'day', 'days'),
    )
    op.create_table(
        'backlog_snapshot',
        sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('active', sa.Integer(), nullable=False),
        sa.Column('breached', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_id', 'day'),
    )
    op.create_table(
        'weekly_summary',
        sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notification_id'], ['notification.id']),
        sa.PrimaryKeyConstraint('user_id', 'week'),
    )
    # plain ADD COLUMNs (no table rebuild on SQLite, where other tables refer to these)
    op.add_column('case', sa.Column('repeat_of_id', sa.Integer(), nullable=True))
    op.create_index('ix_case_repeat_of_id', 'case', ['repeat_of_id'])
    op.create_index('ix_case_requester_email', 'case', ['requester_email'])
    op.add_column('user', sa.Column('weekly_summary', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('notification', sa.Column('attachment_name', sa.String(length=120), nullable=True))
    op.add_column('notification', sa.Column('attachment', sa.LargeBinary(), nullable=True))
    # Complaints that refer to an earlier one (a review's follow-up excepted) are repeats.
    op.execute("UPDATE \"case\" SET repeat_of_id = related_case_id "
               "WHERE related_case_id IS NOT NULL AND channel <> 'review'")
    _fill()


def _fill():
    try:
        from flask import current_app
        current_app._get_current_object()
    except RuntimeError:  # plain alembic, outside the app: run `flask tallies --rebuild` after
        return
    from sqlalchemy.orm import Session

    from app.services.engine import flow

    bind = op.get_bind()
    if bind.execute(sa.text('SELECT 1 FROM "case" LIMIT 1')).first():
        flow.rebuild(Session(bind=bind))


def downgrade():
    op.drop_column('notification', 'attachment')
    op.drop_column('notification', 'attachment_name')
    op.drop_column('user', 'weekly_summary')
    op.drop_index('ix_case_requester_email', table_name='case')
    op.drop_index('ix_case_repeat_of_id', table_name='case')
    op.drop_column('case', 'repeat_of_id')
    op.drop_table('weekly_summary')
    op.drop_table('backlog_snapshot')
    op.drop_table('case_disposal_tally')
    op.drop_table('case_flow_tally')
