# One way to run everything: `make up` runs the platform, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
PACKAGES := -e shared[service,client] -e services/contacts -e services/properties -e services/invitations \
            -e services/notifications -e services/portal_gateway -e devtools
PYTEST := $(BIN)/python -m pytest --durations=15
# Unit and end-to-end tests run without eventlet; service tests monkey-patch it, so they run apart.
NO_EVENTLET := -p no:pytest_nameko
STAMP := $(VENV)/.installed
# $(call timed,<command>): run it, then print how long the stage took (CI shows each stage's time).
timed = start=$$(date +%s); $(1); rc=$$?; echo "== $@: $$(( $$(date +%s) - start )) s"; exit $$rc

.PHONY: up test install browser infra lint unit service e2e checks faults faults-full hostile hostile-full reset clean \
        bench bench-rpc bench-page bench-bulk bench-senders bench-passwords bench-compose screenshots

up: install
	$(BIN)/python -m devtools.up

# Every suite runs side by side: each test run has a database, a vhost and ports of its own, and
# the fault suite stops and starts a PostgreSQL and a RabbitMQ of its own (devtools.private_servers),
# never the servers on 5432 and 5672. The longest suites start first.
test: install browser infra
	@$(call timed,$(MAKE) --no-print-directory -j7 --output-sync=target faults hostile service e2e unit lint checks)

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
	@$(call timed,$(BIN)/ruff check . && $(BIN)/ruff format --check . && \
	  $(BIN)/mypy -p shared -p contacts -p properties -p invitations -p notifications -p portal_gateway -p devtools -p bench)

unit: install
	@$(call timed,$(PYTEST) $(NO_EVENTLET) shared/tests services/*/tests/unit services/notifications/tests/sender devtools/tests)

service: install infra
	@$(call timed,$(PYTEST) services/*/tests/service)

# End to end: every service running as a process, driven over HTTP and in Chromium.
e2e: install infra browser
	@$(call timed,$(PYTEST) $(NO_EVENTLET) tests/e2e)

# The docs, the deployment files and the code's layout checked against the code.
checks: install
	@$(call timed,$(PYTEST) $(NO_EVENTLET) tests/docs tests/deploy tests/layout)

# Fault suite: kill -9 at each crash point, restarts of its own broker and database, SMTP failures, dead letters.
# CI runs the small variant; faults-full runs the sizes of docs/reliability.md.
faults: install infra
	@$(call timed,$(PYTEST) $(NO_EVENTLET) tests/faults)

faults-full: install infra
	@$(call timed,FAULTS_FULL=1 $(PYTEST) $(NO_EVENTLET) tests/faults)

# Hostile input: schemathesis over the OpenAPI, the authorization matrix, token guessing, spoofing.
hostile: install infra
	@$(call timed,$(PYTEST) $(NO_EVENTLET) tests/hostile)

hostile-full: install infra
	@$(call timed,HOSTILE_FULL=1 $(PYTEST) $(NO_EVENTLET) tests/hostile)

# The browser tests again, keeping their screenshots of every page in docs/screenshots/.
screenshots: install infra browser
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PYTEST) $(NO_EVENTLET) -m browser tests/e2e

# Benchmarks, on demand (never part of `make test`): results in bench/results/, tables in docs/performance.md.
bench: bench-rpc bench-page bench-bulk bench-senders bench-passwords bench-compose

bench-rpc: install infra
	$(BIN)/python -m bench.rpc

bench-page: install infra
	$(BIN)/python -m bench.portal_page

bench-bulk: install infra
	$(BIN)/python -m bench.bulk

bench-senders: install infra
	$(BIN)/python -m bench.sender_scaling

bench-passwords: install infra
	$(BIN)/python -m bench.passwords

bench-compose: install
	$(BIN)/python -m bench.compose

# Forget the local run's data: its database and demo credentials.
reset: install
	$(BIN)/python -m devtools.reset

clean:
	rm -rf $(VENV) var test-artifacts
