"""Store methods for accounts, comments, moderation and follows (mixed into Store)."""

from __future__ import annotations


class CommunityMixin:
    pass
