"""Use cases: one orchestrator per job, called by the CLI, the web app and workers alike."""
