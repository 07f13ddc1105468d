# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install ccm, run `ccm check` on the example clinic
#   make test   - create .venv, install ccm with its test tools, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/ccm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/ccm

demo: $(BIN)/ccm
	$(BIN)/ccm -d examples/clinic check --month 2026-10

test: $(BIN)/ccm
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest

bench: $(BIN)/ccm
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) benchmarks/data
