"""The LLM client against a real local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import json

import pytest

from newsloom.enrich.llm import LLMClient, cited, format_passages, validate_citations
from newsloom.enrich.summarize import Cited

PASSAGES = [
    Cited("Veltria and Tavessa agreed to exchange more than 340 detainees.", "a1", "The Civic Ledger"),
    Cited("About 300 people were released, according to the Northern Relief Committee.", "a2",
          "Pocket Bulletin"),
]


def test_brief_sends_chat_completions_and_keeps_valid_citations(server):
    server.completion("The two countries agreed an exchange [1]. About 300 were freed [2][7]. "
                      "Observers disagree [1, 9].")
    client = LLMClient(server.base, "tiny-model", api_key="sk-test", timeout=5)
    text = client.brief(PASSAGES)
    assert text == ("The two countries agreed an exchange [1]. About 300 were freed [2]. "
                    "Observers disagree [1].")
    assert cited(text) == [1, 2]
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["json"]
    assert body["model"] == "tiny-model" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "[1] (The Civic Ledger) Veltria and Tavessa" in user
    assert "[2] (Pocket Bulletin) About 300 people" in user


def test_answer_cites_and_refusals_fall_back(server):
    server.completion("About 300 people were released [2].")
    client = LLMClient(server.base + "/v1/", "tiny-model", timeout=5)    # /v1 not doubled
    assert client.answer("How many were released?", PASSAGES) == "About 300 people were released [2]."
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions" and "Authorization" not in req["headers"]
    assert "Question: How many were released?" in req["json"]["messages"][1]["content"]
    server.completion("NOT_FOUND")
    assert client.answer("What is the capital of Mars?", PASSAGES) is None
    server.completion("Three hundred people [5].")          # cites nothing real
    assert client.answer("How many?", PASSAGES) is None


@pytest.mark.parametrize("reply", [
    (500, b'{"error": "boom"}', 0.0),
    (200, b"not json", 0.0),
    (200, b'{"choices": []}', 0.0),
    (200, b'{"choices": [{"message": {"content": ""}}]}', 0.0),
    (200, b'{"choices": [{"message": {"content": "late [1]"}}]}', 0.8),
])
def test_any_failure_returns_none(server, reply):
    server.reply = reply
    client = LLMClient(server.base, "tiny-model", timeout=0.5)
    assert client.brief(PASSAGES) is None


def test_unreachable_server_returns_none(server):
    base = server.base
    server.close()
    assert LLMClient(base, "m", timeout=1).brief(PASSAGES) is None


def test_citation_helpers():
    assert validate_citations("A [0] b [3] c [1;2] d [2, 2].", 2) == "A b c [1][2] d [2]."
    assert cited("x [2] y [1, 2]") == [2, 1]
    assert format_passages(["plain"]) == "[1] plain"
