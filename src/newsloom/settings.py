"""THE option table: every setting newsloom reads, typed, with a default and help text.

Read once at start-up with :func:`load_settings`, from (lowest to highest priority)
the defaults below, an optional TOML file (``NEWSLOOM_CONFIG`` or
``$NEWSLOOM_HOME/newsloom.toml``) and ``NEWSLOOM_*`` environment variables.
Pure stages never import this module: they receive values as arguments.

``docs/settings.md`` is generated from this table (``newsloom settings --markdown``)
and a test fails when the two drift apart.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import SettingsError

__all__ = ["Option", "OPTIONS", "Settings", "load_settings", "settings_markdown"]

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev-secret-change-me"}


@dataclass(frozen=True)
class Option:
    name: str                  # attribute name; env var is NEWSLOOM_<NAME upper>
    type: type                 # str, int, float, bool, list
    default: Any
    help: str
    secret: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None

    @property
    def env(self) -> str:
        return "NEWSLOOM_" + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("env", str, "development", "Deployment environment. Outside `development` placeholder secrets are refused.",
           choices=("development", "test", "production")),
    Option("home", str, "./var", "Directory for the embedded database and other state."),
    Option("database_url", str, "", "SQLAlchemy URL. Empty means SQLite at `<home>/newsloom.db`; "
           "use `postgresql+psycopg://user@host/db` for PostgreSQL."),
    Option("secret_key", str, "dev-secret-change-me", "Key signing session cookies and CSRF tokens.", secret=True),
    Option("host", str, "127.0.0.1", "Address the web server binds to."),
    Option("port", int, 8000, "Port the web server listens on.", minimum=1),
    Option("base_url", str, "http://127.0.0.1:8000", "Public URL of this instance, used in feeds and links."),
    Option("user_agent", str, "newsloom/0.1 (+https://github.com/newsloom/newsloom)",
           "User-Agent header sent with every request."),
    Option("fetch_timeout", float, 20.0, "Seconds allowed for one HTTP request, body included.", minimum=0.1),
    Option("fetch_deadline", float, 30.0, "Seconds allowed for one whole fetch: connect, every redirect, "
           "headers and body together (on top of `fetch_timeout` per request).", minimum=0.1),
    Option("fetch_max_bytes", int, 10_000_000, "Largest response body accepted, in bytes.", minimum=1024),
    Option("fetch_max_redirects", int, 5, "Redirects followed before giving up.", minimum=0),
    Option("fetch_per_host", int, 2, "Concurrent requests to one host.", minimum=1),
    Option("fetch_concurrency", int, 10, "Concurrent requests overall.", minimum=1),
    Option("fetch_allow_networks", list, [],
           "CIDRs that may be fetched although private or loopback (e.g. `127.0.0.1/32`). "
           "Empty: only public addresses."),
    Option("fetch_full_text", bool, True, "Fetch each new entry's page and extract its full text."),
    Option("refresh_interval", float, 30.0, "Minutes between checks of a healthy feed (fractions allowed: "
           "`0.5` is 30 seconds).", minimum=0.01),
    Option("refresh_max_interval", int, 1440, "Longest wait, in minutes, between checks (also the backoff cap).",
           minimum=1),
    Option("scheduler_tick", float, 15.0, "Seconds between two looks at the due feeds by the scheduler "
           "(the embedded one in `newsloom serve`, or `newsloom scheduler`).", minimum=0.05),
    Option("insights_debounce", float, 5.0, "Seconds a story must stay unchanged before its insights are "
           "rebuilt (one rebuild per burst of articles).", minimum=0.0),
    Option("insights_max_wait", float, 60.0, "Longest wait, in seconds, before a story that keeps changing "
           "gets its insights rebuilt anyway.", minimum=0.0),
    Option("broker_url", str, "redis://127.0.0.1:6379/0", "Celery broker of `newsloom worker` and "
           "`newsloom scheduler` (the scaled-out deployment).", secret=False),
    Option("result_backend", str, "redis://127.0.0.1:6379/1", "Celery result backend (task states)."),
    Option("queue_prefix", str, "newsloom", "Prefix of the Celery queue names, so several instances can "
           "share one Redis."),
    Option("task_visibility_timeout", int, 300, "Seconds before a task taken by a worker that died is "
           "delivered again (tasks are acknowledged late).", minimum=1),
    Option("qa_timeout", float, 10.0, "Seconds a question on a story page may wait for the LLM.", minimum=0.1),
    Option("demo_port", int, 8001, "Port of the demo newsroom's local HTTP server (`newsloom demo`).", minimum=1),
    Option("page_size", int, 30, "Items per page on lists and API responses.", minimum=1),
    Option("page_cache_seconds", float, 5.0, "Seconds an anonymous reader's page or API response may be served "
           "from the web process's memory (a write through that process empties it at once). 0 turns it off.",
           minimum=0.0),
    Option("max_body_bytes", int, 1_048_576, "Largest request body the web server reads (the API's JSON), in "
           "bytes; a larger one gets 413 before any route or login check sees it.", minimum=1024),
    Option("max_form_bytes", int, 1_048_576, "Largest form post (urlencoded or multipart) the web server reads, "
           "in bytes; a larger one gets 413 before any route or login check sees it.", minimum=1024),
    Option("llm_url", str, "", "Base URL of an OpenAI-compatible server (Ollama, llama.cpp, vLLM) that rewrites "
           "briefs and answers from the retrieved passages. Empty: extractive only (the default, fully offline)."),
    Option("llm_model", str, "llama3.2", "Model name sent to the LLM server."),
    Option("llm_api_key", str, "", "Bearer token for the LLM server, if it needs one.", secret=True),
    Option("llm_timeout", float, 30.0, "Seconds to wait for the LLM before falling back to the extractive result.",
           minimum=0.1),
    Option("session_max_age", int, 1_209_600, "Seconds a login session lasts (the session cookie's Max-Age).",
           minimum=60),
    Option("argon2_time_cost", int, 3, "Argon2id iterations for password hashes (argon2-cffi's default). "
           "Existing hashes are upgraded at the next login when this changes.", minimum=1),
    Option("argon2_memory_cost", int, 65536, "Argon2id memory per password hash, in KiB (argon2-cffi's default).",
           minimum=64),
    Option("comment_rate_limit", str, "5/minute", "Comments one user, and one IP address, may post: "
           "`N/second`, `N/minute`, `N/hour` or `N/day` (sliding window, shared through the database)."),
    Option("signup_rate_limit", str, "5/hour", "Sign-ups allowed from one IP address (same format)."),
    Option("login_rate_limit", str, "10/minute", "Failed logins allowed for one username from one IP address "
           "(same format); a successful login clears the count. A stranger's failures never block the "
           "account's owner at another address. An IPv6 address counts by its /64, here and in every limit."),
    Option("login_address_rate_limit", str, "60/minute", "Login attempts allowed from one IP address, whatever "
           "the usernames (same format)."),
    Option("login_backoff_max", float, 5.0, "Longest delay, in seconds, added to each login of an account that "
           "more failures than `login_rate_limit` allows one address hit within its window (guesses from many "
           "addresses): it doubles as they grow, slows guessing down and never refuses the owner. 0 turns it off.",
           minimum=0.0),
    Option("token_rate_limit", str, "10/hour", "API tokens one user may create on the account page (same format)."),
    Option("trusted_proxies", list, [], "CIDRs of the reverse proxies in front of the web server (e.g. "
           "`127.0.0.1/32` when nginx runs on the same host). The client address is the peer's, unless the peer "
           "is one of these: then it is the right-most `X-Forwarded-For` address that is not one of these. "
           "Empty: `X-Forwarded-For` is ignored."),
    Option("for_you_half_life", float, 24.0, "Hours after which a story's \"For you\" score halves.", minimum=0.1),
    Option("reader_unread_days", int, 14, "Days an article counts as unread for a signed-in reader: older ones "
           "count as read in unread counts and \"unread only\" lists (so a new account does not start with "
           "thousands of unread articles).", minimum=1),
    Option("smtp_host", str, "", "SMTP server that sends the email digests. Empty: email digests are off "
           "(the private Atom digest still works)."),
    Option("smtp_port", int, 587, "Port of the SMTP server (587 for STARTTLS, 465 for TLS, 25 for none).", minimum=1),
    Option("smtp_tls", str, "starttls", "How the SMTP connection is secured: `starttls` (upgrade a plain "
           "connection), `ssl` (TLS from the start) or `none`.", choices=("none", "starttls", "ssl")),
    Option("smtp_username", str, "", "SMTP login, if the server needs one."),
    Option("smtp_password", str, "", "SMTP password.", secret=True),
    Option("smtp_from", str, "", "From address of the digests. Empty: `newsloom@` and the host of `base_url`."),
    Option("digest_hour", int, 7, "UTC hour (0-23) from which the day's (or week's) digests go out.", minimum=0),
    Option("digest_weekday", str, "monday", "Day the weekly digests go out.",
           choices=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")),
)

_BY_NAME = {o.name: o for o in OPTIONS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(opt: Option, value: Any) -> Any:
    try:
        if opt.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected a boolean, got {value!r}")
        if opt.type is list:
            if isinstance(value, (list, tuple)):
                return [str(v).strip() for v in value if str(v).strip()]
            return [part.strip() for part in str(value).split(",") if part.strip()]
        if opt.type is int and isinstance(value, bool):
            raise ValueError("expected an integer")
        result = opt.type(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"settings: {opt.env}: {exc}") from None
    if opt.choices and result not in opt.choices:
        raise SettingsError(f"settings: {opt.env} must be one of {', '.join(opt.choices)}, got {result!r}")
    if opt.minimum is not None and result < opt.minimum:
        raise SettingsError(f"settings: {opt.env} must be >= {opt.minimum}, got {result!r}")
    return result


class Settings:
    """Validated, read-only settings. Attribute access by option name."""

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only; use Settings.replace()")

    def replace(self, **changes: Any) -> "Settings":
        unknown = set(changes) - set(_BY_NAME)
        if unknown:
            raise SettingsError(f"settings: unknown option(s) {', '.join(sorted(unknown))}")
        values = dict(self._values)
        values.update({k: _coerce(_BY_NAME[k], v) for k, v in changes.items()})
        return _validated(values)

    def as_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        return {o.name: ("***" if o.secret and not reveal_secrets else self._values[o.name]) for o in OPTIONS}

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home_path / 'newsloom.db').resolve()}"


def _validated(values: dict[str, Any]) -> Settings:
    if values["env"] != "development":
        for opt in OPTIONS:
            if opt.secret and opt.default and str(values[opt.name]).strip().lower() in PLACEHOLDER_SECRETS:
                raise SettingsError(
                    f"settings: {opt.env} is a placeholder; set a real secret when NEWSLOOM_ENV={values['env']}")
    return Settings(values)


def load_settings(environ: Mapping[str, str] | None = None, *, config_file: str | Path | None = None,
                  **overrides: Any) -> Settings:
    """Defaults < TOML file < environment < keyword overrides; validated once."""
    environ = os.environ if environ is None else environ
    values = {o.name: o.default for o in OPTIONS}
    home = overrides.get("home") or environ.get("NEWSLOOM_HOME") or values["home"]
    path = config_file or environ.get("NEWSLOOM_CONFIG")
    if path is None and (Path(home) / "newsloom.toml").is_file():
        path = Path(home) / "newsloom.toml"
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"settings: cannot read {path}: {exc}") from None
        table = data.get("newsloom", data)
        unknown = set(table) - set(_BY_NAME)
        if unknown:
            raise SettingsError(f"settings: unknown option(s) in {path}: {', '.join(sorted(unknown))}")
        values.update({k: _coerce(_BY_NAME[k], v) for k, v in table.items()})
    for opt in OPTIONS:
        if opt.env in environ:
            values[opt.name] = _coerce(opt, environ[opt.env])
    unknown_env = [k for k in environ if k.startswith("NEWSLOOM_") and k[9:].lower() not in _BY_NAME
                   and k not in {"NEWSLOOM_CONFIG", "NEWSLOOM_TEST_PG_URL"}]
    if unknown_env:
        raise SettingsError(f"settings: unknown environment variable(s): {', '.join(sorted(unknown_env))}")
    for name, value in overrides.items():
        if name not in _BY_NAME:
            raise SettingsError(f"settings: unknown option {name}")
        values[name] = _coerce(_BY_NAME[name], value)
    return _validated(values)


def settings_markdown() -> str:
    """The settings reference as Markdown (docs/settings.md is this text)."""
    lines = ["# Settings", "",
             "Generated by `newsloom settings --markdown` from `src/newsloom/settings.py`. "
             "Set them as environment variables, or in a TOML file (`NEWSLOOM_CONFIG`, or "
             "`$NEWSLOOM_HOME/newsloom.toml`) under a `[newsloom]` table using the option name.", "",
             "| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for o in OPTIONS:
        default = ", ".join(o.default) if isinstance(o.default, list) else o.default
        kind = o.type.__name__ + (" (secret)" if o.secret else "")
        lines.append(f"| `{o.env}` | {kind} | `{default}` | {o.help} |")
    lines.append("")
    return "\n".join(lines)
