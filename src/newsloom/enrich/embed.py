"""Sentence embeddings, offline: a static model read by numpy and `tokenizers`.

The model (``models/embeddings.npz`` + ``models/embeddings-tokenizer.json``) is a 256-dim
model2vec-style distillation of all-MiniLM-L6-v2, built once by scripts/build-embeddings.sh
and committed; nothing is downloaded at run time. A text's vector is the mean of its
tokens' rows, L2-normalised: thousands of articles per second on one core. Why this model
and not a transformer: docs/embeddings.md (measured speed, memory and quality).

What is embedded (the pipeline's embed stage, tasks/pipeline.py, stores the vectors once per
article, store/vectors.py):

* an article: its title and lead (:func:`article_input`), the text the model was measured on;
* its passages (:func:`passages`): runs of whole sentences of about 60 words, for Q&A;
* a search query (:func:`query_vector`: its words the model knows whole) or a question, at
  read time (the only text embedded on a read).

Vectors are stored as float16 (512 bytes); cosine = dot product of the unit vectors.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .text import is_stopword, sentence_texts

__all__ = ["DIMS", "MODEL_ID", "StaticEmbedder", "embedder", "embed", "embed_articles", "query_vector", "article_input", "passages",
           "to_bytes", "from_bytes", "LEAD_WORDS", "PASSAGE_WORDS"]

MODELS = Path(__file__).parent / "models"
DIMS = 256
MODEL_ID = "minilm-static-256-v1"   # stored beside each vector: a new model means re-embedding
LEAD_WORDS = 60                     # title + the first 60 words: what docs/embeddings.md measured
PASSAGE_WORDS = 60                  # Q&A passages: whole sentences up to about this many words
MAX_TOKENS = 512


class StaticEmbedder:
    """Token rows averaged and normalised. Thread-safe (the tokenizer is used under a lock)."""

    def __init__(self, vectors: Path = MODELS / "embeddings.npz",
                 tokenizer: Path = MODELS / "embeddings-tokenizer.json") -> None:
        from tokenizers import Tokenizer   # imported here: only the embed stage needs it

        with np.load(vectors) as data:
            self.matrix = data["vectors"].astype(np.float32) * data["scale"][:, None]
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        unk = self.tokenizer.token_to_id("[UNK]")
        self.unknown = -1 if unk is None else unk
        self._lock = threading.Lock()
        if self.matrix.shape[1] != DIMS:
            raise ValueError(f"embed: the model has {self.matrix.shape[1]} dims, expected {DIMS}")

    def known(self, word: str) -> bool:
        """Whether the model has `word` as one token (not split into pieces, not unknown)."""
        with self._lock:
            ids = self.tokenizer.encode(word, add_special_tokens=False).ids
        return len(ids) == 1 and ids[0] != self.unknown

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), DIMS) float32 unit vectors; a text with no known token gets zeros."""
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encoded = self.tokenizer.encode_batch_fast([t or "" for t in texts], add_special_tokens=False)
        for i, enc in enumerate(encoded):
            ids = [t for t in enc.ids[:MAX_TOKENS] if t != self.unknown]
            if ids:
                out[i] = self.matrix[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


@lru_cache(maxsize=1)
def embedder() -> StaticEmbedder:
    """The process's model, loaded once (about 0.3 s, 40 MB)."""
    return StaticEmbedder()


def embed(texts: list[str]) -> np.ndarray:
    return embedder().embed(texts)


def query_vector(words: list[str]) -> np.ndarray | None:
    """A search query's embedding, from its content words (not stop words or numbers); None
    when the model knows none of them whole. A static model has no context to make sense of a
    word it splits into pieces: alone, the mean of "qu", "##asa", "##r" is noise that lands
    near arbitrary articles, so such a query (a rare name, a typo) is left to full text,
    which matches it exactly. Beside a word the model knows, a split word still adds meaning
    ("detainee exchange" is nearer the detainee story than "exchange" alone)."""
    model = embedder()
    content = [w for w in words if not is_stopword(w) and not w.isdigit()]
    if not any(model.known(w) for w in content):
        return None
    return model.embed([" ".join(content)])[0]


def embed_articles(articles: list[tuple[str | None, str | None]]) -> list[list[np.ndarray]]:
    """Per (title, text): [article vector, passage vectors...], in one batch through the model."""
    texts: list[str] = []
    counts: list[int] = []
    for title, text in articles:
        parts = [article_input(title, text), *passages(text)]
        texts += parts
        counts.append(len(parts))
    vectors = embed(texts)
    out, at = [], 0
    for n in counts:
        out.append(list(vectors[at:at + n]))
        at += n
    return out


def article_input(title: str | None, text: str | None) -> str:
    words = (text or "").split()[:LEAD_WORDS]
    return f"{title or ''}. {' '.join(words)}".strip(". ")


def passages(text: str | None, *, words: int = PASSAGE_WORDS) -> list[str]:
    """The text cut into runs of whole sentences of at most about `words` words (a longer
    sentence is a passage of its own). The same cut as Q&A's citations (enrich/qa.py)."""
    out: list[str] = []
    run: list[str] = []
    count = 0
    for sentence in sentence_texts(text or ""):
        n = len(sentence.split())
        if run and count + n > words:
            out.append(" ".join(run))
            run, count = [], 0
        run.append(sentence)
        count += n
    if run:
        out.append(" ".join(run))
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
