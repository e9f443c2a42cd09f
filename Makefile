# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv and install what they need; nothing relies on a hand install.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8000

NPM_STAMP := frontend/node_modules/.installed

.PHONY: demo test lint format venv npm chromium clean

$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> creating virtual environment in $(VENV) and installing requirements (about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# The browser libraries, exactly as pinned in frontend/package-lock.json: chart.js (served as a
# static file for the lab's charts) and axe-core (the browser tests' accessibility check).
$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Debian's npm package"; exit 1; }
	@echo "==> installing the pinned frontend libraries (npm ci)"
	cd frontend && npm ci --no-audit --no-fund --prefer-offline
	@touch $(NPM_STAMP)

npm: $(NPM_STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "==> installing Debian's chromium for the browser tests"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
				|| echo "could not install chromium: browser tests will skip (CI fails on skips)"; \
		else \
			echo "/usr/bin/chromium missing: install Debian's chromium package to run browser tests"; \
		fi; \
	fi

test: $(STAMP) $(NPM_STAMP) chromium
	$(PY) scripts/run_tests.py $(PYTEST_ARGS)

demo: $(STAMP) $(NPM_STAMP)
	$(PY) scripts/demo.py --port $(DEMO_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var .pytest_cache
