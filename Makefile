PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test test-scaleout bench fuzz examples clean

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

# Engine and service benchmarks; results and how to read them are in docs/BENCHMARKS.md.
# The service benchmark starts its own 2-worker server and fails if a target is missed.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.parse_memory
	$(BIN)/python -m bench.engines
	$(BIN)/python -m bench.service

# A long schemathesis run against a fresh server: no generated request may get a 5xx.
fuzz: $(VENV)/.installed-test
	$(BIN)/python -m tests.fuzz_http --max-examples 300

# Regenerates examples/sample.pdf, sample.csv and sample_bol.csv.
examples: $(VENV)/.installed-test
	$(BIN)/python -m tests.bolpdf examples

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
