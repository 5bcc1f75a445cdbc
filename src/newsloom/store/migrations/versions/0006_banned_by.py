"""banned_by: who placed a user's ban

A moderator may lift a ban only when a moderator placed it, so the ban records its author
(``users.id``). Bans placed before this column existed, or from the store directly, read as
NULL: only an admin lifts those. A plain ALTER TABLE ... ADD COLUMN with no foreign key, so
SQLite adds it without rebuilding the table (users are never deleted).

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('banned_by', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'banned_by')      # no batch rebuild: it would drop uq_users_username_lower on SQLite
