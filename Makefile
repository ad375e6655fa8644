# vendor-sandbox: `make run` starts the server, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
STAMP   = $(VENV)/.installed
TESTSTAMP = $(VENV)/.installed-test
# pip prints a line per package it collects and installs (no --quiet): a first run shows progress at once.
PIP     = $(BIN)/python -m pip install --progress-bar on --disable-pip-version-check
# `make test` spreads the suite over one pytest-xdist worker per CPU, at most 4 (servers the tests start are
# extra processes). WORKERS=0 runs it in this one process; PYTEST_ARGS adds options or picks tests.
WORKERS ?= logical
PYTEST_ARGS ?=

.PHONY: run test lint fmt docker bench clean

## setup: `run` installs what running needs, `test` adds the test extras --------------------
$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing vendor-sandbox into $(VENV) (first run: about a minute)"
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $(STAMP)

$(TESTSTAMP): $(STAMP)
	@echo "==> installing the test extras"
	$(PIP) -e ".[test]"
	touch $(TESTSTAMP)

## everyday ------------------------------------------------------------------------------
run: $(STAMP)
	$(BIN)/mock-server serve --host $(HOST) --port $(PORT)

test: $(TESTSTAMP)
	$(BIN)/ruff format --check mock_server tests bench setup.py
	$(BIN)/ruff check mock_server tests bench setup.py
	$(BIN)/python -m pytest -q -n $(WORKERS) --maxprocesses=4 $(PYTEST_ARGS)

## quality -------------------------------------------------------------------------------
lint: $(STAMP)
	$(BIN)/ruff format --check mock_server tests bench setup.py
	$(BIN)/ruff check mock_server tests bench setup.py

fmt: $(STAMP)
	$(BIN)/ruff format mock_server tests bench setup.py
	$(BIN)/ruff check --fix mock_server tests bench setup.py

## packaging and measuring ----------------------------------------------------------------
docker:
	docker build -t vendor-sandbox .

bench: $(TESTSTAMP)
	$(BIN)/python bench/run.py --install-peers \
	  --variant 'workers-2=--workers 2 --state-url {redis} --state-namespace {namespace}'

clean:
	rm -rf $(VENV) build dist *.egg-info
