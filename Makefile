# Two commands a new user needs (see README):  make demo   and   make test
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: venv demo test test-all test-slow lint format bench clean

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
	$(BIN)/python -m training --config demo.yaml --overwrite-output-dir  # runs/demo is the demo's own: replaced each time
	MODEL=runs/demo $(BIN)/python space/app.py

# Fast tests (no network). Slow ones (real data) run with `make test-all`. Both on TEST_WORKERS processes
# (pytest-xdist), one per core of this project's 2-core machines; each test file runs whole in one worker, so
# its module fixtures (a training run, a served app) are still built once. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
PYTEST  := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test: venv
	$(PYTEST)

test-all: venv
	$(PYTEST) -m "slow or not slow"

# Only the slow ones (about 2 minutes): CI runs them after `make test`.
test-slow: venv
	$(PYTEST) -m slow

# ruff: lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade, ...) and the formatter, both must be clean.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The CPU benchmarks with short settings (minutes; needs the real data in ../shared/data/emotion): a
# small training run, its ONNX export and inference figures, the Space under a light load, the GPU
# script on the CPU, the corrections loop on a small subset. They show that every script runs; the
# figures in README come from the settings README gives. One epoch on 600 texts leaves the model
# barely trained, so the export keeps its int8 model whatever its accuracy guard would say.
BENCH_RUN := runs/bench-quick
bench: venv
	$(BIN)/python bench/train.py --max-train-samples 600 --max-eval-samples 200 --epochs 1 --output-dir $(BENCH_RUN)
	$(BIN)/python -m training.export $(BENCH_RUN) --max-drop-points 100  # keep int8: inference.py times it
	$(BIN)/python bench/inference.py $(BENCH_RUN) --samples 100
	$(BIN)/python bench/space_load.py --clients 4 --requests 2 --rounds 1
	$(BIN)/python bench/gpu_inference.py --device cpu --texts 256
	$(BIN)/python bench/corrections.py --max-train-samples 600 --max-eval-samples 200 --epochs 1 --output-dir runs/bench-quick-corrections
	$(BIN)/python bench/poisoning.py

clean:
	rm -rf $(VENV) runs .pytest_cache
