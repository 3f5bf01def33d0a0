# newswire: every target creates the virtualenv it needs.
# The first Python 3.11 or newer on PATH (override: make PY=/path/to/python3.12 demo).
PY ?= $(shell for p in python3 python3.14 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test e2e run server bench bench-startup bench-tag bench-extract train-tag bench-dask bench-warehouse reliability lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || test -n "$(PY)" || \
		{ echo "newswire needs Python 3.11 or newer; none found on PATH (make PY=... to choose)" >&2; exit 2; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/newswire demo

test: $(STAMP)
	$(BIN)/pytest -q

run: $(STAMP)
	@$(BIN)/newswire ingest

e2e: $(STAMP)
	$(BIN)/pytest -q -m e2e

PREFECT_PORT ?= 4200

# A local Prefect server (UI) and `newswire serve` against it; Ctrl-C or SIGTERM stops both.
server: $(STAMP)
	@$(BIN)/python -m flows.localserver --port $(PREFECT_PORT) --log data/prefect-server.log

# both benchmarks run even when the first reports a FAIL; the target fails if either did
bench: $(STAMP)
	@status=0; $(BIN)/python -m bench.bench_ingest || status=1; \
	$(BIN)/python -m bench.bench_startup || status=1; exit $$status

# `newswire ingest` (no Prefect API: in-process) side by side with a plain script, start-up included
bench-startup: $(STAMP)
	$(BIN)/python -m bench.bench_startup

bench-tag: $(STAMP)
	$(BIN)/python -m bench.bench_tag

# extraction quality and speed on the dev split of bench/extract_corpus (pages: its fetch.py)
bench-extract: $(STAMP)
	$(BIN)/python -m bench.bench_extract

train-tag: $(STAMP)
	$(BIN)/python -m bench.train_tagger

bench-dask: $(STAMP)
	$(BIN)/python -m bench.bench_dask

# DuckLake commit, reader latency and unseen() at 10 k / 100 k / 1 M articles, beside the old
# file-copy publish (a few minutes; --sizes 10000,100000 for a shorter run)
bench-warehouse: $(STAMP)
	$(BIN)/python -m bench.bench_warehouse

reliability: $(STAMP)
	$(BIN)/python -m bench.reliability

lint: $(STAMP)
	$(BIN)/ruff check flows tasks warehouse tests bench
	$(BIN)/mypy flows tasks warehouse

clean:
	rm -rf $(VENV) data .pytest_cache
