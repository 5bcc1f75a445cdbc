"""Sign up, log in, log out, sessions, CSRF and rate limits, through HTTP on both stores."""

from __future__ import annotations

from argon2 import PasswordHasher

from newsloom.serve.auth import SESSION_COOKIE

from .conftest import PASSWORD, csrf_from, logged_in, login, post_form, signup


def test_signup_login_logout_flow(client, store):
    r = signup(client, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie                                      # base_url is http here
    user = store.find_user("alice")
    assert user.role == "user" and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    home = client.get("/").text
    assert "alice" in home and "Log out" in home and "Log in" not in home

    old_session = client.cookies.get(SESSION_COOKIE)
    r = post_form(client, "/logout", csrf_page="/")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.cookies.get(SESSION_COOKIE) is None
    assert "Log in" in client.get("/").text
    client.cookies.set(SESSION_COOKIE, old_session)                    # the old cookie is dead server-side
    assert "Log out" not in client.get("/").text
    client.cookies.clear()

    r = login(client, "ALICE")                                         # names match case-insensitively
    assert r.status_code == 303 and client.cookies.get(SESSION_COOKIE) != old_session
    assert "Log out" in client.get("/").text


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    signup(client, "bob")
    client.cookies.clear()
    for name, password in (("bob", "wrong password!"), ("nobody", PASSWORD)):
        r = login(client, name, password)
        assert r.status_code == 400 and "Wrong username or password." in r.text
        assert "Traceback" not in r.text and SESSION_COOKIE not in r.headers.get("set-cookie", "")
        assert f'value="{name}"' in r.text                            # the form keeps the username


def test_signup_errors_rerender_the_form_with_400(client):
    signup(client, "carol")
    client.cookies.clear()
    cases = [("ab", PASSWORD, "3 to 32 characters", 400), ("bad name!", PASSWORD, "3 to 32 characters", 400),
             ("x" * 33, PASSWORD, "3 to 32 characters", 400), ("dave", "short", "at least 10 characters", 400),
             ("Carol", PASSWORD, "That username is taken.", 409)]          # a conflict: 409
    for username, password, message, status in cases:
        r = signup(client, username, password)
        assert r.status_code == status and message in r.text, (username, r.text[:200])
        assert "<form" in r.text and "Traceback" not in r.text
    r = signup(client, "erin", password2="something else entirely")
    assert r.status_code == 400 and "The two passwords differ." in r.text


def test_post_without_valid_csrf_token_is_403(client, store):
    page = client.get("/login")
    r = client.post("/login", data={"username": "x", "password": PASSWORD})
    assert r.status_code == 403 and "csrf" in r.text
    r = client.post("/login", data={"username": "x", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    anon_token = csrf_from(page.text)
    signup(client, "frank")
    for path in ("/logout", "/account/tokens", "/follow"):
        assert client.post(path, data={"kind": "story", "target": "1"}).status_code == 403
        # the anonymous token no longer counts once logged in: tokens are tied to the session
        assert client.post(path, data={"csrf_token": anon_token, "kind": "story", "target": "1"}).status_code == 403
    assert "Log out" in client.get("/").text                           # still logged in


def test_secure_cookie_when_base_url_is_https(make_client):
    client = make_client(base_url="https://news.example", client_url="https://testserver")
    r = signup(client, "grace")
    assert "Secure" in r.headers["set-cookie"]


def test_login_redirects_only_to_local_paths(client):
    signup(client, "heidi")
    client.cookies.clear()
    page = client.get("/login", params={"next": "//evil.example/x"})
    r = client.post("/login", data={"username": "heidi", "password": PASSWORD, "next": "//evil.example/x",
                                    "csrf_token": csrf_from(page.text)})
    assert r.headers["location"] == "/"
    client.cookies.clear()
    page = client.get("/login")
    r = client.post("/login", data={"username": "heidi", "password": PASSWORD, "next": "/for-you",
                                    "csrf_token": csrf_from(page.text)})
    assert r.headers["location"] == "/for-you"


def test_login_and_signup_rate_limits(make_client):
    client = make_client(login_rate_limit="3/minute", signup_rate_limit="2/hour")
    assert signup(client, "ivan").status_code == 303
    client.cookies.clear()
    assert signup(client, "judy").status_code == 303
    client.cookies.clear()
    r = signup(client, "mallory")
    assert r.status_code == 429 and "too many sign-ups" in r.text and int(r.headers["retry-after"]) > 0
    statuses = [login(client, "ivan", "not the password").status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    r = login(client, "ivan")                                          # even the right password waits
    assert r.status_code == 429 and "too many login attempts" in r.text and "Retry-After" in r.headers


def test_password_hash_is_upgraded_at_login_when_parameters_change(make_client, store):
    signup(make_client(), "kim")
    old = store.find_user("kim").password_hash
    assert PasswordHasher(time_cost=1, memory_cost=8192).check_needs_rehash(old) is False
    stronger = make_client(argon2_memory_cost=16384)
    assert login(stronger, "kim").status_code == 303
    new = store.find_user("kim").password_hash
    assert new != old and "m=16384" in new


def test_account_page_issues_and_revokes_api_tokens(client, store):
    signup(client, "liam")
    r = post_form(client, "/account/tokens", {"name": "my script"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    token = r.text.split('<code class="token">')[1].split("</code>")[0]
    assert token.startswith("nl_") and store.user_for_token(token).username == "liam"
    assert token not in client.get("/account").text                   # shown once
    [row] = store.list_api_tokens(store.find_user("liam").id)
    assert row["name"] == "my script"
    assert post_form(client, f"/account/tokens/{row['id']}/revoke").status_code == 303
    assert store.user_for_token(token) is None


def test_login_page_never_sends_you_back_to_itself(client, store):
    logged_in(client, store, "nina")
    for path in ("/login?next=/login", "/signup?next=/signup", "/login?next=https://evil.example/"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/"
