# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint check-infra bench bench-load bench-ui dev clean ui-vendor screenshots

install: $(VENV)/.installed node_modules/.installed local.settings.json

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

local.settings.json:
	cp local.settings.example.json local.settings.json

.venv-tools/.installed: requirements-tools.txt
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install --quiet --upgrade pip
	.venv-tools/bin/pip install --quiet -r requirements-tools.txt
	touch $@

# checkov on infra/, actionlint + zizmor on the workflows, shellcheck on scripts/
check-infra: .venv-tools/.installed
	bash scripts/checkov.sh
	bash scripts/lint-workflows.sh

demo: install
	$(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One worker per core (pytest-xdist): the suite's host and browser tests wait on I/O much of
# the time, and every test works in tables (and on ports) of its own.
test: lint
	$(BIN)/pytest -n auto

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/schedules.py
	$(BIN)/python bench/approval_idle.py

# The dashboard's browser libraries, copied from node_modules (pinned in package-lock.json)
# into the packaged ui/vendor/; tests/test_ui.py fails when the copies are not current.
UI_VENDOR := node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css
ui-vendor: node_modules/.installed
	cp $(UI_VENDOR) ui/vendor/

# The dashboard's screenshots in docs/screenshots/, taken by its browser tests.
screenshots: install
	HAYMAKER_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_ui_browser.py

bench-ui: install
	$(BIN)/python bench/ui.py

bench-load: install
	$(BIN)/python bench/load.py

dev: install
	$(BIN)/haymaker dev

clean:
	rm -rf $(VENV) .venv-tools node_modules .haymaker .pytest_cache .ruff_cache
