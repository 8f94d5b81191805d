# Set-up and everyday commands. `make demo` and `make test` work on a fresh
# machine that reaches only the package registries (no model hub).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: install demo index ui test test-fast eval compare clean

install: $(VENV)/.installed

# torch first, pinned: 2.13.0 is the local CPU build; any other torch
# requirement would pull gigabytes of CUDA packages.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[test,llm,offline-llm]'
	touch $@

index: install
	$(BIN)/ragqa index

demo: index
	$(BIN)/ragqa ui --host $(HOST) --port $(PORT)

ui: demo

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

eval: install
	$(BIN)/ragqa eval --gold eval/gold.jsonl --out eval/reports/latest

compare: install
	$(BIN)/ragqa eval --gold eval/gold.jsonl --compare --out eval/reports/compare

clean:
	rm -rf $(VENV) eval/reports .pytest_cache
