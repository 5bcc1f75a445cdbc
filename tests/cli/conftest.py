from __future__ import annotations

import pytest
from click.testing import CliRunner

from newsloom.cli import main


class Cli:
    """Runs `newsloom ...` in-process with a private home and the test database."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        result = self.runner.invoke(main, list(args), env=self.env, input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"newsloom {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result


@pytest.fixture
def cli_env(tmp_path, store_url):
    return {"NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_DATABASE_URL": store_url,
            "NEWSLOOM_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "NEWSLOOM_FETCH_TIMEOUT": "2",
            "NEWSLOOM_FETCH_MAX_BYTES": "2000000"}


@pytest.fixture
def cli(cli_env, store):
    return Cli(cli_env)


@pytest.fixture
def make_cli(store):
    """For tests that need a Cli with a modified environment."""
    return Cli
