"""outbox: a priority per message, delivered by priority then age

Revision ID: 7c2e9a4f1b35
Revises: d5f2a8c4e6b1
Create Date: 2026-12-07 12:00:00

One-time codes and the acknowledgement a new requester waits for were delivered oldest
first behind everything else pending (about 1,800 messages after the demo data, 200 per
sweep). Rows get a priority (0 a code, 1 a message a person is waiting for, 5 the rest;
existing rows are 5) and an index in the delivery order: status, priority, age.
"""
import sqlalchemy as sa
from alembic import op

revision = '7c2e9a4f1b35'
down_revision = 'd5f2a8c4e6b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='5', nullable=False))
    # Messages already waiting: codes and acknowledgements go first from now on too.
    op.execute("UPDATE notification SET priority = 0 WHERE template = 'otp' AND status = 'pending'")
    op.execute("UPDATE notification SET priority = 1 WHERE template = 'case_created' AND status = 'pending'")
    op.create_index('ix_notification_status_priority', 'notification',
                    ['status', 'priority', 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_notification_status_priority', table_name='notification')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('priority')
