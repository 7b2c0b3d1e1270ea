# Seva Desk — the two commands: `make run` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv venv-dev compile-translations extract-translations update-translations lint db-upgrade demo scheduler jobs bench fault clean

# `make run` needs only requirements.txt; `make test` (and lint, bench, fault) add the test
# tools of requirements-dev.txt (pytest, Playwright, hypothesis, schemathesis, ruff).
$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

compile-translations: venv
	$(BIN)/pybabel --quiet compile -d translations

extract-translations: venv
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -o messages.pot .

update-translations: extract-translations
	$(BIN)/pybabel --quiet update -i messages.pot -d translations --no-fuzzy-matching
	rm -f messages.pot

db-upgrade: venv
	$(FLASK) db upgrade

## run: set up everything, load demo data when the database is empty, serve with the scheduler.
## `make run PORT=8080` (and HOST=0.0.0.0) changes where it listens. Ctrl+C stops both
## processes and ends quietly: the recipe waits for them and exits 0.
run: venv compile-translations db-upgrade
	@$(FLASK) demo-data --if-empty --print-logins
	@echo ""
	@echo "Seva Desk on http://$(HOST):$(PORT)  (scheduler running in its own process; Ctrl+C stops both)"
	@$(FLASK) scheduler & sched=$$!; \
	  trap 'kill $$sched 2>/dev/null' EXIT; trap ':' INT; \
	  trap 'kill $$sched 2>/dev/null; echo ""; echo "Seva Desk stopped."; exit 0' TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT) --no-reload --with-threads; status=$$?; \
	  kill $$sched 2>/dev/null; wait $$sched 2>/dev/null; \
	  case $$status in 0|130) echo ""; echo "Seva Desk stopped."; exit 0;; *) exit $$status;; esac

## test: the whole suite (SQLite; also PostgreSQL when TEST_DATABASE_URL is set), with the
## browser tests (tests/e2e) when /usr/bin/chromium is installed; E2E=0 leaves them out.
E2E ?= 1
test: venv-dev compile-translations
	@if [ "$(E2E)" = "0" ]; then echo "== e2e browser tests: SKIPPED (E2E=0)"; \
	elif [ ! -x "$${E2E_CHROMIUM:-/usr/bin/chromium}" ]; then echo "== e2e browser tests: SKIPPED ($${E2E_CHROMIUM:-/usr/bin/chromium} not found: apt-get install chromium)"; \
	else echo "== e2e browser tests: running with $${E2E_CHROMIUM:-/usr/bin/chromium} (screenshots in tests/artifacts/e2e/)"; fi
	E2E=$(E2E) $(BIN)/python -m pytest -rs

## bench: seed a large database and measure pages with wrk (see docs/performance.md); then
## messages delivered per second by 1, 2 and 4 delivery workers against a local SMTP sink;
## then the queue search over a million cases, LIKE against full-text + trigram indexes
BENCH_ARGS ?= --cases 1000000 --db both --duration 15
DELIVERY_BENCH_ARGS ?= --messages 2000 --workers 1,2,4
SEARCH_BENCH_ARGS ?= --cases 1000000 --db postgres
bench: venv-dev compile-translations
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/delivery.py $(DELIVERY_BENCH_ARGS)
	$(BIN)/python bench/search.py $(SEARCH_BENCH_ARGS)

## fault: gunicorn, a scheduler pair and a PostgreSQL cluster of its own on loopback, mixed
## traffic; workers and the running scheduler SIGKILLed, PostgreSQL restarted mid-run; every
## accepted request stored exactly once, every due timer fired once (docs/deploy.md)
FAULT_ARGS ?= --duration 60 --threads 6
fault: venv-dev compile-translations
	$(BIN)/python bench/load_and_fault.py $(FAULT_ARGS)

lint: venv-dev
	$(BIN)/ruff check app tests bench

scheduler: venv
	$(FLASK) scheduler

jobs: venv
	$(FLASK) run-jobs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
