# The two commands of the README, and the steps they are made of.
#   make run    install what is missing, start PostGIS and the MQTT broker, load Ptuj, serve
#               http://localhost:5006 with the live feed's ingest (and, unless GIS_FEED=off,
#               the sample's feed simulator) beside it
#   make test   the same set-up, then the whole test suite (browser tests included)
#   make soak   the wall left running for half an hour (GIS_SOAK_SECONDS) through an outage
# With DATABASE_URL set, that server is used and no cluster is started; with GIS_MQTT_URL set,
# that broker (and no broker of our own). `make db-stop` and `make mqtt-stop` stop them.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5006
ADDRESS ?= 127.0.0.1
PROFILE ?= ptuj
# the suite's parallel workers, each with its own schemas and servers
TEST_WORKERS ?= 2
export GIS_PROFILE ?= $(PROFILE)

.PHONY: run test soak bench lint db db-stop mqtt mqtt-stop load sample system-packages python-env js-env backup restore clean

# The ingest and the simulator end with the server (Ctrl+C).
run: python-env js-env db mqtt load
	$(PY) -m dashboards.users demo
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT; \
	$(PY) -m etl listen & \
	if [ "$${GIS_FEED:-on}" != off ]; then $(PY) -m data.sample.feed & fi; \
	$(PY) app.py --port $(PORT) --address $(ADDRESS)

# The tests that stop PostGIS or the broker (marked `outage`) run after the others, alone.
test: python-env js-env db mqtt load
	@scripts/system-packages.sh browser gdal
	$(PY) -m pytest --numprocesses $(TEST_WORKERS) --dist loadfile -m "not outage"
	$(PY) -m pytest -m outage

# the wall's soak test for as long as a wall is left alone overnight (the suite soaks it briefly)
soak: python-env js-env db load
	@scripts/system-packages.sh browser
	GIS_SOAK_SECONDS=$${GIS_SOAK_SECONDS:-1800} $(PY) -m pytest tests/dashboards/test_wall_browser.py -k holds_steady -s

bench: python-env js-env db mqtt load
	@scripts/system-packages.sh gdal browser
	$(PY) benchmarks/viewport.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/exposure.py
	$(PY) benchmarks/sensors.py
	$(PY) benchmarks/archive.py
	$(PY) benchmarks/search.py
	$(PY) benchmarks/exports.py
	$(PY) benchmarks/feed.py
	$(PY) benchmarks/ogc.py
	$(PY) benchmarks/browser.py
	$(PY) benchmarks/browser.py --buildings 1000000 --sessions 1

lint: python-env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

system-packages:
	@scripts/system-packages.sh postgis pgrouting

python-env: $(VENV)/.installed
	@scripts/system-packages.sh jemalloc  # the server's allocator (app.py)

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --editable '.[dev]'
	touch $@

# The scripts the pages load from our server (dashboards/js/package.json), at the versions
# of its lock file.
js-env: dashboards/js/node_modules/.package-lock.json

dashboards/js/node_modules/.package-lock.json: dashboards/js/package-lock.json
	@scripts/system-packages.sh npm
	npm ci --prefix dashboards/js --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

db:
	@if [ -n "$$DATABASE_URL" ]; then echo "using DATABASE_URL; no cluster started"; \
	else scripts/system-packages.sh postgis pgrouting && scripts/pgcluster.sh start; fi

db-stop:
	scripts/pgcluster.sh stop

mqtt:
	@if [ -n "$$GIS_MQTT_URL" ]; then echo "using GIS_MQTT_URL; no broker started"; \
	else scripts/system-packages.sh mqtt && scripts/mqtt.sh start; fi

mqtt-stop:
	scripts/mqtt.sh stop

load: python-env
	$(PY) -m etl migrate
	$(PY) -m etl load-profile $(PROFILE) --missing

sample: python-env
	$(PY) -m data.sample --profile $(PROFILE)

# A backup of the database, the users file and the cookie secret (etl/backup.py).
backup: python-env db
	$(PY) -m etl.backup create

# make restore FILE=.local/backups/<time>: restored beside the live database, checked against
# the backup's manifest, then switched in; the replaced database is kept, renamed.
restore: python-env db
	@if [ -z "$(FILE)" ]; then echo "make restore FILE=<a backup's folder>; the backups: / varnostne kopije:"; \
	$(PY) -m etl.backup list; exit 2; fi
	$(PY) -m etl.backup restore "$(FILE)"

# Deletes the project's database for good (the backups in .local/backups stay): it asks first,
# and without a terminal it needs FORCE=1.
clean:
	@if [ "$(FORCE)" != 1 ]; then \
	  if [ ! -t 0 ]; then echo "make clean deletes the database: run it in a terminal, or with FORCE=1 / izbriše bazo: zaženite ga v terminalu ali s FORCE=1"; exit 2; fi; \
	  read -r -p "Delete the project's database, its users and secrets for good? / Trajno izbrišem bazo projekta? [y/N] " answer; \
	  case "$$answer" in [yYdD]*) ;; *) echo "nothing deleted / nič ni izbrisano"; exit 1;; esac; \
	fi
	scripts/pgcluster.sh stop
	scripts/mqtt.sh stop
	find .local -mindepth 1 -maxdepth 1 ! -name backups -exec rm -rf {} + 2>/dev/null || true
	rm -rf data/generated $(VENV)
