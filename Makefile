# Minsheng: `make run` serves the whole system on the embedded default; `make test` runs
# ruff, mypy and pytest. Both create .venv and install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run serve test lint typecheck pytest install migrate demo clean bench

$(STAMP): requirements.txt requirements-dev.txt
	@bash scripts/system-deps.sh $(if $(filter test pytest lint typecheck,$(MAKECMDGOALS)),test,run)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
	@chmod 600 var/secret_key

migrate: install var/secret_key
	SECRET_KEY_FILE=var/secret_key $(PY) manage.py migrate --no-input

demo: migrate
	DEMO=1 SECRET_KEY_FILE=var/secret_key $(PY) manage.py load_demo

run: demo
	SECRET_KEY_FILE=var/secret_key $(PY) manage.py collectstatic --no-input -v 0
	@echo
	@echo "Minsheng 民声 is running at http://$(HOST):$(PORT)/"
	@echo "  citizens: /  and /track/   staff inbox: /inbox/   leadership: /dashboards/"
	@echo "  public: /public/ and /open311/v2/   admin: /admin/   API docs: /api/docs/"
	@SECRET_KEY_FILE=var/secret_key $(PY) manage.py load_demo --print-logins
	@echo
	DEMO=1 SECRET_KEY_FILE=var/secret_key $(VENV)/bin/daphne -b $(HOST) -p $(PORT) config.asgi:application

serve: install var/secret_key
	bash scripts/serve.sh

# The load workloads of docs/benchmarks.md against production mode on loopback (~10-20 min).
bench: install var/secret_key
	bash bench/bench.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

pytest: install
	$(VENV)/bin/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static test-artifacts
