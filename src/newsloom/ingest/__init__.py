"""Ingestion: fetching feeds and pages over HTTP (``http``) and deciding when to look again (``schedule``)."""
