# vendor-sandbox: `make run` starts the server, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
STAMP   = $(VENV)/.installed

.PHONY: run test lint fmt docker bench clean

## setup ---------------------------------------------------------------------------------
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## everyday ------------------------------------------------------------------------------
run: $(STAMP)
	$(BIN)/mock-server serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff format --check mock_server tests bench setup.py
	$(BIN)/ruff check mock_server tests bench setup.py
	$(BIN)/python -m pytest -q

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

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
