"""The comments API: public reads; writes with an API token (Bearer) or session + X-CSRF-Token."""

from __future__ import annotations

from .conftest import csrf_from, make_story, logged_in


def test_api_token_write_actions(make_client, store):
    story = make_story(store, "Bank raises rate")
    client = make_client()
    logged_in(client, store, "alice"), logged_in(make_client(), store, "bob")
    client.cookies.clear()                                                # a script: no cookies
    alice, bob = store.create_api_token("alice", name="cli"), store.create_api_token("bob")
    url = f"/api/v1/stories/{story.id}/comments"

    r = client.post(url, json={"body": "no token"})
    assert r.status_code == 401 and r.json()["error"]["message"].startswith("auth:")
    assert client.post(url, json={"body": "bad"}, headers={"Authorization": "Bearer nl_nope"}).status_code == 401
    assert client.post(url, json={"body": "basic"}, headers={"Authorization": "Basic eDp5"}).status_code == 401

    r = client.post(url, json={"body": "From a script <b>"}, headers={"Authorization": f"Bearer {alice}"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["author"] == "alice" and created["body"] == "From a script <b>" and created["state"] == "visible"
    r = client.post(url, json={"body": "A reply", "parent_id": created["id"]},
                    headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 201 and r.json()["parent_id"] == created["id"]
    reply = r.json()["id"]
    assert client.post(url, json={"body": ""}, headers={"Authorization": f"Bearer {alice}"}).status_code == 422

    listed = client.get(url).json()                                       # reads are public
    assert [(c["author"], c["parent_id"]) for c in listed] == [("alice", None), ("bob", created["id"])]

    cid = created["id"]
    assert client.patch(f"/api/v1/comments/{cid}", json={"body": "x"}).status_code == 401
    assert client.patch(f"/api/v1/comments/{cid}", json={"body": "x"},
                        headers={"Authorization": f"Bearer {bob}"}).status_code == 403
    r = client.patch(f"/api/v1/comments/{cid}", json={"body": "Edited by script"},
                     headers={"Authorization": f"Bearer {alice}"})
    assert r.status_code == 200 and r.json()["edited_at"] is not None

    r = client.post(f"/api/v1/comments/{cid}/reports", json={"reason": "test"},
                    headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 201 and r.json() == {"comment_id": cid, "created": True}
    r = client.post(f"/api/v1/comments/{cid}/reports", json={}, headers={"Authorization": f"Bearer {bob}"})
    assert r.json()["created"] is False

    assert client.delete(f"/api/v1/comments/{cid}").status_code == 401
    assert client.delete(f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {alice}"}).status_code == 204
    assert [c["state"] for c in client.get(url).json()] == ["deleted", "visible"]
    assert client.delete(f"/api/v1/comments/{reply}", headers={"Authorization": f"Bearer {bob}"}).status_code == 204
    assert client.get(url).json() == []
    assert client.get("/api/v1/stories/424242/comments").status_code == 404


def test_api_with_a_session_needs_the_csrf_header(client, store):
    story = make_story(store, "Launch scrubbed")
    logged_in(client, store, "carol")
    url = f"/api/v1/stories/{story.id}/comments"
    assert client.post(url, json={"body": "cookie only"}).status_code == 403
    token = csrf_from(client.get("/account").text)
    r = client.post(url, json={"body": "cookie and header"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201 and r.json()["author"] == "carol"


def test_api_rate_limit(make_client, store):
    story = make_story(store, "Crews strike")
    client = make_client(comment_rate_limit="1/minute")
    logged_in(client, store, "dave")
    token = store.create_api_token("dave")
    url, auth = f"/api/v1/stories/{story.id}/comments", {"Authorization": f"Bearer {token}"}
    assert client.post(url, json={"body": "one"}, headers=auth).status_code == 201
    r = client.post(url, json={"body": "two"}, headers=auth)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and "Retry-After" in r.headers


def test_comment_routes_are_in_the_openapi_spec(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/stories/{story_id}/comments", "/api/v1/comments/{comment_id}",
            "/api/v1/comments/{comment_id}/reports"} <= set(paths)
