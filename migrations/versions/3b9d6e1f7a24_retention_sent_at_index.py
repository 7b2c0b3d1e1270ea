"""retention: delivered notifications found by their sending time

Revision ID: 3b9d6e1f7a24
Revises: f4dfba35fa57
Create Date: 2026-12-07 15:00:00

The retention job (issue 28 item 6) removes notifications sent before a cut-off, a batch
at a time. Without an index it would step over every delivered message at each hourly
run; a partial index holds the delivered ones only, in sending order.
"""
import sqlalchemy as sa
from alembic import op

revision = '3b9d6e1f7a24'
down_revision = 'f4dfba35fa57'
branch_labels = None
depends_on = None

SENT = "status = 'sent'"


def upgrade():
    op.create_index('ix_notification_sent_at', 'notification', ['sent_at'], unique=False,
                    postgresql_where=sa.text(SENT), sqlite_where=sa.text(SENT))


def downgrade():
    op.drop_index('ix_notification_sent_at', table_name='notification')
