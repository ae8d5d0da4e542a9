# Two entry points for a fresh machine (see README):
#   make demo   set up .venv (torch's CPU build), then check and build specs/nin.yaml
#   make test   set up .venv-test (torch + torchvision, to compare with) and tools/yaml-ls,
#               run the whole suite
# Set-up is idempotent: a venv is (re)installed when pyproject.toml or its constraints change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_VENV := .venv-test
TEST_BIN := $(TEST_VENV)/bin
TEST_STAMP := $(TEST_VENV)/.installed
PIP := -m pip install --quiet --disable-pip-version-check
YAML_LS := tools/yaml-ls
YAML_LS_STAMP := $(YAML_LS)/node_modules/.installed

.PHONY: demo test lint setup setup-test graphviz system-packages yaml-ls gallery

setup: $(STAMP)

# netspec alone: what a user installs (the test tools live in .venv-test)
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) -c constraints.txt -e .
	touch $(STAMP)

setup-test: $(TEST_STAMP)

$(TEST_STAMP): pyproject.toml constraints-test.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_BIN)/python $(PIP) -c constraints-test.txt -e '.[test,vision]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/nin.yaml --table
	$(BIN)/netspec build specs/nin.yaml -o nin.pt2

# Python may write its bytecode here: on a machine that sets PYTHONDONTWRITEBYTECODE, every
# process of the suite, each of the two workers included, compiled netspec and the tests again
# (a fifth of the CPU time of the command-line tests, measured). netspec's compilation and
# mypy's first, cold run (about 35 s of CPU on a clean clone) go on in the background while
# the system packages install (network and disk more than CPU); the suite's mypy test then
# checks incrementally, from that cache, and still fails on any type error.
test: $(TEST_STAMP)
	@{ env -u PYTHONDONTWRITEBYTECODE $(TEST_BIN)/python -m compileall -q netspec bench; \
	  $(TEST_BIN)/python -m mypy; } >/dev/null 2>&1 & warming=$$!; \
	$(MAKE) --no-print-directory system-packages yaml-ls; made=$$?; \
	wait $$warming; exit $$made
	env -u PYTHONDONTWRITEBYTECODE $(TEST_BIN)/python -m pytest -n 2 -q

# Graphviz's dot, for rendering; installed with apt where that is possible (as root).
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; } \
		|| echo "note: Graphviz's dot is not installed: install it to render (tests needing it fail under CI=true)"

# The other Debian packages the suite needs, installed with apt as root in one update: the
# OpenGL library that Ultralytics' OpenCV (opencv-python) loads on import (the tests comparing
# the YOLO specs with Ultralytics), the shells whose completion scripts the tests run (bash is
# there already) and Neovim, whose headless run tests docs/editors.md's snippet; and Graphviz.
system-packages:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	ldconfig -p 2>/dev/null | grep -q 'libGL\.so\.1' || missing="$$missing libgl1 libglib2.0-0"; \
	command -v zsh >/dev/null 2>&1 || missing="$$missing zsh"; \
	command -v fish >/dev/null 2>&1 || missing="$$missing fish"; \
	command -v nvim >/dev/null 2>&1 || missing="$$missing neovim"; \
	[ -z "$$missing" ] || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
		|| echo "note: could not install$$missing with apt: without them rendering, the Ultralytics comparisons, shell completion and Neovim tests fail under CI=true"

# The real yaml-language-server (VS Code's YAML extension), which tests/test_schema_yls.py runs
# against netspec's JSON Schema: the version in tools/yaml-ls/package-lock.json, installed with
# npm ci when the lock file is newer than what is there. 1.25.0, as 2.x needs node 22.
yaml-ls: $(YAML_LS_STAMP)

$(YAML_LS_STAMP): $(YAML_LS)/package.json $(YAML_LS)/package-lock.json
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		cd $(YAML_LS) && npm ci --silent --no-audit --no-fund && touch node_modules/.installed; \
	else echo "note: node and npm are not installed: the yaml-language-server tests fail under CI=true"; fi

gallery: $(STAMP) graphviz
	$(BIN)/netspec schema -o docs/netspec.schema.json
	$(BIN)/netspec schema -o netspec/netspec.schema.json
	$(BIN)/python docs/make_gallery.py
	$(BIN)/python docs/make_diff_pictures.py

lint: $(TEST_STAMP)
	$(TEST_BIN)/ruff check netspec tests bench docs
	$(TEST_BIN)/ruff format --check netspec tests bench docs
	$(TEST_BIN)/mypy
