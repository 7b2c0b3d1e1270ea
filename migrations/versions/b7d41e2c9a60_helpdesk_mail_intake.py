"""helpdesk e-mail channel: the intake of received messages, the Message-ID of sent ones

Revision ID: b7d41e2c9a60
Revises: e7a1c9d3f5b2
Create Date: 2026-12-07 12:30:00

Issue 26 (seed 002, "a dedicated phone number/Email Id"): every message received by the
helpdesk's address is kept in `mail_intake` with what became of it (ticket, reply,
dropped, failed and why) and its raw bytes; sent e-mails record their Message-ID so
replies thread onto the right ticket and our own messages coming back are recognised.
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d41e2c9a60'
down_revision = 'e7a1c9d3f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_intake',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=True),
        sa.Column('sender', sa.String(length=200), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=24), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sha256'),
    )
    with op.batch_alter_table('mail_intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_intake_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_intake_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_mail_intake_status_received', ['status', 'received_at'], unique=False)
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_message_id'), ['message_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_message_id'))
        batch_op.drop_column('message_id')
    with op.batch_alter_table('mail_intake', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_intake_status_received')
        batch_op.drop_index(batch_op.f('ix_mail_intake_message_id'))
        batch_op.drop_index(batch_op.f('ix_mail_intake_case_id'))
    op.drop_table('mail_intake')
