"""parallel, prioritised delivery (issue 28 item 4): claims with a lease on the outbox,
the delivery order's index, an office's role address, office notices held for a digest

Revision ID: b7d3e5f9a1c2
Revises: 3b9d6e1f7a24
Create Date: 2026-12-07 15:00:00

`notification.claimed_by` / `claimed_until`: the delivery worker that holds a row and
until when (a crashed worker's batch is taken up again after the lease). The delivery
order is (priority, next_attempt_at, id): `ix_notification_status_priority` follows it.
`org_unit.email`: the office's shared (role) address for its new-case notices.
`office_notice`: a new or transferred case waiting for its office's next digest.
Messages already waiting get the new priorities (requesters' messages 1, office notices 7).
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d3e5f9a1c2'
down_revision = '3b9d6e1f7a24'
branch_labels = None
depends_on = None

_WAITING = ("case_created", "case_updated", "service_completed", "service_not_served", "case_closed",
            "ticket_closed", "interaction_closed", "helpdesk_closed", "confirmation_requested",
            "info_requested")


def upgrade():
    # Plain ALTERs (SQLite has ADD and DROP COLUMN): a batch copy of a table others
    # reference would trip their foreign keys.
    op.add_column('notification', sa.Column('claimed_by', sa.String(length=80), nullable=True))
    op.add_column('notification', sa.Column('claimed_until', sa.DateTime(), nullable=True))
    op.drop_index('ix_notification_status_priority', table_name='notification')
    op.create_index('ix_notification_status_priority', 'notification',
                    ['status', 'priority', 'next_attempt_at', 'id'], unique=False)
    # A claim of the old deliverer (status 'sending', no lease) may be taken up at once:
    # every process is stopped for an upgrade.
    op.execute("UPDATE notification SET claimed_until = next_attempt_at WHERE status = 'sending'")
    waiting = ", ".join(f"'{t}'" for t in _WAITING)
    op.execute(f"UPDATE notification SET priority = 1 WHERE status = 'pending' AND template IN ({waiting})")
    op.execute("UPDATE notification SET priority = 7 WHERE status = 'pending' AND template = 'office_received'")

    op.add_column('org_unit', sa.Column('email', sa.String(length=200), nullable=True))

    op.create_table(
        'office_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('template', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['office_id'], ['org_unit.id'], name=op.f('fk_office_notice_office_id_org_unit')),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_office_notice_case_id_case')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_office_notice')),
    )
    op.create_index('ix_office_notice_office_created', 'office_notice', ['office_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_office_notice_office_created', table_name='office_notice')
    op.drop_table('office_notice')
    op.drop_column('org_unit', 'email')
    op.drop_index('ix_notification_status_priority', table_name='notification')
    op.create_index('ix_notification_status_priority', 'notification',
                    ['status', 'priority', 'created_at', 'id'], unique=False)
    op.drop_column('notification', 'claimed_until')
    op.drop_column('notification', 'claimed_by')
