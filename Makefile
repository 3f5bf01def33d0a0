# newswire: every target creates the virtualenv it needs.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test e2e run server bench bench-tag bench-dask reliability lint clean

$(STAMP): pyproject.toml
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

lint: $(STAMP)
	$(BIN)/ruff check flows tasks warehouse tests bench
	$(BIN)/mypy flows tasks warehouse

clean:
	rm -rf $(VENV) data .pytest_cache
