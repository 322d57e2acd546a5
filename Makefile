# Peering autopilot: build tooling.
#   make venv    dev venv (.venv, Python 3.13) with `pip install -e '.[dev]'`
#   make lint    ruff, cfn-lint, sam validate --lint, asl-validator
#   make build   sam build (no Docker) into .aws-sam/
#   make browser Debian chromium for the local console test (apt-get, when missing and root)
#   make test    venv + browser + lint + build, then pytest (extra args: make test PYTEST_ARGS='-k foo';
#                one process: make test PYTEST_WORKERS=0)
#   make demo    peering local demo
#   make bench   python -m bench (if bench/ exists)
#   make fidelity the path analysis against the kernel on 1,000 topologies -> bench/fidelity.md
#   make mutate-iam  IAM mutants of the templates, each must fail tests/iam (bench/iam-mutants.md)
#   make mutate  mutmut over the layer's logic modules -> bench/mutation.md (slow; not part of `make test`;
#                one module: make mutate MODULES=plan; several: MODULES='plan once')
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
# pytest-xdist workers for make test: one per CPU; each test file runs on one worker (--dist loadfile),
# so a file's module fixtures are made once. 0 runs the suite in one process.
PYTEST_WORKERS ?= auto

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

.PHONY: venv venv-sam node browser lint build test demo bench fidelity mutate-iam mutate clean python313 dataplane-tools

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

# --- the browser of the local console's test ----------------------------------------------------
# Debian's chromium, driven by Playwright for Python (pinned in the dev extra; `playwright install`,
# which downloads browsers, is never run). Installed when missing and make runs as root; otherwise
# the browser test says what is missing (skipped locally, failed under CI=true).
CHROMIUM := /usr/bin/chromium

browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> apt-get install chromium (the local console's browser test)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else echo "==> $(CHROMIUM) is missing (apt-get install chromium as root): the console's browser test will skip"; fi

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

# --- the emulator's data plane: Debian packages ----------------------------------------------
# The data plane (network namespaces) needs ip (iproute2), nft (nftables) and, for the demo, ping
# (iputils-ping). Installed when missing and make runs as root with apt-get; elsewhere nothing is
# installed and the emulator falls back to the analysis, saying so in one line.
DATAPLANE_PACKAGES := ip:iproute2 nft:nftables ping:iputils-ping

dataplane-tools:
	@missing=""; for pair in $(DATAPLANE_PACKAGES); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "==> apt-get install$$missing (the emulator's data plane)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else echo "==> not installing$$missing (needs root and apt-get): the emulator will use the analysis data plane"; fi

# --- test / demo / bench ---------------------------------------------------------------------
test: venv browser lint build dataplane-tools
	@echo "==> pytest on $(PYTEST_WORKERS) workers $(PYTEST_ARGS)"
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

fidelity: venv dataplane-tools
	@echo "==> the path analysis against the kernel (bench/fidelity.md)"
	$(VENV)/bin/python -m peering_tools.dataplane.fidelity --topologies 1000 --out bench/fidelity.md

demo: venv dataplane-tools
	@echo "==> peering local demo"
	$(VENV)/bin/peering local demo

bench: venv
	@if [ -d bench ]; then \
	  echo "==> python -m bench"; $(VENV)/bin/python -m bench; \
	else echo "no benchmarks yet"; fi

mutate-iam: venv
	@echo "==> IAM mutants (bench/iam-mutants.md)"
	$(VENV)/bin/python -m bench.iam_mutants

MODULES ?=
mutate: venv
	@echo "==> mutation testing (bench/mutation.md)"
	$(VENV)/bin/python -m bench.mutation $(MODULES)

clean:
	@echo "==> clean"
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) node_modules .aws-sam build .pytest_cache .ruff_cache .hypothesis .mutmut
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
