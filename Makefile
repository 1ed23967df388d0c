# juminzei — every target builds what it needs from the committed lock; re-runnable on a dirty checkout.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
# Airflow's paths (AIRFLOW_HOME=var/airflow, airflow.cfg, dags/) come from juminzei/airflow_env.py via
# bin/airflow, the demo and tests/conftest.py, so all of them agree.
export JUMINZEI_HOME := $(CURDIR)
export PYTHONHASHSEED := 0
export TZ := UTC

RESIDENTS ?= 2000
SEED ?= 20260101
FISCAL_YEAR ?= 2026

.PHONY: venv demo samples test bench fuzz mutate airflow lock clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" || { echo "Python 3.11 is required (found: $(PYTHON))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	mkdir -p var
	touch $(STAMP)

demo: venv
	$(PY) -m sample_ward.demo --residents $(RESIDENTS) --seed $(SEED) --fiscal-year $(FISCAL_YEAR)

# data_samples/: one synthetic sample of every file that enters the ward and its bad sibling (fixed seed)
samples: venv
	$(PY) -m sample_ward.samples --out data_samples

test: venv
	$(PY) -m pytest -p no:cacheprovider

bench: venv
	$(PY) -m tests.benchmarks.run

# Property-based fuzzing of every reader and calculator (tests/fuzz_targets.py) with a long random budget;
# `make test` runs the same targets on a small fixed draw. FUZZ_EXAMPLES=n a target, FUZZ_ONLY=<name prefix>.
FUZZ_EXAMPLES ?= 2000
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_ONLY=$(FUZZ_ONLY) $(PY) -m tests.fuzz_run

# Mutation testing of the core with mutmut in a copy under var/mutate (docs/testing.md); not part of
# `make test`. MUTATE="transforms/tax_engine.py ..." limits it to some modules; FUNCTIONS="f g" to those
# functions of them.
MUTATE ?=
mutate: venv
	$(PY) -m tests.mutation.run $(if $(RECHECK),--recheck) $(if $(RERUN),--rerun-all) $(if $(FUNCTIONS),--functions "$(FUNCTIONS)") $(MUTATE)

# Web UI and REST API on http://localhost:$(AIRFLOW_PORT) with the scheduler, DAG processor and triggerer;
# Ctrl-C or SIGTERM stops every one of them (juminzei/airflow_serve.py). Admin password:
# var/airflow/secrets/simple_auth_manager_passwords.json.
AIRFLOW_PORT ?= 8080
airflow: venv
	exec $(PY) -m juminzei.airflow_serve --port $(AIRFLOW_PORT)

lock: venv
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --generate-hashes requirements.in -o requirements.lock

clean:
	rm -rf var/lake var/sample_ward var/airflow
