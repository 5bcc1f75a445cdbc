"""Optional LLM rewriting of briefs and answers through an OpenAI-compatible server.

Off unless the caller builds a :class:`LLMClient` (base URL and model name come from the
caller's settings; nothing here reads settings or the environment). The model only ever
sees numbered passages taken from the story's own articles and is told to cite them as
``[1]``, ``[2]``; the reply is kept only if it cites at least one passage, and every
marker that points to no passage is removed (:func:`validate_citations`). Any failure -
connection refused, timeout, non-2xx status, malformed JSON, an empty or uncited reply,
the model saying the passages do not answer - returns ``None`` and the caller keeps the
extractive result (:func:`summarize.story_brief`, :func:`qa.answer`).

Protocol: ``POST {base_url}/v1/chat/completions`` with ``{"model", "messages":
[system, user], "temperature": 0, "max_tokens"}`` and ``Authorization: Bearer <key>``
when a key is given; the text is ``choices[0].message.content``. A *base_url* that already
ends in ``/v1`` is not doubled.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import httpx

from ..errors import FetchError
from ..ingest.http import post_json

__all__ = ["LLMClient", "validate_citations", "cited", "format_passages", "NOT_FOUND"]

log = logging.getLogger("newsloom.enrich.llm")

NOT_FOUND = "NOT_FOUND"
_CITE_RE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")

_SYSTEM_BRIEF = (
    "You write short neutral news briefs. Use only the numbered passages you are given. "
    "After every sentence, cite the passages it relies on as [n]. Do not add facts. "
    "When passages disagree, say so and cite both. At most five sentences.")
_SYSTEM_ANSWER = (
    "You answer questions using only the numbered passages you are given. Cite the "
    f"passages you rely on as [n]. If the passages do not contain the answer, reply "
    f"exactly {NOT_FOUND}. Answer in one to three sentences.")


def _passage_text(p: Any) -> tuple[str, str]:
    if isinstance(p, str):
        return p, ""
    text = getattr(p, "sentence", None) or getattr(p, "text", None) or str(p)
    return text, getattr(p, "source", "") or ""


def format_passages(passages: Sequence[Any]) -> str:
    """"[1] (Publisher) text" lines, numbered from 1 in the given order."""
    lines = []
    for i, p in enumerate(passages, 1):
        text, source = _passage_text(p)
        lines.append(f"[{i}] ({source}) {text}" if source else f"[{i}] {text}")
    return "\n".join(lines)


def validate_citations(text: str, n_passages: int) -> str:
    """Drop citation markers that point to no passage ([0], [7] of 3); keep the rest."""
    def fix(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        ok = [x for x in dict.fromkeys(nums) if 1 <= x <= n_passages]
        return "".join(f"[{x}]" for x in ok)
    out = _CITE_RE.sub(fix, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def cited(text: str) -> list[int]:
    """Passage numbers cited in *text*, in order of first citation."""
    seen: dict[int, None] = {}
    for m in _CITE_RE.finditer(text or ""):
        for x in re.split(r"\s*[,;]\s*", m.group(1)):
            seen.setdefault(int(x), None)
    return list(seen)


class LLMClient:
    """A minimal chat-completions client; every method returns ``None`` on any failure."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout: float = 30, *, max_tokens: int = 400,
                 transport: httpx.BaseTransport | None = None) -> None:
        base = base_url.rstrip("/")
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._transport = transport

    def complete(self, system: str, user: str) -> str | None:
        """The assistant's reply text, or None."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        try:
            reply = post_json(self.url, payload, headers=headers, timeout=self.timeout, transport=self._transport)
            content = reply["choices"][0]["message"]["content"]      # type: ignore[index]
        except (FetchError, KeyError, IndexError, TypeError) as exc:
            log.warning("llm: request failed, using the extractive result",
                        extra={"url": self.url, "error": type(exc).__name__})
            return None
        if not isinstance(content, str) or not content.strip():
            return None
        return content.strip()

    def _grounded(self, reply: str | None, n: int) -> str | None:
        if reply is None or reply.strip().upper().startswith(NOT_FOUND):
            return None
        text = validate_citations(reply, n)
        if not cited(text):
            log.warning("llm: reply cites no passage, using the extractive result",
                        extra={"url": self.url})
            return None
        return text

    def brief(self, passages: Sequence[Any]) -> str | None:
        """A short brief of *passages* (Cited or str) citing them as [n], or None."""
        if not passages:
            return None
        user = "Passages:\n" + format_passages(passages) + "\n\nWrite the brief."
        return self._grounded(self.complete(_SYSTEM_BRIEF, user), len(passages))

    def answer(self, question: str, passages: Sequence[Any]) -> str | None:
        """An answer to *question* from *passages* citing them as [n], or None."""
        if not passages or not question.strip():
            return None
        user = ("Passages:\n" + format_passages(passages)
                + f"\n\nQuestion: {question.strip()}\nAnswer:")
        return self._grounded(self.complete(_SYSTEM_ANSWER, user), len(passages))
