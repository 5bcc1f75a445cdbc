def test_users_add_set_role_and_token(cli, store):
    out = cli("users", "add", "editor", "--role", "admin", "--password", "a long enough password").output
    assert "created editor (admin)" in out
    assert store.find_user("editor").role == "admin"
    assert "editor is now moderator" in cli("users", "set-role", "editor", "moderator").output
    token = cli("users", "token", "editor").output.strip()
    assert token.startswith("nl_") and store.user_for_token(token).username == "editor"
    bad = cli("users", "add", "x", "--password", "short", ok=False)
    assert bad.exit_code != 0 and store.find_user("x") is None
    assert cli("users", "set-role", "nobody", "admin", ok=False).exit_code == 1
