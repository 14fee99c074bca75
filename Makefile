# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install system-deps benchmarks udfs readme templates clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The product with its command line (what the demo needs), and with the test tools.
$(VENV)/.runtime: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e ".[cli]"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.runtime
	$(BIN)/python -m pip install -e ".[cli,test,dask]"
	touch $@

install: $(VENV)/.installed

## The main job: build the templates and a batch of client workbooks from the bundled sample data.
demo: $(VENV)/.runtime
	$(BIN)/cxroi-xl demo --out demo_output

## Everything the tests need (LibreOffice, poppler), then the whole suite.
test: system-deps install
	$(BIN)/python -m pytest

system-deps:
	bash scripts/ensure-system-deps.sh

benchmarks: install
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

udfs: install
	$(BIN)/cxroi-xl udfs generate

readme: install
	$(BIN)/cxroi-xl functions --write-readme README.md

clean:
	rm -rf $(VENV) demo_output .pytest_cache
