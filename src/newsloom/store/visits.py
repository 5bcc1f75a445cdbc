"""Store methods for a reader's visits to story pages (mixed into Store): when they last
looked, and the visit before it, which is what "new since your last visit" compares against.

A visit within :data:`REVISIT_SECONDS` of the last one is a reload: it keeps the same
"previous", so the page does not forget what was new while the reader is still on it. A
visit after the story was rebuilt (``changed_at``, its newest insights build) is a new visit
even inside that window: the reader has not seen that build yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import utcnow
from .schema import story_visits

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["VisitsMixin", "StoryVisit", "REVISIT_SECONDS"]

REVISIT_SECONDS = 300          # a visit this soon after the last one is a reload


@dataclass(frozen=True)
class StoryVisit:
    previous_at: datetime | None     # the visit before this one (None: the first)
    visited_at: datetime


class VisitsMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...

    def record_story_visit(self, user_id: int, story_id: int, now: datetime | None = None, *,
                           changed_at: datetime | None = None) -> StoryVisit:
        """Record that `user_id` opened story `story_id` at `now` and return the visit, its
        ``previous_at`` being the visit the page compares against. The earlier visit becomes
        the previous one when it is older than REVISIT_SECONDS or older than `changed_at`;
        otherwise (a reload) the previous one stays."""
        now = now or utcnow()
        with self.write() as conn:
            row = conn.execute(select(story_visits.c.visited_at, story_visits.c.previous_at)
                               .where(story_visits.c.user_id == user_id, story_visits.c.story_id == story_id)
                               .with_for_update()).first()
            if row is None:
                conn.execute(self._insert(story_visits)
                             .values(user_id=user_id, story_id=story_id, visited_at=now, previous_at=None)
                             .on_conflict_do_nothing(index_elements=["user_id", "story_id"]))
                return StoryVisit(previous_at=None, visited_at=now)
            last, previous = row.visited_at, row.previous_at
            moved = now - last >= timedelta(seconds=REVISIT_SECONDS) or (changed_at is not None and changed_at > last)
            if moved:
                previous = last
            visited = max(now, last)
            conn.execute(story_visits.update()
                         .where(story_visits.c.user_id == user_id, story_visits.c.story_id == story_id)
                         .values(visited_at=visited, previous_at=previous))
            return StoryVisit(previous_at=previous, visited_at=visited)

    def last_story_visit(self, user_id: int, story_id: int) -> StoryVisit | None:
        """The reader's recorded visit to a story, or None when they never opened it."""
        with self.read() as conn:
            row = conn.execute(select(story_visits.c.visited_at, story_visits.c.previous_at)
                               .where(story_visits.c.user_id == user_id,
                                      story_visits.c.story_id == story_id)).first()
        return StoryVisit(previous_at=row.previous_at, visited_at=row.visited_at) if row else None
