# Firma: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in this many pytest-xdist workers (each with its own databases; see
# tests/conftest.py); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test lint format install install-dev bench clean migration messages system-packages-run system-packages-test

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

run: $(STAMP) system-packages-run
	$(BIN)/firma db upgrade
	$(BIN)/firma demo --if-empty
	$(BIN)/firma serve --host $(HOST) --port $(PORT)

# Debian packages the project uses, installed with apt-get when missing (root, as on
# these machines): the DejaVu font the invoice PDF embeds for Cyrillic, and chromium for
# the browser tests (never a downloaded browser; without it those tests are skipped), and
# postfix for its smtp-sink (the campaign bench's sink and a pipelining test; the mail
# daemon itself is never started).
APT_RUN := fonts-dejavu-core
APT_TEST := fonts-dejavu-core chromium postfix

define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "installing $$missing"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
				|| echo "could not install $$missing"; \
		else echo "please install: $$missing (Debian packages)"; fi; \
	fi
endef

system-packages-run:
	$(call apt_install,$(APT_RUN))

system-packages-test:
	$(call apt_install,$(APT_TEST))

test: $(DEV_STAMP) system-packages-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

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

# Re-extract the translatable text of every door into its catalogs (then translate the
# new entries of each ru .po; the tests fail while one is missing).
DOORS := webforms bot backoffice messaging channels
messages: $(DEV_STAMP)
	@for d in $(DOORS); do \
		[ -d $$d/locale ] || continue; \
		$(BIN)/pybabel -q extract -F babel.cfg -k N_ -o $$d/locale/$$d.pot $$d && \
		$(BIN)/pybabel -q update -i $$d/locale/$$d.pot -d $$d/locale -D $$d --ignore-obsolete; \
	done
