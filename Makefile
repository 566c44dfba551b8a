# Two commands on a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/postgres

# The browser test drives Debian's Chromium; Playwright must never fetch a browser build of its own.
CHROMIUM := /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: install browser demo test test-sqlite test-postgres bench bench-quick mutate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# Debian's Chromium for tests/browser (apt-get as root, else through sudo); nothing when present.
# A prerequisite of `make test` only: `make demo` needs no browser.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing Debian's chromium for the browser test"; \
		$$SUDO apt-get update -q && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	fi

demo: install
	./scripts/demo.sh

# Every test runs with the state store on SQLite, then again on PostgreSQL (in CI always; outside
# CI only when a server answers at 127.0.0.1:5432).
test: install browser
	$(PY) -m pytest -q --durations=25
	@if [ -n "$$CI" ] || $(PY) scripts/pg_up.py "$(PG_URL)"; then \
		echo "== again with the state store on PostgreSQL =="; \
		INTEGRATIONS_TEST_PG_URL="$(PG_URL)" $(PY) -m pytest -q --durations=25; \
	else echo "PostgreSQL not reachable at 127.0.0.1:5432 and not in CI: PostgreSQL pass skipped"; fi

# Benchmarks (not tests: no timing is asserted anywhere); sizes: `$(PY) -m bench.run --help`.
# `make bench QUICK=1` (or `make bench-quick`): a developer's loop of a few minutes, smaller sizes.
bench: install
	$(PY) -m pip install -q -c constraints.txt -e '.[test,bench]'
	$(PY) -m bench.run $(if $(QUICK),--quick)

bench-quick:
	$(MAKE) bench QUICK=1

# Mutation check (not part of `make test`: ~15 min): each named mutation must turn its suites red;
# the table lands in docs/reliability.md. `$(PY) scripts/mutate.py --help` for one mutation at a time.
mutate: install
	$(PY) scripts/mutate.py

clean:
	rm -rf $(VENV) .dagster_home .sandbox .state
