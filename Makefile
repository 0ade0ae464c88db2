# bayescap — two commands do all the set-up: `make forecast` and `make test`.
# PYTHON may be given (make PYTHON=/path/to/python3.12); otherwise the first
# interpreter >= 3.12 that actually runs is used (see tools/find-python.sh).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
ARGS ?=

.PHONY: forecast test test-all bench check clean-venv help

help:
	@echo "make forecast   run the default example (data/) with its backtest and write reports/<scenario>-<time>/report.pdf"
	@echo "make test       run the fast test suite (what CI runs)"
	@echo "make test-all   also run the slow recovery studies"
	@echo "make bench      run the benchmarks; prints 'BENCH <name> <value> <unit>' lines"
	@echo "make check      validate the example inputs only"

$(STAMP): pyproject.toml
	@py="$(PYTHON)"; \
	if [ -z "$$py" ]; then py="$$(bash tools/find-python.sh)" || { \
	  echo "bayescap needs Python >= 3.12 (PyMC 6 and ArviZ 1.x require it), and none was found." >&2; \
	  echo "Install one, e.g. 'pyenv install 3.13' or 'apt-get install python3.13 python3.13-venv'," >&2; \
	  echo "then run 'make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)'." >&2; exit 1; }; fi; \
	echo "Using $$py ($$($$py --version))"; \
	if [ ! -x $(PY) ]; then $$py -m venv $(VENV) || { echo "Could not create $(VENV) with $$py (is its venv module installed?)" >&2; exit 1; }; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@$(PY) -c "from bayescap.models import c_build; c_build.compiler_version().startswith('none') and print('note: no C compiler found (cc, gcc, clang, or CC): the fits will sample the models\' PyMC graphs instead of their C densities: the same models, several times slower. ' + c_build.INSTALL_HINT[0].upper() + c_build.INSTALL_HINT[1:] + '.')"
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

forecast: $(STAMP)
	$(PY) -m bayescap forecast --backtest $(ARGS)

check: $(STAMP)
	$(PY) -m bayescap check $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "" $(ARGS)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(ARGS)

clean-venv:
	rm -rf $(VENV)
