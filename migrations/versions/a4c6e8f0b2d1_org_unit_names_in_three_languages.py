"""org_unit names in Hindi and Persian (issue 25 item 1)

Revision ID: a4c6e8f0b2d1
Revises: b7d41e2c9a60
Create Date: 2026-12-07 13:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a4c6e8f0b2d1'
down_revision = 'b7d41e2c9a60'
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch operation would copy
# org_unit, which every other table refers to.
def upgrade():
    op.add_column('org_unit', sa.Column('name_hi', sa.String(length=200), nullable=True))
    op.add_column('org_unit', sa.Column('name_fa', sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column('org_unit', 'name_fa')
    op.drop_column('org_unit', 'name_hi')
