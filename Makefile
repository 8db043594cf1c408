# erpbridge: `make demo` to see it run, `make test` to prove it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test soak demo sandbox bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

soak: $(STAMP)
	SOAK_RECORDS=$${SOAK_RECORDS:-3000} CRASH_TRIALS=$${CRASH_TRIALS:-50} $(PY) -m pytest tests/reliability -s --timeout 1800 $(PYTEST_ARGS)

sandbox: $(STAMP)
	$(PY) -m include.sandbox

demo: $(STAMP)
	$(PY) -m include.sandbox --airflow

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .sandbox .sandbox.env
