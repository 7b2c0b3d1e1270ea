"""auth: sign-in throttling per (login id, network) pair (login_throttle)

Revision ID: e7a1c9d3f5b2
Revises: 7c2e9a4f1b35
Create Date: 2026-12-07 12:30:00

Five failed sign-ins used to lock the account itself for everyone, so anyone could lock
an employee out with five tries. The failures now count per (login id, network address);
the user's own lock fields stay for a lock of the whole account (many failures from many
addresses).
"""
import sqlalchemy as sa
from alembic import op

revision = 'e7a1c9d3f5b2'
down_revision = '7c2e9a4f1b35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login_id', sa.String(length=20), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
        sa.UniqueConstraint('login_id', 'ip', name=op.f('uq_login_throttle_login_id')),
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_updated_at'), ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_updated_at'))
    op.drop_table('login_throttle')
