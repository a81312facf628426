# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
STRIPE_PORT ?= 12111
SEED ?= 42
RESIDENTS ?= 3000

.PHONY: run test test-pg test-smoke test-e2e lint venv demo messages clean fonts browser screenshots

$(STAMP): requirements.lock requirements-dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is missing: apt-get install python3 python3-venv (Debian 12 ships 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock -r requirements-dev.lock
	touch $(STAMP)

venv: $(STAMP)

## The Japanese font for receipts and permits (Debian's fonts-ipaexfont-gothic; needs root or sudo).
PDF_FONT := /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf
fonts:
	@test -f $(PDF_FONT) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q fonts-ipaexfont-gothic >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q fonts-ipaexfont-gothic >/dev/null; }; \
	  else sudo apt-get install -y -q fonts-ipaexfont-gothic; fi; }
	@test -f $(PDF_FONT) && echo "PDF font: $(PDF_FONT)"

## The browser for the end-to-end tests and the screenshots: Debian's chromium (driven by Playwright
## for Python, which never downloads a browser of its own) and a CJK font so Japanese renders.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
browser:
	@test -x $(CHROMIUM) -a -f $(CJK_FONT) || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }; \
	  else sudo apt-get install -y -q chromium fonts-noto-cjk; fi; }
	@test -x $(CHROMIUM) && echo "Browser: $$($(CHROMIUM) --version 2>/dev/null)"

## The app on embedded defaults: SQLite, in-memory channel layer, eager Celery, console e-mail.
run: $(STAMP) fonts
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo --seed $(SEED) --residents $(RESIDENTS) --if-empty
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_lottery_demo --seed $(SEED) --if-empty
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py demo_logins --port $(PORT)
	@# The local fake Stripe (payments/fake_stripe) runs beside the app and stops with it.
	$(PY) -m payments.fake_stripe --port $(STRIPE_PORT) --webhook-url http://127.0.0.1:$(PORT)/payments/webhook/ & \
	trap "kill $$!" EXIT INT TERM; \
	DJANGO_SETTINGS_MODULE=config.settings.local STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT) $(PY) manage.py runserver 127.0.0.1:$(PORT)

## The whole suite on PostgreSQL and Redis, then the smoke subset on SQLite, then the linters.
test: $(STAMP) fonts test-pg test-smoke test-e2e lint

test-pg: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadgroup -m "not e2e and not chaos" $(PYTEST_ARGS)

## Residents' flows in a real browser against a live server, with axe-core checks (tests/e2e).
test-e2e: $(STAMP) fonts browser
	$(PY) -m pytest -p no:cacheprovider -m e2e -q tests/e2e $(PYTEST_ARGS)

## docs/screenshots/*.png from a seeded demo server (desktop, smartphone, kiosk, staff).
screenshots: $(STAMP) fonts browser
	$(PY) tools/screenshots.py

test-smoke: $(STAMP)
	mkdir -p var
	DJANGO_SETTINGS_MODULE=config.settings.test_sqlite $(PY) -m pytest -p no:cacheprovider -m smoke -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py makemigrations --check --dry-run

## Rebuild the English catalogue after changing user-facing text.
messages: $(STAMP)
	$(PY) manage.py makemessages -l en --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=var
	$(PY) manage.py compilemessages -l en --ignore=.venv

demo: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py seed_demo --seed $(SEED) --residents $(RESIDENTS)

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache

## The 09:00 rush benchmark (loadtests/README.md): PROFILE=smoke|today|growth|stress, WAITING_ROOM=on|off.
PROFILE ?= growth
WAITING_ROOM ?= off
## The waiting room's admission rate for the run (residents let in per second); empty = the settings' default.
ADMIT ?=
## Residents' mean pause in seconds before each click (empty = the harness's default, 2; 0 = none).
THINK ?=
.PHONY: bench-rush bench-smoke

bench-rush: $(STAMP)
	$(if $(ADMIT),WAITING_ROOM_ADMIT_PER_SECOND=$(ADMIT)) $(PY) -m loadtests.bench --profile $(PROFILE) $(if $(filter on,$(WAITING_ROOM)),--waiting-room) $(if $(THINK),--think $(THINK))

bench-smoke: $(STAMP)
	$(PY) -m loadtests.bench --profile smoke

## The lottery draw benchmark: 100,000 and 1,000,000 synthetic entries on one core (docs/performance.md).
.PHONY: bench-draw
bench-draw: $(STAMP)
	$(PY) -m loadtests.bench_draw

## The lottery intake benchmark, scenario (b) (loadtests/README.md): PROFILE=smoke|today|growth|stress.
.PHONY: bench-intake
bench-intake: $(STAMP)
	$(if $(ADMIT),WAITING_ROOM_ADMIT_PER_SECOND=$(ADMIT)) $(PY) -m loadtests.bench --scenario intake --profile $(PROFILE) $(if $(filter on,$(WAITING_ROOM)),--waiting-room) $(if $(THINK),--think $(THINK))

## An ordinary day, scenario (c) (loadtests/README.md): PROFILE=smoke|today.
.PHONY: bench-day
bench-day: $(STAMP)
	$(PY) -m loadtests.bench --scenario day --profile $(PROFILE)

## Fault tests (tests/chaos, docs/reliability.md): PostgreSQL restarted mid-rush, Redis stopped and
## frozen, a Celery worker killed mid-draw, Stripe failing. They start their own PostgreSQL, Redis,
## uWSGI and Celery on free ports (never the shared 5432/6379); about four minutes. CI runs it.
.PHONY: chaos backup restore
chaos: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -m chaos -q tests/chaos $(PYTEST_ARGS)

## Back up DATABASE_URL with pg_dump (custom format) to var/backups/ (FILE=path to choose); docs/runbook.md.
backup: $(STAMP)
	$(PY) -m config.backup dump $(if $(FILE),--file "$(FILE)")

## Restore FILE into DATABASE_URL with pg_restore (asks before replacing a non-empty database; YES=1 does not).
restore: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/shisetsu-YYYYmmdd-HHMMSS.dump [YES=1]"; exit 2; }
	$(PY) -m config.backup restore --file "$(FILE)" $(if $(YES),--yes)
