# Peering autopilot: build tooling.
#   make venv    dev venv (.venv, Python 3.13) with `pip install -e '.[dev]'`
#   make lint    ruff, cfn-lint, sam validate --lint, asl-validator
#   make build   sam build (no Docker) into .aws-sam/
#   make test    venv + lint + build, then pytest (extra args: make test PYTEST_ARGS='-k foo')
#   make demo    peering local demo
#   make bench   python -m bench (if bench/ exists)
#   make mutate-iam  IAM mutants of the templates, each must fail tests/iam (bench/iam-mutants.md)
#   make clean   remove venvs, node_modules, build output and caches
#
# Stamps live inside the directory they describe (.venv/, .venv-sam/, node_modules/), so deleting
# the directory by hand also invalidates its stamp.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
AWS_REGION ?= us-east-1

VENV := .venv
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
VENV_STAMP := $(VENV)/.stamp-installed
SAM_STAMP := $(SAM_VENV)/.stamp-aws-sam-cli-$(SAM_CLI_VERSION)
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.stamp-checkov-$(CHECKOV_VERSION)
NODE_STAMP := node_modules/.stamp-npm-ci

# No SAM CLI telemetry. The region is only given to the sam commands (no credentials are needed).
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
SAM_ENV = AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-$(AWS_REGION)}"
# Drops pip's "Location 'file:///opt/...' is ignored" noise (from this machine's pip.conf extra
# indexes); pip's own exit status is kept (pipefail).
PIP_QUIET_FILTER = 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }

# --- Python 3.13 lookup --------------------------------------------------------------------
# Candidates in order: python3.13 on PATH, then $(PYENV_ROOT or ~/.pyenv)/versions/3.13*/bin/python3.13
# (newest first). Each candidate must actually run and be 3.13: a pyenv *shim* named python3.13 is
# on PATH even when pyenv's selected version is another one, and then it fails. The interpreter's
# real path (sys.executable) is kept, so shims never end up in the venvs or on sam build's PATH.
PYENV_ROOT ?= $(HOME)/.pyenv
PY313_ERROR := Python 3.13 is required (the Lambda runtime is python3.13): install it (e.g. `pyenv install 3.13`) or put python3.13 on PATH
PY313 := $(shell \
  for c in "$$(command -v python3.13 2>/dev/null)" \
           $$(ls -d "$(PYENV_ROOT)"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
    [ -n "$$c" ] || continue; \
    p=$$("$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' 2>/dev/null) \
      && [ -n "$$p" ] && { echo "$$p"; break; }; \
  done)
# Expand inside a recipe: stops make with the one-line error when no Python 3.13 was found.
require-py313 = $(if $(PY313),,$(error $(PY313_ERROR)))
PY313_BIN_DIR = $(dir $(PY313))

CFN_TEMPLATES := $(wildcard template.yaml accepter-role.yaml probe.yaml)
ASL_FILES := $(wildcard statemachine/*.asl.json)

.PHONY: venv venv-sam node lint build test demo bench mutate-iam clean python313

python313:
	$(require-py313)
	@echo "==> Python 3.13: $(PY313)"

# --- environments ----------------------------------------------------------------------------
venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	$(require-py313)
	@echo "==> dev venv ($(VENV)) with $(PY313)"
	@if ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
	  rm -rf $(VENV); "$(PY313)" -m venv $(VENV); fi
	@$(VENV)/bin/python -m pip install --quiet -e '.[dev]' $(PIP_QUIET_FILTER)
	@touch $@

venv-sam: $(SAM_STAMP)

$(SAM_STAMP):
	$(require-py313)
	@echo "==> SAM CLI venv ($(SAM_VENV)) aws-sam-cli==$(SAM_CLI_VERSION)"
	@if ! $(SAM_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
	  rm -rf $(SAM_VENV); "$(PY313)" -m venv $(SAM_VENV); fi
	@$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)' $(PIP_QUIET_FILTER)
	@rm -f $(SAM_VENV)/.stamp-aws-sam-cli-*
	@touch $@

node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@echo "==> npm ci (asl-validator)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- lint ------------------------------------------------------------------------------------
# checkov has its own venv: its pins conflict with the dev and SAM venvs.
$(CHECKOV_STAMP):
	$(require-py313)
	@echo "==> checkov venv ($(CHECKOV_VENV)) checkov==$(CHECKOV_VERSION)"
	@if ! $(CHECKOV_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
	  rm -rf $(CHECKOV_VENV); "$(PY313)" -m venv $(CHECKOV_VENV); fi
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION) $(PIP_QUIET_FILTER)
	@touch $@

lint: $(VENV_STAMP) $(SAM_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)
	@echo "==> ruff check"
	$(VENV)/bin/ruff check .
ifneq ($(CFN_TEMPLATES),)
	@echo "==> cfn-lint $(CFN_TEMPLATES)"
	$(VENV)/bin/cfn-lint --non-zero-exit-code error $(CFN_TEMPLATES)
else
	@echo "==> cfn-lint: no templates yet, skipped"
endif
ifneq ($(wildcard template.yaml),)
	@echo "==> sam validate --lint"
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml --region $(AWS_REGION)
else
	@echo "==> sam validate: no template.yaml yet, skipped"
endif
ifneq ($(CFN_TEMPLATES),)
	@echo "==> checkov $(CFN_TEMPLATES) (skips and their reasons: .checkov.yaml)"
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $(foreach f,$(CFN_TEMPLATES),-f $(f))
	@echo "==> checkov on the SAM-translated template (the Lambda checks; per-resource skips in template.yaml)"
	$(VENV)/bin/python -m peering_tools.template .aws-sam/checkov/template.json
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f .aws-sam/checkov/template.json
endif
ifneq ($(ASL_FILES),)
	@echo "==> asl-validator $(ASL_FILES)"
	node_modules/.bin/asl-validator $(foreach f,$(ASL_FILES),--json-path $(f))
else
	@echo "==> asl-validator: no statemachine/*.asl.json yet, skipped"
endif

# --- build -----------------------------------------------------------------------------------
# sam build (no container) needs the runtime's interpreter (python3.13) on PATH: the real one
# goes first so that a pyenv shim for another version is never picked.
build: $(SAM_STAMP)
	$(require-py313)
	@echo "==> sam build (.aws-sam/)"
	$(SAM_ENV) PATH="$(PY313_BIN_DIR):$$PATH" $(SAM) build --template template.yaml --build-dir .aws-sam/build

# --- test / demo / bench ---------------------------------------------------------------------
test: venv lint build
	@echo "==> pytest $(PYTEST_ARGS)"
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: venv
	@echo "==> peering local demo"
	$(VENV)/bin/peering local demo

bench: venv
	@if [ -d bench ]; then \
	  echo "==> python -m bench"; $(VENV)/bin/python -m bench; \
	else echo "no benchmarks yet"; fi

mutate-iam: venv
	@echo "==> IAM mutants (bench/iam-mutants.md)"
	$(VENV)/bin/python -m bench.iam_mutants

clean:
	@echo "==> clean"
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) node_modules .aws-sam build .pytest_cache .ruff_cache .hypothesis
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
