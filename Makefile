# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/zombiewatch migrate
	$(BIN)/zombiewatch demo load --if-empty
	$(BIN)/zombiewatch apikey ensure-admin
	$(BIN)/zombiewatch serve --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

openapi: $(VENV)/.installed
	$(BIN)/zombiewatch openapi --out openapi/openapi.json

clean:
	rm -rf $(VENV) data .pytest_cache
