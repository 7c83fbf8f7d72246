# aqicast: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help venv run test test-fast bench clean lock

help:
	@echo "make run    - set up the venv and run the daily pipeline locally on the in-repo sample"
	@echo "make test   - set up the venv and run the test suite"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lock   - re-resolve requirements*.txt from requirements*.in"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip sync --quiet -p $(PY) requirements.txt requirements-dev.txt
	$(UV) pip install --quiet -p $(PY) --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/aqicast run

test: $(STAMP)
	$(PY) -m pytest -n 2 --timeout 600

bench: $(STAMP)
	$(PY) bench/etl_bench.py

lock:
	uv pip compile requirements.in -p 3.11 -o requirements.txt
	uv pip compile requirements-dev.in -p 3.11 -o requirements-dev.txt

clean:
	rm -rf $(VENV) var .airflow
