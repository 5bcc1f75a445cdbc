"""The one schema, as SQLAlchemy Core tables. Alembic migrations create it; the
tables here are what the Store queries. Keep the two in step (a test checks it)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.types import TypeDecorator

__all__ = ["metadata", "MAX_ID", "sources", "feeds", "articles", "stories", "article_related", "cluster_events", "locks",
           "tags", "users", "comments"]


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store: naive datetime refused; use timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData()
# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger number names no row (callers say 404 or
# 422, never a 500 from the database).
MAX_ID = 2**31 - 1

sources = Table(
    "sources", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("homepage", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

feeds = Table(
    "feeds", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("site_url", Text),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetched_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("error_count", Integer, nullable=False, default=0),
    Column("next_check_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

stories = Table(
    "stories", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("first_seen_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("article_count", Integer, nullable=False, default=0),
    Column("source_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("merged_into", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
)
Index("ix_stories_last_seen_at", stories.c.last_seen_at)

articles = Table(
    "articles", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("guid", Text),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL")),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime),
    Column("language", String(16)),
    Column("text", Text, nullable=False, default=""),
    Column("summary", Text),
    Column("content_hash", String(64)),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    Column("duplicate_of", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),
)
Index("ix_articles_published_at", articles.c.published_at)
Index("ix_articles_content_hash", articles.c.content_hash)
Index("ix_articles_story_id", articles.c.story_id)

article_related = Table(
    "article_related", metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("related_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False),
)

# The clustering log: every decision (assign an article to a story, merge two stories)
# in the order it was taken. Workers replay it to stay consistent with each other.
cluster_events = Table(
    "cluster_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),            # assign | merge
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE")),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("into_story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE")),
    Column("duplicate_of", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
)

# Named counters whose row lock serialises a critical section across processes
# (an UPDATE takes SQLite's write lock and a PostgreSQL row lock alike).
locks = Table(
    "locks", metadata,
    Column("name", String(64), primary_key=True),
    Column("n", Integer, nullable=False, default=0),
)

tags = Table(
    "tags", metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, default="keyphrase"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(320)),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="user"),
    Column("banned", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Who placed the ban (a users.id; NULL: unknown, treated as an admin's). No foreign key:
    # users are never deleted, and SQLite adds the column without rebuilding the table.
    Column("banned_by", Integer),
)

comments = Table(
    "comments", metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Integer, ForeignKey("comments.id", ondelete="CASCADE")),
    Column("body", Text, nullable=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
)
Index("ix_comments_story_id", comments.c.story_id)

# -- search (migrations 0004, 0010) -------------------------------------------
# The full-text index itself is backend-specific and lives outside this metadata: on
# SQLite the FTS5 table `articles_fts`, on PostgreSQL the table `article_search` (each
# article's tsvector, GIN-indexed), both kept in step by triggers; store/search.py queries both. This plain index
# serves the publisher pages.
Index("ix_articles_source_id", articles.c.source_id)

# -- community (migration 0003): accounts, comments, moderation, follows, rate limits --------
from sqlalchemy import func  # noqa: E402  (kept with the tables that need it)

# An article's time as search filters and sorts by it (published, else fetched; migration 0011):
# its statistics also tell the PostgreSQL planner how many articles a date range holds.
Index("ix_articles_when", func.coalesce(articles.c.published_at, articles.c.fetched_at))
# The articles that are not wire copies (what search keeps; migration 0012): PostgreSQL checks
# a text match against it without reading the article's row.
Index("ix_articles_original", articles.c.id, sqlite_where=articles.c.duplicate_of.is_(None),
      postgresql_where=articles.c.duplicate_of.is_(None))

# A comment deleted by its author while it has replies stays as a "[deleted]" placeholder.
comments.append_column(Column("deleted_at", UTCDateTime))

# "Alice" and "alice" are one account name.
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

# Server-side web sessions. The cookie holds a random token; only its SHA-256 is stored,
# with the synchronizer CSRF token that every form of that session must echo.
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),                 # sha256(cookie token), hex
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_sessions_user_id", sessions.c.user_id)
Index("ix_sessions_expires_at", sessions.c.expires_at)

# API tokens for scripts (Authorization: Bearer ...). Only the SHA-256 is stored.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False, default=""),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)
Index("ix_api_tokens_user_id", api_tokens.c.user_id)

# One report per user per comment; a moderator's decision (hide, restore, dismiss) resolves them.
comment_reports = Table(
    "comment_reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("comment_id", Integer, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("comment_id", "user_id", name="uq_comment_reports_comment_user"),
)

# What a user follows: kind is "story", "source" or "tag"; target_id is that table's id.
follows = Table(
    "follows", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("target_id", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "kind", "target_id", name="uq_follows_user_kind_target"),
)
Index("ix_follows_kind_target", follows.c.kind, follows.c.target_id)

# Sliding-window rate limiting shared by every process: one row per counted attempt.
rate_events = Table(
    "rate_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_rate_events_key_at", rate_events.c.key, rate_events.c.at)
Index("ix_rate_events_at", rate_events.c.at)

__all__ += ["sessions", "api_tokens", "comment_reports", "follows", "rate_events"]

# -- the living service (migration 0005) ------------------------------------------------
# Work on the write path: pending entries (the durable list of feed items still to fetch and
# extract), a lease per feed so one refresh runs at a time, a dirty mark per story (debounced
# insight rebuilds), the stored insights themselves, and what operators read on /status.

# A feed is leased while a refresh of it is queued or running (scheduler and workers alike).
feeds.append_column(Column("leased_until", UTCDateTime))

# A story gained or lost articles: its insights must be rebuilt. dirty_since is the first
# change of the burst, touched_at the latest; cleared when the rebuild stores its result.
stories.append_column(Column("dirty_since", UTCDateTime))
stories.append_column(Column("touched_at", UTCDateTime))
Index("ix_stories_dirty_since", stories.c.dirty_since)

# Feed items seen but not yet stored as articles. The feed's refresh records them in one
# transaction with the feed's new state; storing the article deletes the row in the article's
# own transaction. A crash anywhere leaves either the row (retried) or the article (done).
pending_entries = Table(
    "pending_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False, unique=True),            # canonical URL of the entry's link
    Column("entry", Text, nullable=False),                       # the models.Entry, as JSON
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("leased_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_pending_entries_feed_id", pending_entries.c.feed_id)

# A story's insights as the pipeline built them: brief, timeline, disagreements, sources and
# charts as JSON, stamped with the pipeline version (INSIGHTS_VERSION) that built them.
story_insights = Table(
    "story_insights", metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    Column("article_count", Integer, nullable=False, default=0),
    Column("data", Text, nullable=False),
)
Index("ix_story_insights_version", story_insights.c.version)

# A story's hashtags: the one source of truth for story pages, hashtag pages and the API.
story_tags = Table(
    "story_tags", metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
    Column("score", Float, nullable=False, default=0.0),
    Column("phrase", Text),
    Column("articles", Text),        # JSON list of the article ids that support the hashtag (0008)
)
Index("ix_story_tags_tag_id", story_tags.c.tag_id)

# An article's extractive summary (sentences as a JSON list), stamped like story insights.
article_summaries = Table(
    "article_summaries", metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("sentences", Text, nullable=False),
)

# The last error of each pipeline stage (fetch, parse, extract, cluster, insights), for /status.
stage_errors = Table(
    "stage_errors", metadata,
    Column("stage", String(32), primary_key=True),
    Column("message", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False, default=0),
)

# Every scheduler and worker process beats here; /status lists them with their age.
heartbeats = Table(
    "heartbeats", metadata,
    Column("name", String(200), primary_key=True),               # role@host:pid
    Column("role", String(32), nullable=False),                  # scheduler | worker | embedded
    Column("started_at", UTCDateTime, nullable=False),
    Column("beat_at", UTCDateTime, nullable=False),
    Column("info", Text),
)

__all__ += ["pending_entries", "story_insights", "story_tags", "article_summaries", "stage_errors", "heartbeats"]

# -- readers (migration 0007) ---------------------------------------------------------------
# What each reader has read and starred, which stories they last looked at, which feeds they
# chose (none chosen: every feed of the instance), their digest, and the story's insight
# history that makes "new since your last visit" exact.

# An article a reader has read. Reading one copy of wire text marks its duplicates too.
article_reads = Table(
    "article_reads", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("read_at", UTCDateTime, nullable=False),
)
Index("ix_article_reads_article_id", article_reads.c.article_id)

# An article a reader starred (the Google Reader and Fever APIs' "saved").
article_stars = Table(
    "article_stars", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("starred_at", UTCDateTime, nullable=False),
)

# A reader's visits to a story page: the latest, and the one before it (what "new since your
# last visit" compares against while the reader is on the page).
story_visits = Table(
    "story_visits", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("visited_at", UTCDateTime, nullable=False),
    Column("previous_at", UTCDateTime),
)

# The feeds a reader chose. A reader with none reads every feed of the instance.
subscriptions = Table(
    "subscriptions", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# A reader's digest: how often, where it goes, and the secrets of its private Atom feed and
# unsubscribe link (stored as SHA-256, as API tokens are).
digests = Table(
    "digests", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("period", String(16), nullable=False, default="off"),        # off | daily | weekly
    Column("email", String(320)),
    Column("feed_token_hash", String(64), unique=True),
    Column("unsubscribe_token_hash", String(64), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per digest sent (or being sent): the period key ("2026-12-02", "2026-W49") makes
# "once per period" hold across restarts and between schedulers.
digest_sends = Table(
    "digest_sends", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("period_key", String(16), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("stories", Integer, nullable=False, default=0),
)

# Every insights build of a story, kept so that what changed between two visits is exact:
# the articles the story had, and the build's timeline and disagreements (JSON).
insight_history = Table(
    "insight_history", metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("article_ids", Text, nullable=False),                   # JSON list
    Column("data", Text, nullable=False),                          # JSON: timeline, disagreements
)
Index("ix_insight_history_story_built", insight_history.c.story_id, insight_history.c.built_at)

# The Fever API's key, md5("username:password"), kept as its SHA-256 (set at sign-up and at
# each login, the only moments the password is known).
users.append_column(Column("fever_key_hash", String(64)))

# Unread counts and reader streams filter articles by when they were stored.
Index("ix_articles_created_at", articles.c.created_at)

__all__ += ["article_reads", "article_stars", "story_visits", "subscriptions", "digests", "digest_sends",
            "insight_history"]

# Sentence embeddings (enrich/embed.py), written once per article by the pipeline's embed
# stage: part 0 is the article (title + lead), parts 1.. its passages in text order (Q&A).
# `model` names the model that made the vector; a new model re-embeds (store/vectors.py).
# `id` only orders rows, so that a process's in-memory index can catch up with new ones.
article_vectors = Table(
    "article_vectors", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("part", Integer, nullable=False),
    Column("model", String(40), nullable=False),
    Column("vector", LargeBinary, nullable=False),          # float16, enrich.embed.DIMS values
    UniqueConstraint("article_id", "part", name="uq_article_vectors_part"),
)

__all__ += ["article_vectors"]
