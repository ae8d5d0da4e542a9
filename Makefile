# Two entry points for a fresh machine (see README):
#   make demo   set up, then check and build specs/nin.yaml
#   make test   set up, then run the whole test suite
# Set-up is idempotent: .venv is (re)installed when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/nin.yaml --table
	$(BIN)/netspec build specs/nin.yaml -o nin.pt2

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check netspec tests bench
	$(BIN)/mypy
