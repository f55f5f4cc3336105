# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

BENCH := .venv-bench/bin

.PHONY: run test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[h5,mpi,fast]'

install-test: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,fast]'

run: install
	$(BIN)/rnnkit tutorial
	@mkdir -p build
	$(BIN)/rnnkit train --epochs 6 --out build/demo.keras
	$(BIN)/rnnkit generate build/demo.keras --prompt "The " --length 300 --seed 0

# The compiled kernels are the default where they are built; here they must be (a missing build
# fails the kernel tests instead of skipping them), and the NumPy loops, their reference and
# fallback, get the recurrence tests again on their own.
test: install-test
	RNNKIT_REQUIRE_KERNELS=1 $(BIN)/python -m pytest -q
	RNNKIT_KERNELS=numpy $(BIN)/python -m pytest -q tests/ops tests/layers

# The peers live in their own environment so that the test environment stays light.
$(BENCH)/python:
	$(PYTHON) -m venv .venv-bench
	$(BENCH)/python -m pip install -q --upgrade pip

bench: $(BENCH)/python
	$(BENCH)/python -m pip install -q -e . threadpoolctl torch==2.13.0 tensorflow-cpu tf-keras jax
	$(BENCH)/python benchmarks/run.py --output docs/performance-latest.md

clean:
	rm -rf $(VENV) .venv-bench build src/*.egg-info .pytest_cache
