"""readers: read state, stars, story visits, subscriptions, digests, insight history

Per-reader state for the feed-reader side of newsloom: articles read and starred, the last
visits to story pages, the feeds a reader chose, daily or weekly digests (sent once per
period: ``digest_sends``), each story's insight builds over time (``insight_history``:
what changed since a visit), the Fever API key's hash and an index on when articles were
stored (unread counts). New tables, one plain ADD COLUMN.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _user_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE')


def upgrade() -> None:
    op.create_table(
        'article_reads',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=False),
        _user_fk(),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'article_id'),
    )
    op.create_index('ix_article_reads_article_id', 'article_reads', ['article_id'])
    op.create_table(
        'article_stars',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('starred_at', sa.DateTime(), nullable=False),
        _user_fk(),
        sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'article_id'),
    )
    op.create_table(
        'story_visits',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('visited_at', sa.DateTime(), nullable=False),
        sa.Column('previous_at', sa.DateTime(), nullable=True),
        _user_fk(),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'story_id'),
    )
    op.create_table(
        'subscriptions',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('feed_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _user_fk(),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'feed_id'),
    )
    op.create_table(
        'digests',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('feed_token_hash', sa.String(length=64), nullable=True),
        sa.Column('unsubscribe_token_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _user_fk(),
        sa.PrimaryKeyConstraint('user_id'),
        sa.UniqueConstraint('feed_token_hash'),
        sa.UniqueConstraint('unsubscribe_token_hash'),
    )
    op.create_table(
        'digest_sends',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('stories', sa.Integer(), nullable=False),
        _user_fk(),
        sa.PrimaryKeyConstraint('user_id', 'period_key'),
    )
    op.create_table(
        'insight_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('built_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('article_ids', sa.Text(), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_insight_history_story_built', 'insight_history', ['story_id', 'built_at'])
    op.add_column('users', sa.Column('fever_key_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_articles_created_at', 'articles', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_articles_created_at', table_name='articles')
    op.drop_column('users', 'fever_key_hash')      # no batch rebuild (keeps uq_users_username_lower on SQLite)
    op.drop_index('ix_insight_history_story_built', table_name='insight_history')
    op.drop_table('insight_history')
    op.drop_table('digest_sends')
    op.drop_table('digests')
    op.drop_table('subscriptions')
    op.drop_table('story_visits')
    op.drop_index('ix_article_reads_article_id', table_name='article_reads')
    op.drop_table('article_reads')
    op.drop_table('article_stars')
