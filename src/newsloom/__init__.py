"""newsloom: self-hosted news intelligence.

Data flows one way: ingest -> extract -> enrich -> store -> serve.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
