# The two commands a newcomer runs: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SANDBOX := build/sandbox
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup sandbox-up sandbox-down sandbox-status demo test test-unit test-integration lint sanity bench build clean \
	changelog ee-context docs role-specs

setup:
	@bash scripts/setup.sh

sandbox-up: setup
	@$(PY) scripts/sandbox.py up --dir $(SANDBOX)

sandbox-down:
	@if [ -x $(PY) ]; then $(PY) scripts/sandbox.py down --dir $(SANDBOX); else python3 scripts/sandbox.py down --dir $(SANDBOX); fi

sandbox-status:
	@$(PY) scripts/sandbox.py status --dir $(SANDBOX)

# Starts the sandbox, runs prelaunch.yml against it, and says the verdict; the sandbox keeps running.
demo: sandbox-up
	@bash scripts/demo.sh $(SANDBOX)/inventory.yml

# lint and sanity are independent of each other and of the tests: they run side by side once the tests pass.
test: setup test-unit test-integration
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint sanity

test-unit:
	@$(PY) -m pytest tests/unit -q

# Each pytest-xdist worker starts its own sandbox (build/test-sandbox, -2, ...: other free ports) and stops it at the
# end. Most of the suite's wall time is waiting (servers, timeouts, rollouts), so more workers than cores pay. The
# tests that bound a duration (marker `timed`) then run alone: the other workers' CPU must not make a hang guard fail.
# --dist loadfile: a file's tests share module fixtures (a deployment several tests move in turn), so one worker
# runs a whole file, in order.
TEST_WORKERS ?= 4
test-integration:
	@$(PY) -m pytest tests/integration -q -n $(TEST_WORKERS) --dist loadfile -m "not timed"
	@$(PY) -m pytest tests/integration -q -m timed

lint:
	@$(VENV)/bin/ansible-lint --profile production

# docs/checklist-coverage.md and docs/checks.md from the check registry (tests/unit/test_generated_docs.py fails on drift).
docs:
	@$(PY) scripts/gen_docs.py

# Every roles/*/meta/argument_specs.yml and roles/*/defaults/main.yml from scripts/role_vocabulary.yml, where each
# variable the roles share is declared once (tests/unit/test_role_specs.py fails on drift).
role-specs:
	@$(PY) scripts/gen_role_specs.py

sanity:
	@VENV_BIN=$(CURDIR)/$(VENV)/bin bash scripts/sanity.sh

bench: setup
	@$(PY) tests/bench/bench_prelaunch.py
	@$(PY) tests/bench/bench_k8s_rollback.py
	@$(PY) tests/bench/bench_db_restore.py
	@$(PY) tests/bench/bench_coordinated_rollback.py

# The collection tarball, as Galaxy/Automation Hub would take it.
build:
	@$(VENV)/bin/ansible-galaxy collection build --force --output-path build/dist .

# At a release: CHANGELOG.rst from changelogs/fragments, for galaxy.yml's version (the fragments are then consumed).
changelog: setup
	@$(VENV)/bin/antsibull-changelog release

# The execution environment's build context (build/ee); `ansible-builder build` with podman or docker builds it.
ee-context: build
	@$(VENV)/bin/ansible-builder create -f execution-environment.yml -c build/ee --output-filename Containerfile

clean: sandbox-down
	rm -rf build/reports build/dist build/sanity
