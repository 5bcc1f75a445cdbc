# Two commands: `make run` (the demo newsroom, served at http://127.0.0.1:8000/) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install bench clean docs

$(BIN)/newsloom: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/newsloom

run: install
	$(BIN)/newsloom init
	$(BIN)/newsloom demo

test: install
	bash scripts/system-deps.sh
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/ingest.py

docs: install
	$(BIN)/newsloom settings --markdown > docs/settings.md

clean:
	rm -rf $(VENV) var .pytest_cache
