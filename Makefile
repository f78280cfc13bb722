# Two commands a new user needs (see README):  make demo   and   make test
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: venv demo test test-all lint format bench clean

# The virtual environment, built once from requirements-dev.txt. torch goes first as the CPU build
# (torch 2.13.0 is a CPU wheel on this project's machines; elsewhere pip picks the CPU index below).
$(STAMP): requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q torch --index-url https://download.pytorch.org/whl/cpu
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Train a small model (Hub data + DistilBERT when reachable, else the offline backbone and the
# bundled sample, said loudly), then serve it in the Space app.
demo: venv
	$(BIN)/python -m training --config demo.yaml
	MODEL=runs/demo $(BIN)/python space/app.py

# Fast tests (no network). Slow ones (real data) run with `make test-all`.
test: venv
	$(BIN)/python -m pytest -q

test-all: venv
	$(BIN)/python -m pytest -q -m "slow or not slow"

# ruff: lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade, ...) and the formatter, both must be clean.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) runs .pytest_cache
