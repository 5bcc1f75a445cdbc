from pathlib import Path

import pytest

from newsloom.errors import SettingsError
from newsloom.settings import OPTIONS, load_settings, settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented():
    """docs/settings.md is generated from the option table; regenerate with `make docs`."""
    docs = (ROOT / "docs" / "settings.md").read_text()
    assert docs == settings_markdown(), "docs/settings.md is stale: run `make docs`"
    for opt in OPTIONS:
        assert f"`{opt.env}`" in docs
        assert opt.help.strip(), f"{opt.name} has no help text"


def test_defaults_env_and_toml_precedence(tmp_path):
    toml = tmp_path / "newsloom.toml"
    toml.write_text('[newsloom]\nport = 9000\nfetch_allow_networks = ["127.0.0.1/32"]\nfetch_timeout = 5\n')
    s = load_settings({"NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_PORT": "9100"})
    assert s.port == 9100                        # env beats file
    assert s.fetch_allow_networks == ["127.0.0.1/32"]
    assert s.fetch_timeout == 5.0 and isinstance(s.fetch_timeout, float)
    assert s.db_url == f"sqlite:///{(tmp_path / 'newsloom.db').resolve()}"
    assert load_settings({}).port == 8000


@pytest.mark.parametrize("env, message", [
    ({"NEWSLOOM_PORT": "eighty"}, "NEWSLOOM_PORT"),
    ({"NEWSLOOM_PORT": "0"}, ">= 1"),
    ({"NEWSLOOM_ENV": "staging"}, "must be one of"),
    ({"NEWSLOOM_FETCH_FULL_TEXT": "maybe"}, "boolean"),
    ({"NEWSLOOM_NO_SUCH_THING": "1"}, "unknown environment variable"),
])
def test_invalid_values_are_refused_with_a_clear_message(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_placeholder_secrets_refused_outside_development():
    assert load_settings({}).env == "development"          # fine for development
    with pytest.raises(SettingsError, match="NEWSLOOM_SECRET_KEY is a placeholder"):
        load_settings({"NEWSLOOM_ENV": "production"})
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings({"NEWSLOOM_ENV": "production", "NEWSLOOM_SECRET_KEY": "change-me"})
    ok = load_settings({"NEWSLOOM_ENV": "production", "NEWSLOOM_SECRET_KEY": "x" * 40})
    assert ok.as_dict()["secret_key"] == "***"


def test_unknown_option_in_file_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[newsloom]\nportt = 1\n")
    with pytest.raises(SettingsError, match="portt"):
        load_settings({"NEWSLOOM_CONFIG": str(cfg)})


def test_settings_are_read_only():
    s = load_settings({})
    with pytest.raises(AttributeError):
        s.port = 1
    assert s.replace(port=1234).port == 1234 and s.port == 8000
