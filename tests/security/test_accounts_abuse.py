"""Abuse at the accounts edge (findings 9 to 12): lockouts, forged client addresses, weak
passwords, moderators undoing admins' bans. Through the real app (TestClient, each client
with its own peer address) on both stores; one test runs `newsloom serve` as a process,
because how uvicorn is started decides which address the app sees.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE

PASSWORD = "correct horse battery"
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def make_app(settings, store):
    """make_app(**setting_overrides) -> the app, with cheap argon2 and generous limits unless told."""

    def make(**overrides):
        base = dict(argon2_time_cost=1, argon2_memory_cost=8192, page_cache_seconds=0, login_rate_limit="100/minute",
                    login_address_rate_limit="1000/minute", signup_rate_limit="100/hour",
                    comment_rate_limit="100/minute", login_backoff_max=0)
        return create_app(settings.replace(**{**base, **overrides}), store)

    return make


@pytest.fixture
def connect():
    """connect(app, address) -> a TestClient whose requests come from that peer address."""
    opened = []

    def make(app, address: str = "198.51.100.10"):
        client = TestClient(app, client=(address, 50000), follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def csrf_from(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def login(client, username: str, password: str = PASSWORD, **headers: str):
    """One login attempt as a fresh visitor (a signed-in one is sent away from the form)."""
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers)


def signup(client, username: str, password: str = PASSWORD, **headers: str):
    client.cookies.clear()
    token = csrf_from(client.get("/signup").text)
    return client.post("/signup", data={"username": username, "password": password, "password2": password,
                                        "csrf_token": token}, headers=headers)


def as_user(connect, app, store, username: str, role: str = "user"):
    user = store.create_user(username, PASSWORD_HASH, role=role)
    client = connect(app)
    client.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return client


def post_form(client, path: str, data: dict | None = None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_from(client.get("/account").text)})


# -- finding 9 ---------------------------------------------------------------------
def test_finding_09_a_stranger_cannot_lock_a_user_out(make_app, connect, store):
    app = make_app(login_rate_limit="3/minute")
    store.create_user("victim", PASSWORD_HASH)
    stranger, owner = connect(app, "203.0.113.66"), connect(app, "198.51.100.7")
    statuses = [login(stranger, "victim", f"guess number {i}").status_code for i in range(10)]
    assert statuses == [400] * 3 + [429] * 7                  # the stranger is stopped at their address...
    r = login(owner, "victim")                                # ...and the owner logs in from theirs
    assert r.status_code == 303 and owner.cookies.get(SESSION_COOKIE)
    assert login(stranger, "victim", PASSWORD).status_code == 429   # the stranger's pair stays blocked


def test_a_successful_login_clears_the_count_of_its_pair(make_app, connect, store):
    app = make_app(login_rate_limit="3/minute")
    store.create_user("typist", PASSWORD_HASH)
    client = connect(app)
    assert [login(client, "typist", "a typo here").status_code for _ in range(2)] == [400, 400]
    assert login(client, "typist").status_code == 303
    client.cookies.clear()
    assert [login(client, "typist", "a typo here").status_code for _ in range(3)] == [400, 400, 400]
    assert login(client, "typist").status_code == 429


def test_one_address_guessing_many_accounts_is_limited(make_app, connect, store):
    app = make_app(login_address_rate_limit="5/minute")
    sprayer = connect(app, "203.0.113.5")
    statuses = [login(sprayer, f"someone{i}", "Summer2024!").status_code for i in range(7)]
    assert statuses == [400] * 5 + [429] * 2
    store.create_user("bystander", PASSWORD_HASH)
    assert login(connect(app, "198.51.100.8"), "bystander").status_code == 303


def test_many_addresses_failing_at_one_account_slow_it_down_without_locking(make_app, connect, store):
    # The bots go through an app without the back-off (quick to run); the counts are the shared store's.
    bots_app, app = make_app(login_rate_limit="2/minute"), make_app(login_rate_limit="2/minute", login_backoff_max=1.0)
    store.create_user("target", PASSWORD_HASH)
    store.create_user("quiet", PASSWORD_HASH)
    for n in range(3):                                          # a small botnet: 3 addresses, 2 guesses each
        bot = connect(bots_app, f"203.0.113.{100 + n}")
        assert [login(bot, "target", "a wrong guess").status_code for _ in range(2)] == [400, 400]

    def timed_login(username):
        client = connect(app, "198.51.100.9")
        token = csrf_from(client.get("/login").text)
        started = time.monotonic()
        r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        return r.status_code, time.monotonic() - started

    status, held = timed_login("target")
    assert status == 303 and held >= 1.0                       # slowed down, never refused
    status, quick = timed_login("quiet")
    assert status == 303 and quick < held                      # an account nobody attacks is not


def test_ipv6_clients_are_counted_by_their_64(make_app, connect):
    """One host on IPv6 has a whole /64 to rotate through: each address of it is the same client."""
    app = make_app(signup_rate_limit="1/hour")
    assert signup(connect(app, "2001:db8:1:2::10"), "first").status_code == 303
    assert signup(connect(app, "2001:db8:1:2:ffff::77"), "second").status_code == 429
    assert signup(connect(app, "2001:db8:1:3::10"), "third").status_code == 303


def test_api_token_creation_is_rate_limited_per_user(make_app, connect, store):
    app = make_app(token_rate_limit="2/hour")
    client = as_user(connect, app, store, "scripter")
    assert [post_form(client, "/account/tokens", {"name": "t"}).status_code for _ in range(3)] == [201, 201, 429]
    assert len(store.list_api_tokens(store.find_user("scripter").id)) == 2
    other = as_user(connect, app, store, "another")             # per user, not per address
    assert post_form(other, "/account/tokens", {"name": "t"}).status_code == 201


def test_wrong_user_and_wrong_password_look_the_same(make_app, connect, store):
    app = make_app()
    store.create_user("known", PASSWORD_HASH)
    client = connect(app)
    answers = []
    for username, password in (("known", "not the password"), ("unknown", PASSWORD), ("x" * 65, PASSWORD)):
        r = login(client, username, password)
        error = re.search(r'<p class="form-error"[^>]*>(.*?)</p>', r.text).group(1)
        answers.append((r.status_code, error, sorted(k for k in r.headers if k != "content-length")))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][:2] == (400, "Wrong username or password.")


# -- finding 10 --------------------------------------------------------------------
def test_x_forwarded_for_is_ignored_in_process_without_a_trusted_proxy(make_app, connect):
    app = make_app(signup_rate_limit="2/hour")
    client = connect(app, "203.0.113.20")
    statuses = [signup(client, f"forger{i}", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code
                for i in range(4)]
    assert statuses == [303, 303, 429, 429]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])                     # two: how the Procfile runs it
def test_finding_10_x_forwarded_for_is_ignored_without_a_trusted_proxy(tmp_path, store_url, workers):
    """Through `newsloom serve`, as deployed: uvicorn believes X-Forwarded-For from 127.0.0.1 by
    default, so every local client (and any proxy passing the header on) could pick its address."""
    env = {**os.environ, "NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_DATABASE_URL": store_url,
           "NEWSLOOM_ARGON2_TIME_COST": "1", "NEWSLOOM_ARGON2_MEMORY_COST": "8192",
           "NEWSLOOM_SIGNUP_RATE_LIMIT": "2/hour", "NEWSLOOM_PAGE_CACHE_SECONDS": "0"}
    env.pop("FORWARDED_ALLOW_IPS", None)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "serve", "--port", str(port), "--no-scheduler",
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.2)
        statuses = []
        for i in range(3):
            with httpx.Client(base_url=base, timeout=10) as client:
                token = csrf_from(client.get("/signup").text)
                statuses.append(client.post("/signup", headers={"X-Forwarded-For": f"192.0.2.{i}"},
                                            data={"username": f"local{i}", "password": PASSWORD,
                                                  "password2": PASSWORD, "csrf_token": token}).status_code)
        assert statuses == [303, 303, 429]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_finding_10_x_forwarded_for_behind_a_trusted_proxy(make_app, connect):
    app = make_app(signup_rate_limit="1/hour", trusted_proxies=["10.0.0.0/8", "2001:db8:ffff::/48"])
    proxy = connect(app, "10.0.0.2")
    # Two readers behind the proxy count apart: the right-most address not a proxy is the client.
    assert signup(proxy, "reader1", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 303
    assert signup(proxy, "reader2", **{"X-Forwarded-For": "198.51.100.2, 10.0.0.9"}).status_code == 303
    # A reader cannot pick an address by writing one in front: the proxy appends the real one.
    assert signup(proxy, "reader3", **{"X-Forwarded-For": "192.0.2.99, 198.51.100.1"}).status_code == 429
    # Several header lines are one list, read right to left; ports and brackets are allowed.
    proxy.cookies.clear()
    token = csrf_from(proxy.get("/signup").text)
    form = {"username": "reader4", "password": PASSWORD, "password2": PASSWORD, "csrf_token": token}
    lines = [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "198.51.100.4:3128, 10.0.0.9")]
    assert proxy.post("/signup", data=form, headers=lines).status_code == 303
    v6 = connect(app, "2001:db8:ffff::1")
    assert signup(v6, "reader5", **{"X-Forwarded-For": "[2001:db8:aaaa::1]:4711"}).status_code == 303
    # Without a header, or from a peer that is not a trusted proxy, the peer is the client.
    assert signup(connect(app, "10.0.0.3"), "reader6").status_code == 303
    assert signup(connect(app, "10.0.0.3"), "reader7").status_code == 429
    outsider = connect(app, "203.0.113.50")
    assert signup(outsider, "reader8", **{"X-Forwarded-For": "198.51.100.3"}).status_code == 303
    assert signup(outsider, "reader9", **{"X-Forwarded-For": "198.51.100.4"}).status_code == 429


def test_trusted_proxies_must_be_networks(make_app):
    from newsloom.errors import SettingsError

    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        with TestClient(make_app(trusted_proxies=["not-a-network"])):
            pass


# -- finding 11 --------------------------------------------------------------------
WEAK = ["          ", "aaaaaaaaaa", "1234567890", "password12", "qwertyuiop", "abcdefghijk", "0987654321",
        "newsloom2024", "iloveyou123", "passwordpassword", "sunshine99", "\t\t\t\t\t\t\t\t\t\t", "zzzzzzzzzzzzzzzzzzzz",
        "letmein1234", "Password123!"]
STRONG = [PASSWORD, "moderator password 1", "a reader password", "a long enough password", "Tr0ub4dor&3 horse",
          "jb7#Qe!pLw2z", "🐙 octopus ink at dawn", "x" * 10 + " ships sail at noon"]


def test_finding_11_weak_passwords_are_refused(make_app, connect, store):
    app = make_app()
    client = connect(app)
    for i, password in enumerate(WEAK):
        r = signup(client, f"weakling{i}", password)
        assert r.status_code == 400 and "<form" in r.text, (password, r.status_code)
        assert store.find_user(f"weakling{i}") is None, password
    assert signup(client, "casper", "casper casper").status_code == 400      # the username, repeated
    for i, password in enumerate(STRONG):
        client.cookies.clear()
        assert signup(client, f"strong{i}", password).status_code == 303, password


def test_the_password_policy_itself():
    from newsloom.serve.auth import password_problem

    assert password_problem(" " * 20, "someone") is not None
    assert "at least 10" in password_problem("short", "someone")
    assert password_problem("a" * 2000, "someone") is not None               # too long, and all one character
    long = ("the harbour lights came back on along the quay after a winter of repairs, "
            "and the ferry to the island ran again on the first warm morning of spring")
    assert len(long) > 72 and password_problem(long, "someone") is None      # long passphrases are fine
    assert password_problem("elephant trunk " * 60, "someone") is not None   # one phrase, repeated
    assert password_problem("mallory-2024!", "mallory") is not None            # built on the username
    for password in STRONG:
        assert password_problem(password, "someone") is None, password


def test_finding_11_users_add_refuses_weak_passwords(tmp_path, store_url, store):
    from click.testing import CliRunner

    from newsloom.cli import main

    env = {"NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_DATABASE_URL": store_url,
           "NEWSLOOM_ARGON2_TIME_COST": "1", "NEWSLOOM_ARGON2_MEMORY_COST": "8192"}
    runner = CliRunner()
    for password in ("password12", "          ", "1234567890"):
        result = runner.invoke(main, ["users", "add", "root", "--password", password], env=env)
        assert result.exit_code != 0 and "password" in result.output.lower(), result.output
    assert store.find_user("root") is None
    result = runner.invoke(main, ["users", "add", "root", "--role", "admin", "--password", PASSWORD], env=env)
    assert result.exit_code == 0, result.output


# -- finding 12 --------------------------------------------------------------------
def test_finding_12_a_moderator_cannot_undo_an_admins_ban(make_app, connect, store):
    app = make_app()
    admin, mod = as_user(connect, app, store, "boss", "admin"), as_user(connect, app, store, "mod", "moderator")
    store.create_user("troll", PASSWORD_HASH)
    assert post_form(admin, "/users/troll/ban").status_code == 303
    r = post_form(mod, "/users/troll/unban")
    assert r.status_code == 403 and store.find_user("troll").banned
    assert post_form(mod, "/users/troll/ban").status_code == 303            # banning again changes nothing...
    assert post_form(mod, "/users/troll/unban").status_code == 403          # ...the ban is still the admin's
    # the moderation page offers the moderator no Unban button for it; the admin gets one
    assert 'action="/users/troll/unban"' not in mod.get("/moderation").text
    assert 'action="/users/troll/unban"' in admin.get("/moderation").text
    assert post_form(admin, "/users/troll/unban").status_code == 303 and not store.find_user("troll").banned


def test_who_may_ban_and_unban_whom(make_app, connect, store):
    app = make_app()
    admin, mod = as_user(connect, app, store, "boss", "admin"), as_user(connect, app, store, "mod", "moderator")
    other_admin = as_user(connect, app, store, "boss2", "admin")
    user = as_user(connect, app, store, "plain")
    store.create_user("spammer", PASSWORD_HASH)
    store.create_user("mod2", PASSWORD_HASH, role="moderator")
    # A moderator bans and unbans regular users, and lifts another moderator's ban on one.
    assert post_form(mod, "/users/spammer/ban").status_code == 303 and store.find_user("spammer").banned
    assert post_form(mod, "/users/spammer/unban").status_code == 303 and not store.find_user("spammer").banned
    # A moderator never touches moderators or admins, banned or not.
    assert post_form(mod, "/users/mod2/ban").status_code == 403
    assert post_form(mod, "/users/boss/ban").status_code == 403
    assert post_form(admin, "/users/mod2/ban").status_code == 303
    assert post_form(mod, "/users/mod2/unban").status_code == 403 and store.find_user("mod2").banned
    # A ban from before anyone recorded who placed it counts as an admin's.
    store.set_banned("spammer", True)
    assert post_form(mod, "/users/spammer/unban").status_code == 403 and store.find_user("spammer").banned
    # Regular users moderate nothing; an admin does anything, to another admin too.
    assert post_form(user, "/users/spammer/unban").status_code == 403
    assert post_form(user, "/users/mod/ban").status_code == 403
    assert post_form(admin, "/users/boss2/ban").status_code == 303 and store.find_user("boss2").banned
    assert other_admin.get("/account").status_code == 303                    # its sessions ended
    assert post_form(admin, "/users/boss/ban").status_code == 403            # but never yourself
    assert post_form(admin, "/users/spammer/unban").status_code == 303
    assert post_form(admin, "/users/mod2/unban").status_code == 303 and not store.find_user("mod2").banned
