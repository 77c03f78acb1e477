# Stonks Oracle — one command to set up and run the demo, one to set up and run the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
BENCH_ARGS ?=

.PHONY: install demo test bench lint clean build-kernels

install: $(STAMP) build-kernels

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Re-resolve dependencies only when the project metadata changed.
$(STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --python $(PY) --quiet -e '.[dev]'
	touch $(STAMP)

# Rebuilds only the kernels whose .pyx changed (setuptools compares timestamps).
build-kernels: $(STAMP)
	$(PY) setup.py --quiet build_ext --inplace

demo: install
	$(VENV)/bin/stonks demo

test: install
	$(PY) -m pytest

bench: install
	@for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(PY) $$script $(BENCH_ARGS) || exit 1; \
	done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy plugins/stonks realtime signal_kernels

clean:
	rm -rf build $(VENV) .stonks signal_kernels/*.so signal_kernels/*.c
