PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test test-scaleout test-browser test-libreoffice test-container screenshots bench fuzz examples clean lock

# One stamp per install flavour, so `make run` never pulls the test tools. Every package
# comes from a lock (requirements/*.lock: exact versions with their hashes, `make lock`),
# and a changed lock or pyproject.toml reinstalls. uv installs them (a fresh `make run` in
# half pip's time, docs/BENCHMARKS.md); uv itself comes from tools.lock. As pip does, it
# uses the system's CA store (a network that re-signs TLS) and compiles the bytecode: with
# PYTHONDONTWRITEBYTECODE set, every process would otherwise compile pandas and the rest
# from source at each start, and `make test` took 14 minutes instead of 9.
UV      := UV_NATIVE_TLS=1 UV_COMPILE_BYTECODE=1 $(BIN)/uv
INSTALL := $(UV) pip install --quiet --python $(BIN)/python
$(VENV)/.installed-uv: requirements/tools.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/tools.lock
	touch $@

$(VENV)/.installed-run: $(VENV)/.installed-uv pyproject.toml requirements/run.lock
	$(INSTALL) --require-hashes -r requirements/run.lock
	$(INSTALL) --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-uv pyproject.toml requirements/test.lock
	$(INSTALL) --require-hashes -r requirements/test.lock
	$(INSTALL) --no-deps -e .
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/bolservice serve --host 127.0.0.1 --port $(PORT) --root ./workspaces

test: $(VENV)/.installed-test
	$(BIN)/pytest -q

# Two instances behind nginx (deploy/nginx.conf), routing on the workspace id.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-scaleout: $(VENV)/.installed-test
	command -v nginx >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nginx-light; }
	$(BIN)/pytest -q -m scaleout tests/test_scaleout.py

# The pages for people in a real headless Chromium (tests/test_browser.py): Debian's
# chromium when none is installed, and Playwright to drive it (no browser download).
$(VENV)/.installed-browser: $(VENV)/.installed-test requirements/browser.lock
	$(INSTALL) --require-hashes -r requirements/browser.lock
	touch $@

INSTALL_CHROMIUM = command -v chromium >/dev/null || { $(SUDO) apt-get update -q && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
test-browser: $(VENV)/.installed-browser
	$(INSTALL_CHROMIUM)
	$(BIN)/pytest -q tests/test_browser.py

# The BOL workbook opened by a real spreadsheet program and written back as CSV
# (tests/test_workbook.py): Debian's LibreOffice Calc when none is installed.
test-libreoffice: $(VENV)/.installed-test
	command -v soffice >/dev/null || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libreoffice-calc-nogui; }
	$(BIN)/pytest -q tests/test_workbook.py

# The PostgreSQL store's tests (tests/test_store_contract.py) on a throwaway cluster of
# their own (tests/pgcluster.py: its own directory, socket and port, removed afterwards),
# installing Debian's postgresql when missing; there, PostgreSQL that does not start is a
# failure. `make test` runs them too where PostgreSQL is installed, and skips them without.
# The failure tests (tests/test_shared_store.py) put nginx in front of the instances: it is
# installed when missing, as test-scaleout does.
.PHONY: test-postgres
POSTGRES_TESTS := tests/test_store_contract.py tests/test_shared_store.py
# The HTTP suite again, its server two instances on one PostgreSQL store taking the
# requests in turn (tests/conftest.py --shared-store).
SHARED_HTTP_TESTS := tests/test_api.py tests/test_old_routes.py tests/test_integration.py \
	tests/test_error_codes.py tests/test_hostile.py tests/test_pages.py tests/test_damaged.py \
	tests/test_workbook.py
test-postgres: $(VENV)/.installed-test
	$(BIN)/python -c 'import sys, tests.pgcluster as c; sys.exit(c.binaries() is None)' || { \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }
	command -v nginx >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nginx-light; }
	BOLSERVICE_TEST_POSTGRES=required $(BIN)/pytest -q $(POSTGRES_TESTS)
	BOLSERVICE_TEST_POSTGRES=required $(BIN)/pytest -q --shared-store $(SHARED_HTTP_TESTS)

