# Set-up and the two everyday commands. Needs Python >= 3.11 as $(PYTHON).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## demo: set up, then sample the bundled Boehm 2014 problem and write runs/boehm2014/ (about 2 minutes);
## `make demo FULL=1`: the long run (4 chains x 1000 warm-up + 1000 draws) into runs/boehm2014-full/
ifdef FULL
DEMO_ARGS := --chains 4 --warmup 1000 --draws 1000 --dense-mass --seed 1 --out runs/boehm2014-full
else
DEMO_ARGS := --chains 2 --warmup 200 --draws 700 --dense-mass --max-tree-depth 8 --seed 1 --out runs/boehm2014
endif

demo: $(BIN)/.installed
	$(BIN)/jakinfer sample boehm2014 $(DEMO_ARGS)

## test: set up, then run the test suite (slow checks excluded; `-m slow` runs them)
test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check jakinfer tests experiments

clean:
	rm -rf $(VENV) runs results .pytest_cache
