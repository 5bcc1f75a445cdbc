"""story_tags.articles: the articles that support each hashtag of a story

A JSON list of article ids (the story's articles whose text mentions the hashtag), written
with the hashtag by the insights build. Rows built before this column existed read as NULL,
an empty list, until their story's next build (the insights version was bumped with it).
A plain ALTER TABLE ... ADD COLUMN, so SQLite adds it without rebuilding the table.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('story_tags', sa.Column('articles', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('story_tags') as batch:
        batch.drop_column('articles')
