# Two entry points for a fresh clone: `make demo` (the main job, offline) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,bench,sentence-transformers]"
	touch $@

demo: setup
	$(BIN)/hubgen demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check hubgen tests
