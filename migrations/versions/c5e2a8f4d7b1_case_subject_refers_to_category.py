"""a case whose subject is its catalogue row keeps no copy of the row's name (issue 25)

Revision ID: c5e2a8f4d7b1
Revises: b7d3e5f9a1c2
Create Date: 2026-12-07 16:00:00

Raising a doorstep request, a complaint or a department request used to copy the
catalogue row's English name into `case.subject` ("Network connectivity"), which every
page then showed in English. Such a case now stores an empty subject and is shown with
its category's name in the reader's language (`Case.subject_label`, the `subject`
filter). The upgrade empties every subject that equals its category's English name, of
any kind; a subject someone typed otherwise stays as typed. The downgrade puts the
English name back into every empty subject of a case with a category.
"""
from alembic import op

revision = 'c5e2a8f4d7b1'
down_revision = 'b7d3e5f9a1c2'
branch_labels = None
depends_on = None

# Plain SQL that SQLite and PostgreSQL both run: one UPDATE with a correlated subquery.
_NAME = 'SELECT category.name_en FROM category WHERE category.id = "case".category_id'


def upgrade():
    op.execute(f'UPDATE "case" SET subject = \'\' '
               f'WHERE category_id IS NOT NULL AND subject = ({_NAME})')


def downgrade():
    op.execute(f'UPDATE "case" SET subject = ({_NAME}) '
               f'WHERE category_id IS NOT NULL AND subject = \'\'')
