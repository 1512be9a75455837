# Everything runs from a virtualenv in .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The worker looks for due tasks every 0.2 s when idle (1 s by default): webhooks arrive well within a second.
WORKER_ARGS ?= --interval 0.2

.PHONY: install run test lint format migrate demo serve worker bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput -v0

# Migrates and seeds in one process: Django starts once.
demo: install
	$(PY) manage.py seed_demo --migrate

# The task worker runs beside the development server and stops with it.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/api/docs/), task worker beside it"
	$(PY) manage.py db_worker $(WORKER_ARGS) & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# The background task worker alone (webhook deliveries, large imports); in production run it beside `make serve`.
worker: migrate
	$(PY) manage.py db_worker $(WORKER_ARGS)

test: install
	$(PY) -m ruff check .
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
		echo "make test: no chromium/chromedriver, so the browser tests are SKIPPED (apt-get install chromium chromium-driver)"
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Production serving: needs SECRET_KEY (50+ random characters) and usually DATABASE_URL in the environment.
serve: export DJANGO_SETTINGS_MODULE = leadsite.settings.production
serve: export HOST := $(HOST)
serve: export PORT := $(PORT)
serve: install
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py migrate --noinput -v0
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py

# Benchmarks at a million leads (see bench/RESULTS.md). They print figures, they never fail.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/leads_bench
BENCH_LEADS ?= 1000000

bench: export DATABASE_URL = $(BENCH_DATABASE_URL)
bench: install
	$(PY) bench/load.py --leads $(BENCH_LEADS) --if-missing
	$(PY) manage.py migrate --noinput -v0
	$(PY) bench/explain.py
	$(PY) bench/api.py
	$(PY) bench/loadrun.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
