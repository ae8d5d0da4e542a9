# Two entry points for a fresh machine (see README):
#   make demo   set up .venv (torch's CPU build), then check and build specs/nin.yaml
#   make test   set up .venv-test (torch + torchvision, to compare with), run the whole suite
# Set-up is idempotent: a venv is (re)installed when pyproject.toml or its constraints change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_VENV := .venv-test
TEST_BIN := $(TEST_VENV)/bin
TEST_STAMP := $(TEST_VENV)/.installed
PIP := -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint setup setup-test graphviz libgl gallery

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup-test: $(TEST_STAMP)

$(TEST_STAMP): pyproject.toml constraints-test.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_BIN)/python $(PIP) -c constraints-test.txt -e '.[test,vision]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/netspec check specs/nin.yaml --table
	$(BIN)/netspec build specs/nin.yaml -o nin.pt2

test: $(TEST_STAMP) graphviz libgl
	$(TEST_BIN)/python -m pytest -n 2 -q

# Graphviz's dot, for rendering; installed with apt where that is possible (as root).
graphviz:
	@command -v dot >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; } \
		|| echo "note: Graphviz's dot is not installed: install it to render (tests needing it fail under CI=true)"

# The OpenGL library that Ultralytics' OpenCV (opencv-python) loads on import; the tests that
# compare the YOLOv8 specs with Ultralytics need it.
libgl:
	@ldconfig -p 2>/dev/null | grep -q 'libGL\.so\.1' || { command -v apt-get >/dev/null 2>&1 \
		&& [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgl1 libglib2.0-0 >/dev/null; } \
		|| echo "note: libGL is not installed: the tests that compare with Ultralytics fail under CI=true"

gallery: $(STAMP) graphviz
	$(BIN)/netspec schema -o docs/netspec.schema.json
	$(BIN)/netspec schema -o netspec/netspec.schema.json
	$(BIN)/python docs/make_gallery.py

lint: $(STAMP)
	$(BIN)/ruff check netspec tests bench
	$(BIN)/mypy
