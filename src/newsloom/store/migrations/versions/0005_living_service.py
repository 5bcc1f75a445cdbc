"""living service: pending entries, feed leases, dirty stories, stored insights, status

Story insights, story hashtags and article summaries move from the read path into tables
the pipeline fills (stamped with the version of the pipeline that built them). Pending
entries make the fan-out from a feed to its articles durable; leases keep one refresh of a
feed at a time; stage errors and heartbeats feed ``newsloom status``.

Hashtags belong to stories now (``story_tags``, one source of truth for every page and the
API): the per-article ``article_tags`` table is dropped. Columns are added with plain
ALTER TABLE ... ADD COLUMN (no batch rebuild), so the SQLite FTS triggers on ``articles``
are untouched.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('feeds', sa.Column('leased_until', sa.DateTime(), nullable=True))
    op.add_column('stories', sa.Column('dirty_since', sa.DateTime(), nullable=True))
    op.add_column('stories', sa.Column('touched_at', sa.DateTime(), nullable=True))
    op.create_index('ix_stories_dirty_since', 'stories', ['dirty_since'])
    op.create_table(
        'pending_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('feed_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('entry', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('leased_until', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('url'),
    )
    op.create_index('ix_pending_entries_feed_id', 'pending_entries', ['feed_id'])
    op.create_table(
        'story_insights',
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(), nullable=False),
        sa.Column('article_count', sa.Integer(), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('story_id'),
    )
    op.create_index('ix_story_insights_version', 'story_insights', ['version'])
    op.create_table(
        'story_tags',
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('phrase', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('story_id', 'tag_id'),
    )
    op.create_index('ix_story_tags_tag_id', 'story_tags', ['tag_id'])
    op.create_table(
        'article_summaries',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sentences', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('article_id'),
    )
    op.create_table(
        'stage_errors',
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('stage'),
    )
    op.drop_index('ix_article_tags_tag_id', table_name='article_tags')
    op.drop_table('article_tags')
    op.create_table(
        'heartbeats',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.Column('info', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('heartbeats')
    op.create_table(
        'article_tags',
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('article_id', 'tag_id'),
    )
    op.create_index('ix_article_tags_tag_id', 'article_tags', ['tag_id'])
    op.drop_table('stage_errors')
    op.drop_table('article_summaries')
    op.drop_index('ix_story_tags_tag_id', table_name='story_tags')
    op.drop_table('story_tags')
    op.drop_index('ix_story_insights_version', table_name='story_insights')
    op.drop_table('story_insights')
    op.drop_index('ix_pending_entries_feed_id', table_name='pending_entries')
    op.drop_table('pending_entries')
    op.drop_index('ix_stories_dirty_since', table_name='stories')
    op.drop_column('stories', 'touched_at')
    op.drop_column('stories', 'dirty_since')
    op.drop_column('feeds', 'leased_until')
