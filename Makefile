# aqicast: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# A side venv with docker-compose 1.29 (pure Python) to validate docker-compose.yaml without an engine.
COMPOSE_VENV := .venv-compose
COMPOSE := $(COMPOSE_VENV)/bin/docker-compose
export PATH := $(abspath $(VENV))/bin:$(PATH)
# The Spark engine's venv: the Glue 5.0 set (requirements-glue*.txt, Python 3.11, PySpark 3.5), for
# `aqicast etl --engine spark` and the `spark`-marked tests (never the MWAA or Lambda sets).
GLUE_VENV := .venv-glue
GLUE_PY := $(GLUE_VENV)/bin/python
GLUE_STAMP := $(GLUE_VENV)/.installed
GLUE_PYTHON ?= 3.11
SPARK_TESTS := tests/test_spark_engine.py

.PHONY: help venv browser run test bench fuzz clean lock airflow airflow-stop serve screenshots venv-glue java test-spark lock-glue bench-backfill

help:
	@echo "make run    - set up the venv and run the daily pipeline locally on the in-repo sample"
	@echo "make test   - set up the venv and run the test suite"
	@echo "make serve  - the API and web page on http://127.0.0.1:8000 (after make run)"
	@echo "make airflow - start the Airflow UI (airflow standalone) on this project's DAGs; make airflow-stop stops it"
	@echo "make screenshots - pictures of the DAG's graph and a run's grid for the README (docs/img/)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make fuzz   - the long reliability runs: 5,000 damaged-object cases and 30 SIGKILLs of aqicast etl"
	@echo "make lock   - re-resolve requirements*.txt from requirements*.in"
	@echo "make venv-glue - the Spark engine's venv (.venv-glue: Glue 5.0's Python 3.11 + PySpark 3.5, Java 17)"
	@echo "make test-spark - the spark-marked tests in .venv-glue (make test runs them too)"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip sync --quiet --compile-bytecode -p $(PY) requirements.txt requirements-dev.txt
	$(UV) pip install --quiet -p $(PY) --no-deps -e .
	$(PY) -m compileall -q include
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/aqicast run

$(COMPOSE): deploy/compose-build-constraints.txt | $(STAMP)
	$(UV) venv --quiet --allow-existing -p $(shell command -v $(PYTHON)) $(COMPOSE_VENV)
	$(UV) pip install --quiet -p $(COMPOSE_VENV)/bin/python --build-constraints deploy/compose-build-constraints.txt docker-compose==1.29.2
	touch $(COMPOSE)

# The web page test drives Debian's headless Chromium (Selenium, no driver downloads): install it
# from apt when missing (root, or passwordless sudo). If that is impossible, say so and go on; the
# browser test then fails with the same advice.
BROWSER_BINS := /usr/bin/chromium /usr/bin/chromedriver
browser:
	@missing=0; for b in $(BROWSER_BINS); do [ -x "$$b" ] || missing=1; done; \
	if [ $$missing = 0 ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "warning: chromium/chromedriver missing and not root: apt-get install -y chromium chromium-driver" >&2; exit 0; fi; \
	command -v apt-get >/dev/null || { echo "warning: chromium/chromedriver missing and no apt-get" >&2; exit 0; }; \
	echo "installing chromium and chromium-driver (apt) for the browser test"; \
	log=$$(mktemp); \
	if $$sudo apt-get update -qq >$$log 2>&1 && \
	   $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >>$$log 2>&1; \
	then rm -f $$log; else tail -n 20 $$log >&2; echo "warning: could not install chromium (log: $$log)" >&2; fi

test: $(STAMP) $(COMPOSE) browser $(GLUE_STAMP)
	$(PY) -m pytest -n 2 --timeout 900 -m "not spark"
	$(MAKE) --no-print-directory test-spark

# -- the Spark engine's venv (.venv-glue) ------------------------------------------------------------
# Precompiled bytecode (--compile-bytecode, compileall): these machines set PYTHONDONTWRITEBYTECODE=1,
# so without it every process compiles ~750 modules' source again (about 3 s per ETL start).
$(GLUE_STAMP): requirements-glue.txt requirements-glue-dev.txt pyproject.toml | $(STAMP) java
	$(UV) venv --quiet --allow-existing -p $(GLUE_PYTHON) $(GLUE_VENV)
	$(UV) pip sync --quiet --compile-bytecode -p $(GLUE_PY) requirements-glue.txt requirements-glue-dev.txt
	$(UV) pip install --quiet -p $(GLUE_PY) --no-deps -e .
	$(GLUE_PY) -m compileall -q include
	touch $(GLUE_STAMP)

venv-glue: $(GLUE_STAMP)

# PySpark needs a Java runtime (17, as Glue 5.0): Debian's headless JRE from apt when `java` is
# missing (root, or passwordless sudo); otherwise say so and go on (the Spark tests then fail).
java:
	@if command -v java >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "warning: java missing and not root: apt-get install -y openjdk-17-jre-headless" >&2; exit 0; fi; \
	command -v apt-get >/dev/null || { echo "warning: java missing and no apt-get" >&2; exit 0; }; \
	echo "installing openjdk-17-jre-headless (apt) for PySpark"; \
	log=$$(mktemp); \
	if $$sudo apt-get update -qq >$$log 2>&1 && \
	   $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >>$$log 2>&1; \
	then rm -f $$log; else tail -n 20 $$log >&2; echo "warning: could not install Java (log: $$log)" >&2; fi

test-spark: $(GLUE_STAMP)
	$(GLUE_PY) -m pytest -q --timeout 900 -m spark $(SPARK_TESTS)

bench-backfill: $(STAMP) $(GLUE_STAMP)
	$(PY) bench/backfill_bench.py --spark-python $(GLUE_PY)

bench: $(STAMP)
	$(PY) bench/etl_bench.py
	$(PY) bench/api_bench.py
	$(PY) bench/serve_load.py --corrupt

fuzz: $(STAMP)
	AQICAST_FUZZ_CASES=$${AQICAST_FUZZ_CASES:-5000} $(PY) -m pytest -n 2 -q --timeout 7200 tests/test_fuzz_readers.py
	AQICAST_FAULT_KILLS=$${AQICAST_FAULT_KILLS:-30} $(PY) -m pytest -q --timeout 7200 tests/test_faults_etl.py -k sigkill

serve: $(STAMP)
	$(VENV)/bin/aqicast serve

airflow: $(STAMP)
	@bash scripts/airflow-local.sh start

airflow-stop:
	@bash scripts/airflow-local.sh stop

# The README's pictures of the Airflow UI (docs/img/airflow-*.png): headless Chromium against
# `make airflow`; creates a small backfill first if the DAG has no successful run.
screenshots: $(STAMP) browser
	@bash scripts/airflow-local.sh start
	$(PY) scripts/screenshots.py

lock:
	uv pip compile requirements.in -p 3.11 -o requirements.txt
	uv pip compile requirements-dev.in -p 3.11 -o requirements-dev.txt
	$(MAKE) --no-print-directory lock-glue

lock-glue:
	uv pip compile requirements-glue.in --python-version 3.11 -o requirements-glue.txt
	uv pip compile requirements-glue-dev.in --python-version 3.11 -o requirements-glue-dev.txt

clean:
	rm -rf $(VENV) $(COMPOSE_VENV) $(GLUE_VENV) var .airflow
