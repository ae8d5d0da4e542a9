# Two entry points for a fresh machine (see README):
#   make demo   set up, then check and build specs/nin.yaml
#   make test   set up, then run the whole test suite
# Set-up is idempotent: .venv is (re)installed when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup graphviz gallery

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/nin.yaml --table
	$(BIN)/netspec build specs/nin.yaml -o nin.pt2

test: $(STAMP) graphviz
	$(BIN)/python -m pytest -n 2 -q

# Graphviz's dot, for rendering; installed with apt where that is possible (as root).
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; } \
		|| echo "note: Graphviz's dot is not installed: install it to render (tests needing it fail under CI=true)"

gallery: $(STAMP) graphviz
	$(BIN)/netspec schema -o docs/netspec.schema.json
	$(BIN)/python docs/make_gallery.py

lint: $(STAMP)
	$(BIN)/ruff check netspec tests bench
	$(BIN)/mypy
