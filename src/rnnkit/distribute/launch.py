"""Starting N ranks of an rnnkit command through mpiexec (`rnnkit train --np N`).

The launched processes are `python -m rnnkit ...` with RNNKIT_MPI_WORKER=1 in their environment
(they make an MPIDataParallel) and, unless the caller set them, OMP/OpenBLAS/MKL threads of
cores // N each, so that N ranks do not oversubscribe the cores with BLAS threads.
"""

import os
import pathlib
import shutil
import subprocess
import sys

WORKER = "RNNKIT_MPI_WORKER"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def is_worker():
    return os.environ.get(WORKER) == "1"


def mpiexec():
    """The mpiexec beside this Python (MPICH's wheel installs it there), else one on PATH, else None."""
    beside = pathlib.Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def cores():
    """The cores this process may run on (its affinity where the system tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads_per_rank(ranks):
    return max(1, cores() // ranks)


def run(ranks, arguments):
    """Runs `python -m rnnkit <arguments>` on `ranks` processes; returns mpiexec's exit status.

    Raises:
        ValueError: when mpi4py or mpiexec is missing.
    """
    launcher = mpiexec()
    try:
        import mpi4py  # noqa: F401  (only checked: the ranks import it, not this process)
    except ImportError:
        launcher = None
    if launcher is None:
        raise ValueError(f"--np {ranks} needs mpi4py and mpiexec: pip install 'rnnkit[mpi]'. "
                         f"Received: --np {ranks} without an MPI launcher")
    environment = dict(os.environ, **{WORKER: "1"})
    for name in THREAD_VARIABLES:
        environment.setdefault(name, str(threads_per_rank(ranks)))
    command = [launcher, "-n", str(ranks), sys.executable, "-m", "rnnkit", *arguments]
    return subprocess.run(command, env=environment).returncode
