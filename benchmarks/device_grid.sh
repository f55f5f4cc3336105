#!/usr/bin/env bash
# The benchmark grid with 16 threads (issue 16), on a machine with no internet: run from the
# repository root there. It needs what the lead carries over, because nothing can be installed:
#   .venv-bench/   made here by `make bench` (torch==2.13.0 CPU, tensorflow-cpu, tf-keras, jax,
#                  threadpoolctl) with THIS checkout installed editable (pip install -e .), so
#                  that src/rnnkit/ops/_kernels*.so (built here for x86-64 Linux, CPython 3.11,
#                  AVX-512/AVX2/SSE2 picked at load) travels in the work tree;
#   python3.11     the same interpreter path as here (a venv links to it), and libgomp.so.1.
# Writes build/device_grid.md (the grid, numpy path and compiled path) and build/scaling.md.
set -euo pipefail
PY=.venv-bench/bin/python
THREADS=${THREADS:-16}
mkdir -p build
$PY -c "import torch, rnnkit.ops.kernels as k; print('kernels built:', k.available())"
for path in numpy compiled; do
  RNNKIT_KERNELS=$path $PY benchmarks/run.py --threads "$THREADS" --sizes medium,large \
      --skip-import --output "build/device_grid_$path.md"
done
RNNKIT_KERNELS=compiled $PY benchmarks/run.py --scaling --sizes medium,large --peers rnnkit,torch --output build/scaling.md
