# aqicast: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
comma := ,
PYTHON ?= python3
# The main venv runs the MWAA set (requirements.txt): Python 3.12, as Amazon MWAA's Airflow 3.3.1
# image. scripts/find-python.sh finds it (python3.12 on PATH, pyenv, uv); override with PYTHON312=.
PYTHON312 ?= $(shell scripts/find-python.sh 3.12)
MWAA_PYTHON := 3.12
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
SPARK_TESTS := tests/test_spark_engine.py tests/test_least_privilege.py
# The IaC side venv (CDK, cfn-lint, checkov: requirements-infra.txt), see "AWS infrastructure" below.
INFRA_VENV := .venv-infra
INFRA_PY := $(INFRA_VENV)/bin/python
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: help venv browser run test bench fuzz clean lock airflow airflow-stop serve screenshots lambda bench-global infra-venv infra-cli synth deploy venv-glue java test-spark lock-glue bench-backfill

help:
	@echo "make run    - set up the venv and run the daily pipeline locally on the in-repo sample"
	@echo "make test   - set up the venv and run the test suite"
	@echo "make serve  - the API and web page on http://127.0.0.1:8000 (after make run)"
	@echo "make airflow - start the Airflow UI (airflow standalone) on this project's DAGs; make airflow-stop stops it"
	@echo "make screenshots - pictures of the DAG's graph and a run's grid for the README (docs/img/)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make bench-global - the whole daily run on generated world histories of 3,000, 10,000 and 20,000 locations (long)"
	@echo "make fuzz   - the long reliability runs: 5,000 damaged-object cases and 30 SIGKILLs of aqicast etl"
	@echo "make lock   - re-resolve requirements*.txt from requirements*.in (MWAA constraints, README Environments)"
	@echo "make lambda - the API's Lambda package build/lambda/aqicast-api.zip (python3.12 x86_64)"
	@echo "make synth  - synthesise the AWS stacks (infra/, CDK) into cdk.out/"
	@echo "make deploy - deploy to AWS with AWS_PROFILE (README: Deploy to AWS); make deploy DRY_RUN=1 prints the commands"
	@echo "make venv-glue - the Spark engine's venv (.venv-glue: Glue 5.0's Python 3.11 + PySpark 3.5, Java 17)"
	@echo "make test-spark - the spark-marked tests in .venv-glue (make test runs them too)"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON312)" || { echo "error: Python $(MWAA_PYTHON) not found (scripts/find-python.sh $(MWAA_PYTHON))" >&2; exit 1; }
	@# a venv of another Python (an older checkout's 3.11) is rebuilt, not patched
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(MWAA_PYTHON))))'; then \
	  echo "$(VENV) is not Python $(MWAA_PYTHON): recreating it"; rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
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
	@scripts/apt-ensure.sh "the browser test" "chromium chromium-driver" $(BROWSER_BINS)

test: $(STAMP) $(COMPOSE) browser $(INFRA_STAMP) $(GLUE_STAMP)
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
	@scripts/apt-ensure.sh PySpark openjdk-17-jre-headless java

test-spark: $(GLUE_STAMP)
	@# one pytest per file: each gets its own Spark session (a session left by one module changes the next)
	set -e; for t in $(SPARK_TESTS); do $(GLUE_PY) -m pytest -q --timeout 900 -p no:randomly -m spark $$t; done

bench-backfill: $(STAMP) $(GLUE_STAMP)
	$(PY) bench/backfill_bench.py --spark-python $(GLUE_PY)

bench: $(STAMP)
	$(PY) bench/etl_bench.py
	$(PY) bench/api_bench.py
	$(PY) bench/serve_load.py --corrupt

# Every DAG stage on a 14-day generated world history per size (bench/global_history.py, cached in
# bench/out/); BENCH_GLOBAL_ARGS to change it, e.g. "--locations 3000 --days 8 --budget 20 --no-dag".
BENCH_GLOBAL_ARGS ?= --sizes 3000,10000,20000
bench-global: $(STAMP)
	$(PY) bench/global_daily_bench.py $(BENCH_GLOBAL_ARGS)

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

# The MWAA set resolves against MWAA's constraints (the -c lines of requirements.in:
# deploy/mwaa/constraints-3.3.1-py3.12.txt, mwaa_essential_constraints.txt) for Python 3.12; the dev
# tools and the Lambda set against the MWAA set (-c requirements.txt: the versions the tests run),
# the Lambda set for its runtime's platform. README "Environments".
LAMBDA_PYTHON := 3.12
LAMBDA_PLATFORM := x86_64-manylinux_2_28

lock: | $(STAMP)
	uv pip compile requirements.in --python-version $(MWAA_PYTHON) -o requirements.txt
	uv pip compile requirements-dev.in --python-version $(MWAA_PYTHON) -o requirements-dev.txt
	uv pip compile requirements-lambda.in --python-version $(LAMBDA_PYTHON) --python-platform $(LAMBDA_PLATFORM) -o requirements-lambda.txt
	uv pip compile requirements-infra.in --python-version 3.11 -o requirements-infra.txt
	$(MAKE) --no-print-directory lock-glue

lock-glue:
	uv pip compile requirements-glue.in --python-version 3.11 -o requirements-glue.txt
	uv pip compile requirements-glue-dev.in --python-version 3.11 -o requirements-glue-dev.txt

# The API's Lambda deployment package (python3.12, x86_64, manylinux wheels of requirements-lambda.txt):
# deploy/lambda/build.py; cached, rebuilt when its inputs change. The IaC stack deploys this path.
LAMBDA_ZIP := build/lambda/aqicast-api.zip
lambda: $(STAMP)
	$(PY) deploy/lambda/build.py --out $(LAMBDA_ZIP)

# -- AWS infrastructure (infra/: CDK v2 in Python) ------------------------------------------------
# A side venv: CDK's jsii pins typeguard 2.x and checkov an older boto3, so neither goes into the
# MWAA, Lambda or Glue sets. The CDK CLI (npm, pinned in infra/package-lock.json) only for deploy.
CDK_CLI := infra/node_modules/.bin/cdk
DRY_RUN ?=

infra-venv: $(INFRA_STAMP)

$(INFRA_STAMP): requirements-infra.txt | $(STAMP)
	$(UV) venv --quiet --allow-existing -p $(shell command -v $(PYTHON)) $(INFRA_VENV)
	$(UV) pip sync --quiet -p $(INFRA_PY) requirements-infra.txt
	touch $(INFRA_STAMP)

infra-cli: $(CDK_CLI)

$(CDK_CLI): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund --ignore-scripts
	touch $(CDK_CLI)

# The API stack's asset is make lambda's zip (built first when missing).
synth: $(INFRA_STAMP)
	test -f build/lambda/aqicast-api.zip || $(MAKE) lambda
	$(INFRA_PY) infra/app.py -o cdk.out

# With DRY_RUN=1: print every command (stacks, uploads, parameters), no AWS credentials needed.
deploy: $(STAMP) $(INFRA_STAMP) $(if $(DRY_RUN),,$(CDK_CLI) lambda)
	DRY_RUN=$(DRY_RUN) PYTHON=$(PY) bash deploy/deploy-aws.sh

clean:
	rm -rf $(VENV) $(COMPOSE_VENV) $(INFRA_VENV) $(GLUE_VENV) var .airflow build cdk.out infra/node_modules
