# TaskHub: `make run` starts everything, `make test` runs the linters and the whole suite.
# Both create .venv on first use; with DATABASE_URL / REDIS_URL unset they start an
# embedded PostgreSQL and Redis under .data/ (see scripts/devstack.py).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean-data

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) scripts/devstack.py run

test: lint
	$(PY) scripts/devstack.py test $(PYTEST_ARGS)

# ruff, then the layers contract of .importlinter (apps import downwards only).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) scripts/devstack.py bench $(BENCH)

clean-data:
	rm -rf .data
