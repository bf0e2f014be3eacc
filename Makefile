# One entry point for people and CI. `make test` works on a fresh clone with Python 3.13, node, npm and make.
SHELL := /bin/bash
# The Python of the function's Lambda runtime (infra/constants.py RUNTIME; a test checks they agree):
# .venv, and so every test, runs on it (docs/design.md rule 8).
RUNTIME_PYTHON := 3.13
IS_RUNTIME_PYTHON := import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(RUNTIME_PYTHON)")
# The first that really is $(RUNTIME_PYTHON): python3.13 on PATH, else pyenv's install of it. A pyenv
# shim named python3.13 is on PATH whenever pyenv has a 3.13, but it fails unless 3.13 is one of
# the versions pyenv selects, so each candidate is run, not just looked up.
ifndef PYTHON
PYTHON := $(shell for candidate in python$(RUNTIME_PYTHON) \
	  "$$(pyenv prefix $(RUNTIME_PYTHON) 2>/dev/null)/bin/python$(RUNTIME_PYTHON)" \
	  "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/$(RUNTIME_PYTHON).*/bin/python$(RUNTIME_PYTHON); do \
	  "$$candidate" -c '$(IS_RUNTIME_PYTHON)' 2>/dev/null && { command -v "$$candidate"; break; }; \
	done)
endif
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Named after the Python: a .venv made on another one is made again.
PY_STAMP := $(VENV)/.installed-$(RUNTIME_PYTHON)
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

# Stops with how to get the runtime's Python when none was found.
NEED_RUNTIME_PYTHON = { test -n "$(PYTHON)" && "$(PYTHON)" -c '$(IS_RUNTIME_PYTHON)'; } || { \
	echo "make: Python $(RUNTIME_PYTHON) not found$(if $(PYTHON), ($(PYTHON) is another version)). The tests run on the" \
	  "Python of the function's Lambda runtime. Install it with 'pyenv install $(RUNTIME_PYTHON)' or your" \
	  "distribution's package (Debian/Ubuntu: python$(RUNTIME_PYTHON) python$(RUNTIME_PYTHON)-venv), or name" \
	  "one: make PYTHON=/path/to/python$(RUNTIME_PYTHON) ..." >&2; exit 1; }

.DEFAULT_GOAL := help
.PHONY: help setup test demo lint format typecheck unit sandbox build synth bench lock clean
.PHONY: audit chaos versions

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

versions: ## Check that this machine's Python and Node are versions the project supports
	@$(NEED_RUNTIME_PYTHON)
	@$(PYTHON) tools/check_versions.py; status=$$?; \
	if [ $$status -gt 1 ]; then \
	  echo "make: needs Python $(REQUIRES_PYTHON) (requires-python in pyproject.toml), and '$(PYTHON)' did not run: install it, or run make PYTHON=<a python>" >&2; \
	fi; exit $$status

# A .venv made on another Python is made again (check_versions looks at the interpreter make
# builds it with, not at an old .venv).
$(PY_STAMP): requirements.txt requirements-dev.txt lambda/requirements.txt constraints.txt pyproject.toml | versions
	@$(PY) -c '$(IS_RUNTIME_PYTHON)' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
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
	@$(PY) -c 'from infra import bundle; p = bundle.build(); b, n = bundle.package_size(p); print(f"{p}: {b / 1e6:.1f} MB unzipped, {n:,} files")'

bench: $(PY_STAMP) ## Scale and speed benchmark S1-S5 (about a minute; exits 1 if a target is missed)
	PYTHONPATH=lambda:. $(PY) -m bench $(BENCH_ARGS)

synth: setup ## Synthesize the CDK app offline with the pinned CLI (no credentials needed)
	npx --no-install cdk synth --quiet --no-notices

# The function's own lock pins what constraints.txt pins, with the hash of every file pip may take
# for each: the deployment package is installed from it with --require-hashes (infra/bundle.py).
lock: ## Re-pin every transitive Python dependency: constraints.txt, and lambda/requirements.lock with hashes
	@$(NEED_RUNTIME_PYTHON)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Every transitive dependency, pinned: regenerate with 'make lock' after changing a requirements file."; \
	  .lock-venv/bin/pip freeze; } > constraints.txt
	CUSTOM_COMPILE_COMMAND="make lock" .lock-venv/bin/pip-compile --quiet --upgrade --generate-hashes \
	  --strip-extras --no-emit-index-url --no-emit-find-links --constraint constraints.txt \
	  --output-file lambda/requirements.lock lambda/requirements.txt
	rm -rf .lock-venv

clean: ## Remove the virtualenvs, node_modules and build output
	rm -rf $(VENV) $(SCAN_VENV) node_modules cdk.out build .mypy_cache .ruff_cache
