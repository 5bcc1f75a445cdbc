"""HTTP serving: the web UI and the JSON API, over one Store."""

from .app import create_app

__all__ = ["create_app"]