# Pictures of both pages for the README (docs/screenshots), taken by the browser tests.
screenshots: $(VENV)/.installed-browser
	$(INSTALL_CHROMIUM)
	BOLSERVICE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_browser.py

# The image built from this tree with podman and checked end to end (tests/container.sh):
# installs podman, runc and mmdebstrap when missing, and keeps podman's state and the
# Debian base it builds under ~/.cache/bolservice-container.
test-container:
	$(SUDO) bash tests/container.sh

# `make test` as a newcomer on a bare machine (tests/fresh.sh): a fresh clone of HEAD, so
# uncommitted changes are not tested, in the Debian 12 + Python 3.11 base that
# test-container builds and keeps, with make and git installed there and the packages
# from PyPI. Installs podman & co when missing, as test-container does. Measured on 2 cores
# with the base kept: 3.7 minutes (the suite 3.3 of them) on an otherwise idle machine,
# 9 while other test runs shared it; installing podman and building the base add 40 s.
.PHONY: test-fresh
test-fresh:
	$(SUDO) bash tests/fresh.sh

# Re-resolves the locks from pyproject.toml (and requirements/tools.in): the newest
# releases its ranges allow, for Python 3.11, each with its hashes. test.lock keeps
# run.lock's versions, browser.lock test.lock's.
COMPILE = $(UV) pip compile --quiet --upgrade --python-version 3.11 --generate-hashes
lock: $(VENV)/.installed-uv
	$(COMPILE) -o requirements/run.lock pyproject.toml
	$(COMPILE) --extra test -c requirements/run.lock -o requirements/test.lock pyproject.toml
	$(COMPILE) --extra test --extra browser -c requirements/test.lock -o requirements/browser.lock pyproject.toml
	$(COMPILE) -o requirements/tools.lock requirements/tools.in

# Engine, corpus, service, upload, idle, listing and crowd benchmarks; results and how to
# read them are in docs/BENCHMARKS.md. Each fails if one of its targets is missed; the
# service, upload, idle, fairness, listing and crowd benchmarks start their own 2-worker
# servers. Every benchmark runs, whichever misses a target; the target fails at the end,
# naming them.
BENCHES = parse_memory engines corpus service upload idle workbook fairness listing crowd shared_store
bench: $(VENV)/.installed-test
	@missed=""; for bench in $(BENCHES); do \
		echo "== bench.$$bench"; $(BIN)/python -m bench.$$bench || missed="$$missed bench.$$bench"; \
	done; \
	test -z "$$missed" || { echo "targets missed in:$$missed"; exit 1; }

# A long schemathesis run against a fresh server: no generated request may get a 5xx.
fuzz: $(VENV)/.installed-test
	$(BIN)/python -m tests.fuzz_http --max-examples 300

# Regenerates examples/sample.pdf, sample.csv and sample_bol.csv.
examples: $(VENV)/.installed-test
	$(BIN)/python -m tests.bolpdf examples

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# Rebuilds tests/corpus/: BOL PDFs printed by real PDF producers, each with its expected
# CSV (tests/corpus/README.md). Installs the producers that are missing (Debian packages,
# pip into the venv); `make test` needs none of them, the PDFs are committed.
CORPUS_DEBS := libreoffice-writer-nogui chromium ghostscript groff-base wkhtmltopdf librsvg2-bin \
	libcairo2 libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-liberation2 fonts-dejavu-core \
	fonts-crosextra-carlito
CORPUS_PIPS := weasyprint fpdf2 cairocffi
.PHONY: corpus
corpus: $(VENV)/.installed-test
	missing="$$(for p in $(CORPUS_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi
	$(BIN)/python -c 'import weasyprint, fpdf, cairocffi' 2>/dev/null || $(BIN)/pip install --quiet $(CORPUS_PIPS)
	$(BIN)/python -m tests.corpus_build
