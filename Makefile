# One entry point for people and CI. `make test` works on a fresh clone with python3, node, npm and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov pins its own boto3 and more, which the project's pins exclude: it lives in a virtualenv
# of its own (requirements-checkov.txt, pinned in constraints-checkov.txt); tests run it there.
SCAN_VENV := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed
# The supported versions (docs/development.md): Python per pyproject.toml's requires-python, Node
# per package.json's engines.node. tools/check_versions.py reads both.
REQUIRES_PYTHON := $(shell sed -n 's/^requires-python *= *"\(.*\)"/\1/p' pyproject.toml)
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help setup test demo lint format typecheck unit sandbox build synth bench lock clean
.PHONY: audit chaos versions

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

versions: ## Check that this machine's Python and Node are versions the project supports
	@$(PYTHON) tools/check_versions.py $(PY); status=$$?; \
	if [ $$status -gt 1 ]; then \
	  echo "make: needs Python $(REQUIRES_PYTHON) (requires-python in pyproject.toml), and '$(PYTHON)' did not run: install it, or run make PYTHON=<a python>" >&2; \
	fi; exit $$status

$(PY_STAMP): requirements.txt requirements-dev.txt lambda/requirements.txt constraints.txt pyproject.toml | versions
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json | versions
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SCAN_STAMP): requirements-checkov.txt constraints-checkov.txt | versions
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt -c constraints-checkov.txt
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP) $(SCAN_STAMP) ## Create .venv, .venv-checkov and node_modules (pinned)

lint: $(PY_STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(PY_STAMP) ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(PY_STAMP) ## mypy --strict over every module
	$(BIN)/mypy

test: setup lint typecheck ## Everything CI checks: lint, types, the whole test suite
	$(BIN)/pytest

# Not part of `make test`: pip-audit reads each pinned version's advisories from the registry's
# per-version JSON API, which the network this project's CI has does not serve (every package
# comes back "not found"), and an audit that audits nothing must not pass as one.
audit: $(PY_STAMP) ## Known vulnerabilities in the installed packages (the registry's advisories; needs its JSON API)
	$(BIN)/pip-audit --local --strict --skip-editable --progress-spinner off \
	  || { echo "make audit: a package has a known vulnerability (listed above), or the package registry's advisory data could not be read" >&2; exit 1; }

chaos: $(PY_STAMP) ## Chaos run: 240 ticks, every fault kind, the real handler; exits 1 if a target is missed
	$(PY) -m chaos

demo: setup ## The whole product on the local sandbox: deploy the stack, play a scenario tick by tick
	$(PY) -m demo

unit: $(PY_STAMP) ## The fast tests only (no sandbox servers)
	$(BIN)/pytest tests/unit

sandbox: $(PY_STAMP) ## Run the local AWS sandbox in the foreground and print the variables to export
	$(PY) -m sandbox $(if $(SCENARIO),--scenario $(SCENARIO))

build: $(PY_STAMP) ## Build the function's deployment package into build/lambda (pip, no docker)
	$(PY) -c 'from infra import bundle; print(bundle.build())'

bench: $(PY_STAMP) ## Scale and speed benchmark S1-S4 (a few minutes; exits 1 if a target is missed)
	PYTHONPATH=lambda:. $(PY) -m bench $(BENCH_ARGS)

synth: setup ## Synthesize the CDK app offline with the pinned CLI (no credentials needed)
	npx --no-install cdk synth --quiet --no-notices

lock: ## Re-pin every transitive Python dependency into constraints.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Every transitive dependency, pinned: regenerate with 'make lock' after changing a requirements file."; \
	  .lock-venv/bin/pip freeze; } > constraints.txt
	rm -rf .lock-venv

clean: ## Remove the virtualenvs, node_modules and build output
	rm -rf $(VENV) $(SCAN_VENV) node_modules cdk.out build .mypy_cache .ruff_cache
