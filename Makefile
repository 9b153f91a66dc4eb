# `make demo` and `make test` set up everything they need on a fresh machine:
# Debian packages (as root), a virtual environment in .venv, pinned Python packages.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.approxhls-installed
SYSDEPS := $(VENV)/.sysdeps-ok
JOBS ?= 2
PYNQ_MATRIX := .venv-pynq
PYNQ_SIM := pynq==4.0.0 pynqmetadata==0.2.0 pynqutils==0.1.3
PYNQ_SIM_DEPS := pydantic ipython jsonschema nest-asyncio cffi

.PHONY: demo test test-slow test-pynq bench setup clean help

help:
	@echo "make demo   - train, convert and C-simulate the demo model (digits), end to end"
	@echo "make test   - run the test suite (then test-pynq)"
	@echo "make test-pynq - the host on the simulated board through pynq 3.0.1, 3.1.2 and 4.0.0, one board-only venv each"
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

# the host tests read the overlays the PYNQ matrix uses (written once, below) instead of writing their own
test: $(STAMP) $(PYNQ_MATRIX)/fixtures/fixtures.json
	APPROXHLS_HOST_FIXTURES=$(CURDIR)/$(PYNQ_MATRIX)/fixtures $(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup -m "not slow" tests
	$(MAKE) test-pynq

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
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/render_results.py

# ---- the PYNQ matrix ------------------------------------------------------------------------------------------
# One clean venv per PYNQ release, with the Python of that release's images (PYNQ 3.x: Ubuntu 22.04, Python 3.10;
# PYNQ 4.0: Ubuntu 24.04, Python 3.12), holding what a board has: the release's pynq, then the board-only install
# (pip install -c constraints-board.txt '.[board]'). The host tests then run through that release's own DMA,
# buffer, MMIO, clock and sensor code, on overlays the full install (.venv) writes once into $(PYNQ_MATRIX)/fixtures.
# Debian 12 has no Python 3.10 and PyPI ships no interpreter; this machine's image has pyenv's CPython builds.
# Where a release's Python is missing the venv uses $(PYTHON) instead and says so.
PYNQ_RELEASES := 3.0.1 3.1.2 4.0.0
PYNQ_PYTHON_3.0.1 := 3.10
PYNQ_PYTHON_3.1.2 := 3.10
PYNQ_PYTHON_4.0.0 := 3.12
PYENV_DIR := $(or $(PYENV_ROOT),$(HOME)/.pyenv)
# an interpreter of version $(1) that runs (pyenv's shims exist for versions that are not selected, and fail)
python_for = $(firstword $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null) $(wildcard $(PYENV_DIR)/versions/$(1).*/bin/python$(1)))
PYNQ_FIXTURE_INPUTS := $(shell find approxhls -name '*.py' -o -name '*.tmpl' -o -name '*.h') tests/host_fixtures.py tests/conftest.py

# kept between runs (make would delete a pattern rule's intermediate file)
.PRECIOUS: $(PYNQ_MATRIX)/%/.installed

$(PYNQ_MATRIX)/%/.installed: pyproject.toml constraints-board.txt
	@rm -rf $(PYNQ_MATRIX)/$* && mkdir -p $(PYNQ_MATRIX)
	@py="$(call python_for,$(PYNQ_PYTHON_$*))"; \
	if [ -z "$$py" ]; then py="$(PYTHON)"; echo "NOTE: no Python $(PYNQ_PYTHON_$*) on this machine (PYNQ $* images run it): pynq $* is checked under $$($$py -V)"; fi; \
	$$py -m venv $(PYNQ_MATRIX)/$* && $$py -c 'import sys; print("%d.%d" % sys.version_info[:2])' > $(PYNQ_MATRIX)/$*/.python
	$(PYNQ_MATRIX)/$*/bin/python -m pip install -q --upgrade pip
	@# the image: its pynq release; then the board-only install on top of it, which must keep that release
	$(PYNQ_MATRIX)/$*/bin/python -m pip install -q -c constraints-board.txt "pynq==$*"
	$(PYNQ_MATRIX)/$*/bin/python -m pip install -q -c constraints-board.txt '.[board]' pytest
	$(PYNQ_MATRIX)/$*/bin/python -c 'import pynq, sys; v = pynq.__version__; sys.exit(0 if v == "$*" else "the board install replaced pynq $* by " + v)'
	@touch $@

$(PYNQ_MATRIX)/fixtures/fixtures.json: $(STAMP) $(PYNQ_FIXTURE_INPUTS)
	PYTHONPATH=$(CURDIR) APPROXHLS_HOME=$(CURDIR)/$(PYNQ_MATRIX)/home $(BIN)/python tests/host_fixtures.py $(PYNQ_MATRIX)/fixtures

test-pynq-%: $(PYNQ_MATRIX)/%/.installed $(PYNQ_MATRIX)/fixtures/fixtures.json
	@echo "== pynq $* under Python $$(cat $(PYNQ_MATRIX)/$*/.python) (PYNQ image: $(PYNQ_PYTHON_$*))"
	$(PYNQ_MATRIX)/$*/bin/python -m pip install -qq --no-deps --force-reinstall .
	APPROXHLS_HOST_FIXTURES=$(CURDIR)/$(PYNQ_MATRIX)/fixtures APPROXHLS_EXPECT_PYNQ=$* \
	APPROXHLS_EXPECT_PYTHON=$$(grep -qx '$(PYNQ_PYTHON_$*)' $(PYNQ_MATRIX)/$*/.python && echo $(PYNQ_PYTHON_$*)) APPROXHLS_BOARD_VENV=1 \
	    $(PYNQ_MATRIX)/$*/bin/python -m pytest -q -p no:cacheprovider -W ignore::pytest.PytestUnknownMarkWarning \
	    tests/test_host.py tests/test_board_install.py

test-pynq: $(addprefix test-pynq-,$(PYNQ_RELEASES))
