# The two quick-start commands: `make demo` and `make test`.
# Each creates or reuses .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/valuesync demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=20 -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/report.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/mypy --strict connectors value_engine mappings sync

clean:
	rm -rf $(VENV) .valuesync build *.egg-info
