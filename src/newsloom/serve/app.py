"""create_app(settings, store): the whole web application, built explicitly (no globals)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..ingest.urls import http_url
from ..settings import Settings, load_settings
from ..store import Store, open_store
from . import errors
from .api.comments import router as comments_api_router
from .api.reading import router as reading_api_router
from .api.fever import router as fever_router
from .api.greader import router as greader_router
from .api.routes import router as api_router
from .conditional import ConditionalGet
from .probes import router as probes_router
from .security import WebEdge
from .timefmt import relative_time
from .web.accounts import router as accounts_router
from .web.community import router as community_router
from .web.digests import router as digests_router
from .web.atom import router as atom_router
from .web.browse import router as browse_router
from .web.charts import router as charts_router
from .web.pages import router as web_router
from .web.reading import router as reading_router
from .web.search import router as search_router

WEB = Path(__file__).parent / "web"
SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"   # Swagger UI's files, from a package


def create_app(settings: Settings, store: Store) -> FastAPI:
    # /docs is served below from local files (FastAPI's own loads Swagger UI from a CDN).
    app = FastAPI(title="newsloom", version=__version__, docs_url=None, redoc_url=None,
                  description="Self-hosted news intelligence: feeds in, stories out.")
    app.state.settings = settings
    app.state.store = store
    store.reader_unread_days = settings.reader_unread_days   # the unread window (store/reading.py)
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    # Templates ship with the package: compile each once per process instead of checking
    # every template file's mtime on every render (restart to pick up an edited template).
    templates.env.auto_reload = False
    templates.env.filters["ago"] = relative_time
    templates.env.filters["http_url"] = http_url   # a stored URL as a link: http(s) or none
    templates.env.globals["version"] = __version__
    app.state.templates = templates
    app.mount("/static/swagger-ui", StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return FileResponse(WEB / "static" / "docs.html")

    app.include_router(probes_router)        # /healthz, /readyz
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(atom_router)          # before web_router: /stories/{id}.atom, /tags/{slug}.atom
    app.include_router(web_router)
    app.include_router(search_router)
    app.include_router(browse_router)
    app.include_router(charts_router)
    app.include_router(comments_api_router, prefix="/api/v1")
    app.include_router(accounts_router)
    app.include_router(community_router)
    app.include_router(reading_router)         # read marks, subscriptions (form POSTs)
    app.include_router(reading_api_router, prefix="/api/v1")
    app.include_router(greader_router)       # /accounts/ClientLogin, /reader/api/0/...: the Google Reader API
    app.include_router(fever_router)         # /fever/: the Fever API
    app.include_router(digests_router)       # /digests/{token}.atom, /digests/unsubscribe/{token}
    errors.install(app)
    # ETag / Last-Modified / 304 on every page and API response, and the anonymous page cache.
    app.add_middleware(ConditionalGet, cache_seconds=settings.page_cache_seconds)
    # Outermost: bodies capped before anything reads them, HEAD, security headers (serve/security.py).
    app.add_middleware(WebEdge, max_body_bytes=settings.max_body_bytes, max_form_bytes=settings.max_form_bytes)
    return app


def app_from_env() -> FastAPI:
    """The app built from NEWSLOOM_* settings: the factory each of several web worker
    processes calls (`newsloom serve --workers N`, or `uvicorn --factory`)."""
    settings = load_settings()
    return create_app(settings, open_store(settings.db_url))
