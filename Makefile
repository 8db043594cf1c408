# erpbridge: `make demo` to see it run, `make test` to prove it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test soak demo sandbox login bench clean

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

# .sandbox.env is written at once (before the install): sourced, it waits until the sandbox has written
# .sandbox/ready.env and loads it, or says so if this make stops first.
READY := $(CURDIR)/.sandbox/ready.env
define SANDBOX_ENV
printf '%s\n' '# make sandbox / make demo (pid '$$PPID'): waits until the sandbox is ready, then loads its settings' \
  'while [ ! -s "$(READY)" ] && kill -0 '$$PPID' 2>/dev/null; do sleep 1; done' \
  '[ -s "$(READY)" ] && . "$(READY)" || { echo "the sandbox stopped before it was ready: see make sandbox output" >&2; false; }' \
  > .sandbox.env
endef

sandbox:
	@mkdir -p .sandbox && rm -f $(READY) && $(SANDBOX_ENV)
	@$(MAKE) --no-print-directory install
	$(PY) -m include.sandbox

demo:
	@mkdir -p .sandbox && rm -f $(READY) && $(SANDBOX_ENV)
	@$(MAKE) --no-print-directory install
	$(PY) -m include.sandbox --airflow

login: $(STAMP)
	@$(PY) -m include.sandbox --login

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .sandbox .sandbox.env
