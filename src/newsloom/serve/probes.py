"""Probes for process supervisors and load balancers.

* ``GET /healthz`` — the process is up and serving: ``200 ok``. Touches no database, so a
  database outage does not get healthy web processes restarted.
* ``GET /readyz`` — this process can serve pages: the database answers and its schema is at
  the revision this release was built for (``200 ready``); otherwise ``503`` with the reason.
  Send traffic here only while it answers 200.

Neither is cached or given validators (serve/conditional.py skips them); both say
``Cache-Control: no-store``.
"""

from __future__ import annotations

from functools import lru_cache

from alembic.script import ScriptDirectory
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from ..store import migrate
from .deps import StoreDep

__all__ = ["router", "schema_head", "readiness"]

router = APIRouter(include_in_schema=False)
_NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=1)
def schema_head() -> str | None:
    """The newest migration this release ships."""
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def readiness(store) -> str | None:
    """None when the store is ready, else why not (no secrets: no URL, no driver message)."""
    try:
        current = store.schema_revision()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means "not ready"
        return f"store: database unreachable ({type(exc).__name__})"
    head = schema_head()
    if current != head:
        return f"store: schema at {current or 'no revision'}, this release needs {head} (run `newsloom init`)"
    return None


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz():
    return PlainTextResponse("ok", headers=_NO_STORE)


@router.get("/readyz", response_class=PlainTextResponse)
def readyz(store: StoreDep):
    """A plain `def`: the check may wait on a database connection, off the event loop."""
    reason = readiness(store)
    if reason is not None:
        return PlainTextResponse(reason, status_code=503, headers=_NO_STORE)
    return PlainTextResponse("ready", headers=_NO_STORE)
