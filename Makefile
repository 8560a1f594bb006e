# The README's commands. Each one creates or updates .venv from nothing, then does its job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
PG_TEST_DB ?= survey_test_$(shell echo $$$$)

AXE := $(VENV)/node/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

.PHONY: demo test bench lint typecheck test-sqlite test-postgres system-deps clean lock \
	catalogs translations translations-check

# Installs exactly the versions in requirements.lock (hash-checked), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e '.[dev]'
	touch $(STAMP)

# Re-resolve every dependency (within pyproject.toml's bounds) and rewrite requirements.lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --upgrade --extra dev --generate-hashes --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

demo: $(STAMP) catalogs
	$(BIN)/flask --app wsgi demo

# Compile each language's messages.po into the messages.mo the app reads (only those that changed).
catalogs: $(STAMP)
	$(BIN)/python scripts/translations.py compile

# After adding or changing words (or merging docs/i18n-pending/*.po): extract every msgid, fill
# in the pending translations, update each language's catalog, compile, list what is missing.
translations: $(STAMP)
	$(BIN)/python scripts/translations.py

# Fails listing every msgid a configured language has no translation for.
translations-check: $(STAMP)
	$(BIN)/python scripts/translations.py check

# Debian packages the tests need: Chromium for the browser tests, poppler for PDF page images.
system-deps:
	@bash scripts/system-deps.sh

# axe-core (accessibility rules) for the browser tests, from the npm registry.
$(AXE):
	npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/node axe-core@$(AXE_VERSION)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict surveys scoring app/services app/tasks.py app/reporting

test-sqlite: $(STAMP) $(AXE) catalogs
	$(BIN)/python -m pytest

test-postgres: $(STAMP) $(AXE) catalogs
	@bash scripts/with-postgres.sh $(BIN)/python -m pytest

test: $(STAMP) system-deps $(AXE) lint typecheck test-sqlite test-postgres

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
