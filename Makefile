# thinslice: one entry point for maintainers and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# uv is the only prerequisite besides python3 and make; bootstrap it into .tools/ when missing.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export PATH := $(dir $(UV)):$(PATH)
# uv never downloads interpreters here: CI machines reach PyPI only. Where pyenv manages the
# Pythons, make every 3.11+ interpreter visible to uv (lowest first, so `python3` is unchanged).
export UV_PYTHON_DOWNLOADS ?= never
ifneq ($(shell command -v pyenv 2>/dev/null),)
export PYENV_VERSION ?= $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.1[1-9]\.[0-9]+$$' | sort -V | paste -sd: -)
endif

DEMO_DIR ?= build/demo
PYTEST ?= $(UV) run --locked pytest

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.PHONY: install
install: $(UV) ## Install the template's own tooling (copier, pytest, ruff) from uv.lock
	$(UV) sync --locked

.PHONY: demo
demo: install ## Render a service with default answers, start it on the embedded model, ask it a question
	$(UV) run --locked python scripts/demo.py $(DEMO_DIR)

.PHONY: test
# Test files run in parallel, one worker per core (xdist; a file stays on one worker, so its
# rendered and installed repos are built once); measured figures are printed at the end.
XDIST ?= -n auto --dist loadgroup

test: install ## Run every test: fast answer/render checks, then each rendered profile's own checks
	$(PYTEST) $(XDIST) --durations=25 || [ $$? -eq 5 ]

.PHONY: test-fast
test-fast: install ## Only the fast tests (no rendered-repo installs)
	$(PYTEST) -m "not generated" || [ $$? -eq 5 ]

.PHONY: test-generated
test-generated: install ## Only the slow tests that install and check rendered repos
	$(PYTEST) $(XDIST) -m generated || [ $$? -eq 5 ]

.PHONY: test-postgres
test-postgres: install ## Only the production data path tests (a real Postgres, two replicas)
	$(PYTEST) -m postgres || [ $$? -eq 5 ]

.PHONY: bench
bench: install ## Print render time, time-to-green per use-case profile and its split
	$(UV) run --locked python scripts/bench.py

.PHONY: lint
lint: install ## Lint the template's own Python (tests and scripts)
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

# Mermaid for the docs site, served with it (never from a CDN: the site works air-gapped).
# Fetched once from the npm registry at the pinned version; Material uses it when present.
MERMAID_VERSION := 11.12.2
MERMAID_JS := docs/assets/javascripts/mermaid.min.js

$(MERMAID_JS):
	@command -v npm >/dev/null || { echo "npm is required to fetch mermaid for the docs site"; exit 1; }
	mkdir -p build/npm $(@D)
	cd build/npm && npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null \
	  && tar -xzf mermaid-$(MERMAID_VERSION).tgz package/dist/mermaid.min.js
	cp build/npm/package/dist/mermaid.min.js $@

.PHONY: docs-assets
docs-assets: $(MERMAID_JS) ## Fetch the docs site's pinned assets (Mermaid) once

.PHONY: docs
docs: install docs-assets ## Build the documentation site strictly (site/)
	$(UV) run --locked mkdocs build --strict

.PHONY: docs-serve
docs-serve: install docs-assets ## Serve the documentation with live reload on 127.0.0.1:8001
	$(UV) run --locked mkdocs serve --dev-addr 127.0.0.1:8001

.PHONY: lock
lock: install ## Refresh locks/ after changing template/pyproject.toml.jinja (keeps existing pins)
	$(UV) run --locked python scripts/lock.py

.PHONY: lock-upgrade
lock-upgrade: install ## Upgrade every pin in locks/ to the newest allowed versions
	$(UV) run --locked python scripts/lock.py --upgrade

.PHONY: clean
clean: ## Remove build output and caches
	rm -rf build site .pytest_cache .ruff_cache
