PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test test-scaleout test-browser screenshots bench fuzz examples clean

# One stamp per install flavour, so `make run` never pulls the test tools and a changed
# pyproject.toml reinstalls.
$(VENV)/.installed-run: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
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
$(VENV)/.installed-browser: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,browser]'
	touch $@

INSTALL_CHROMIUM = command -v chromium >/dev/null || { $(SUDO) apt-get update -q && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
test-browser: $(VENV)/.installed-browser
	$(INSTALL_CHROMIUM)
	$(BIN)/pytest -q tests/test_browser.py

# Pictures of both pages for the README (docs/screenshots), taken by the browser tests.
screenshots: $(VENV)/.installed-browser
	$(INSTALL_CHROMIUM)
	BOLSERVICE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_browser.py

# Engine, corpus, service, listing and crowd benchmarks; results and how to read them are in
# docs/BENCHMARKS.md. Each fails if one of its targets is missed; the service, fairness,
# listing and crowd benchmarks start their own 2-worker servers.
# Every benchmark runs, whichever misses a target; the target fails at the end, naming them.
BENCHES = parse_memory engines corpus service fairness listing crowd
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
