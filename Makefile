# One way to run everything: `make up` runs the platform, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
PACKAGES := -e shared[service,client] -e services/contacts -e services/properties -e services/invitations \
            -e services/notifications -e services/portal_gateway -e devtools
PYTEST := $(BIN)/python -m pytest
# Unit and end-to-end tests run without eventlet; service tests monkey-patch it, so they run apart.
NO_EVENTLET := -p no:pytest_nameko
STAMP := $(VENV)/.installed

.PHONY: up test install browser infra lint unit service e2e reset clean

up: install
	$(BIN)/python -m devtools.up

test: install browser infra lint unit service e2e

$(STAMP): constraints.txt requirements-dev.txt shared/pyproject.toml services/*/pyproject.toml devtools/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip==26.3
	$(PIP) -c constraints.txt $(PACKAGES) -r requirements-dev.txt
	touch $@

install: $(STAMP)

# Debian's Chromium, driven by Playwright for the browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 2; fi; }

infra: install
	$(BIN)/python -m devtools.infra_check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p shared -p contacts -p properties -p invitations -p notifications -p portal_gateway -p devtools

unit: install
	$(PYTEST) $(NO_EVENTLET) shared/tests services/*/tests/unit services/notifications/tests/sender devtools/tests

service: install infra
	$(PYTEST) services/*/tests/service

e2e: install infra browser
	$(PYTEST) $(NO_EVENTLET) tests

# Forget the local run's data: its database and demo credentials.
reset: install
	$(BIN)/python -m devtools.reset

clean:
	rm -rf $(VENV) var test-artifacts
