"""raising a request: the reference data's generation (ref_generation)

Revision ID: c3e8f1a2d4b6
Revises: b7d4e2a9c1f3
Create Date: 2026-11-29 16:20:00

One row whose token every change to cached reference data replaces, in the same
transaction (`app.services.read_models.refcache`): each worker process compares it with the token
its cache was filled under, once per transaction, instead of reading the service list,
pincode, SLA matrix, holidays, wording and office contacts on every raise.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = 'c3e8f1a2d4b6'
down_revision = 'b7d4e2a9c1f3'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'ref_generation',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ref_generation')),
    )
    op.bulk_insert(table, [{'id': 1, 'token': secrets.randbits(62)}])


def downgrade():
    op.drop_table('ref_generation')
