# `make demo` and `make test` set up everything they need on a fresh machine:
# Debian packages (as root), a virtual environment in .venv, pinned Python packages.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.approxhls-installed
SYSDEPS := $(VENV)/.sysdeps-ok
JOBS ?= 2
PYNQ_SIM := pynq==4.0.0 pynqmetadata==0.2.0 pynqutils==0.1.3
PYNQ_SIM_DEPS := pydantic ipython jsonschema nest-asyncio cffi

.PHONY: demo test test-slow bench setup clean help

help:
	@echo "make demo   - train, convert and C-simulate the demo model (digits), end to end"
	@echo "make test   - run the test suite"
	@echo "make setup  - only create .venv and install everything"

setup: $(STAMP)

$(SYSDEPS):
	@mkdir -p $(VENV)
	@bash tools/sysdeps.sh
	@touch $@

$(STAMP): pyproject.toml constraints.txt | $(SYSDEPS)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 10), "approxhls needs Python >= 3.10 (3.11 recommended); set PYTHON=..."'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[full,dev,dist]'
	@# PYNQ's own driver code (pynq.lib.dma, DefaultIP, pmbus) for the simulated board: pynq 4.0.0 pins
	@# grpcio/protobuf 5 (its remote-board client) against TensorFlow 2.14's protobuf 4, so it goes in without
	@# its dependencies plus the ones its board-side code imports. A board install (.[board]) takes pynq whole.
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps $(PYNQ_SIM)
	$(BIN)/python -m pip install -q -c constraints.txt $(PYNQ_SIM_DEPS)
	@touch $@

demo: $(STAMP)
	$(BIN)/approxhls demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup -m "not slow" tests

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup -m slow tests

clean:
	rm -rf demo-out .pytest_cache build *.egg-info

# every benchmark (long: the ALWANN searches, with the pop 50 x 50 one, take about two hours on 2 cores), then
# docs/RESULTS.md from their JSON
bench: $(STAMP)
	$(BIN)/python bench/multipliers.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/alwann.py --models runs/alwann
	$(BIN)/python bench/quant_cost.py
	$(BIN)/python bench/corpus.py
	$(BIN)/python bench/conformance.py
	$(BIN)/python bench/board.py
	$(BIN)/python bench/render_results.py
