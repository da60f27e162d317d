# krakenwire: `make demo` and `make test` are all a fresh machine needs (Python 3.11+, pip).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLUGIN_DIRS := $(wildcard plugins/*/pyproject.toml) docs/examples/krakenwire-example/pyproject.toml
STAMP  := $(VENV)/.stamp-install
BENCH_STAMP := $(VENV)/.stamp-bench

.DEFAULT_GOAL := help
.PHONY: help install test lint fmt sim demo bench bench-ci bench-plot dist docs docs-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(PLUGIN_DIRS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,docs]' $(foreach p,$(PLUGIN_DIRS),-e $(dir $(p)))
	touch $(STAMP)

install: $(STAMP) ## create .venv and install krakenwire, its plugins, dev and docs tools (idempotent)

test: install $(BENCH_STAMP) ## run the whole test suite (loopback only; with the bench extra, so the gate's own tests run)
	$(BIN)/python -m pytest -q

lint: install ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check src tests plugins bench docs examples
	$(BIN)/ruff format --check src tests plugins bench docs examples
	$(BIN)/mypy src plugins/*/src docs/examples/krakenwire-example/src examples

fmt: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests plugins bench docs examples
	$(BIN)/ruff format src tests plugins bench docs examples

sim: install ## run the simulator on 127.0.0.1 (prints its URL and token)
	$(BIN)/krakenwire sim

demo: install ## start the simulator, place and cancel orders, print a latency table
	$(BIN)/krakenwire demo

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev,docs,bench]' $(foreach p,$(PLUGIN_DIRS),-e $(dir $(p)))
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## full bench (~3 min): reflector headline, simulator, standby; JSON, PNG, table, README block, history
	$(BIN)/python -m bench

bench-ci: $(BENCH_STAMP) ## short bench gate (~30 s): fails when CPU or added-latency ratios pass bench/baseline.json
	$(BIN)/python -m bench --ci

bench-plot: $(BENCH_STAMP) ## plot bench/history.jsonl -> bench/results/history.png
	$(BIN)/python -m bench.plot_history

DIST_DIRS := . $(dir $(wildcard plugins/*/pyproject.toml))

docs: install ## build the docs site into site/ (mkdocs build --strict: warnings are errors)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Chromium from the distribution's packages: installed here when missing and running as root
# (a fresh CI machine); otherwise say how. $CHROMIUM names another Chromium or Chrome.
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)

docs-check: docs ## load every built page in headless Chromium: fails on a console error, an empty page, a broken link or anchor, a cut code block
	@if [ -z "$(CHROMIUM)" ] && ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "docs-check: installing chromium (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "docs-check: no Chromium: run 'sudo apt-get install chromium' (or set CHROMIUM=/path)"; exit 2; \
	  fi; \
	fi
	CHROMIUM="$(or $(CHROMIUM),$(shell command -v chromium))" $(BIN)/python docs/browser_check.py site --screenshot site-check/index.png

dist: install ## sdists + wheels of krakenwire and every plugin in dist/, then twine check
	rm -rf dist
	$(foreach d,$(DIST_DIRS),$(BIN)/python -m build -q --outdir dist $(d) &&) true
	$(BIN)/twine check --strict dist/*
	@ls -1 dist

clean: ## remove the virtualenv, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis dist build site site-check
