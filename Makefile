# btc-platform: `make up` runs the platform on embedded defaults, `make test` runs the tests.
# Both create the environment first: a Python >= 3.12 is found (scripts/find-python) and uv
# is bootstrapped into .tools/ when it is not installed.

SHELL := /bin/bash
PYTHON := $(shell scripts/find-python)
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := .venv
export UV_PYTHON_DOWNLOADS ?= never
# The suite on one worker per core (at most 4), each taking a test file at a time (its module
# fixtures stay in one process); PYTEST_WORKERS= runs it in one process.
PYTEST_WORKERS ?= --numprocesses=auto --maxprocesses=4 --dist=loadfile

.PHONY: up dagster mlflow test-tools test test-fast lint format bench soak clean help

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	@test -n "$(PYTHON)" || { echo "no Python >= 3.12 found" >&2; exit 1; }
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python "$(PYTHON)"
	@touch $@

up: $(VENV)/.synced  ## the whole platform on embedded defaults (ARGS="--source synthetic" offline); Ctrl-C stops it
	$(VENV)/bin/btc-platform up $(ARGS)

dagster: $(VENV)/.synced  ## the Dagster UI + daemon (drain sensor, assets, checks) on BTC_UI_PORT
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p $${BTC_UI_PORT:-3000}

mlflow: $(VENV)/.synced  ## the MLflow UI (runs, plots, registry) on BTC_MLFLOW_PORT
	$(VENV)/bin/btc-platform mlflow-ui

test: $(VENV)/.synced test-tools  ## lint, then the whole test suite (slow tests included)
	$(VENV)/bin/ruff check btc_platform btc_platform_tests bench
	$(VENV)/bin/ruff format --check btc_platform btc_platform_tests bench
	$(VENV)/bin/pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Tools some tests drive, from Debian when missing and apt-get can run: Chromium (the dashboard
# test renders the page with it), PostgreSQL (the DuckLake Postgres-catalog tests start a
# server) and docker-compose (validates docker-compose.yml; no engine needed). Without them
# those checks are reported as not run.
test-tools:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "chromium not found and not installable here: the dashboard check will not run"
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } \
	  || echo "PostgreSQL not found and not installable here: the Postgres-catalog tests will not run"
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } \
	  || echo "docker compose not found and not installable here: its config check will not run"

test-fast: $(VENV)/.synced  ## the tests without the slow ones
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.synced  ## ruff
	$(VENV)/bin/ruff check btc_platform btc_platform_tests bench

format: $(VENV)/.synced  ## ruff format + autofix
	$(VENV)/bin/ruff format btc_platform btc_platform_tests bench
	$(VENV)/bin/ruff check --fix btc_platform btc_platform_tests bench

bench: $(VENV)/.synced  ## the benchmarks (print their figures)
	$(VENV)/bin/python bench/ingest.py
	$(VENV)/bin/python bench/drain.py
	$(VENV)/bin/python bench/train.py
	$(VENV)/bin/python bench/serve.py
	$(VENV)/bin/python bench/quality.py
	$(VENV)/bin/python bench/up.py

soak: $(VENV)/.synced  ## 10 minutes of mixed requests against bentoml serve (bench/soak.py)
	$(VENV)/bin/python bench/soak.py

clean:  ## remove the environments and local state
	rm -rf $(VENV) .tools .btc-platform
