"""article_vectors: sentence embeddings of each article and its passages

Written by the pipeline's embed stage (enrich/embed.py, store/vectors.py); read by hybrid
search, related articles and Q&A. One row per (article, part); part 0 is the article.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('article_vectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=40), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('article_id', 'part', name='uq_article_vectors_part')
    )


def downgrade() -> None:
    op.drop_table('article_vectors')
