# Firma: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-dev bench clean migration chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/firma db upgrade
	$(BIN)/firma demo --if-empty
	$(BIN)/firma serve --host $(HOST) --port $(PORT)

# The browser test drives the Debian chromium (never a downloaded browser): install it
# when missing and apt-get is there; without it that one test is skipped, not failed.
chromium:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium; } || \
		echo "chromium could not be installed: the browser test will be skipped"

test: $(DEV_STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV_STAMP)
	$(BIN)/python bench/core.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

migration: $(DEV_STAMP)
	$(BIN)/python -m crm_core.migrate revision "$(MSG)"
