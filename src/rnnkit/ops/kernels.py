"""The optional compiled step kernels: whether they are used, and on how many threads.

A compiled kernel does ALL the elementwise work of one recurrent step in one pass, between the
BLAS products that stay NumPy's (`np.dot(U^T, h, out=...)`):
    LSTM      z += rec; i, f, o = sigmoid, g = tanh; c = f c_prev + i g; h = o tanh(c); hold; output
    GRU       z, r gates; u_h; hh; h = hh + z (h_prev - hh); hold; output     (both variants)
    SimpleRNN h = tanh(z + rec); hold; output
and in the backward the step's gate gradients from the kept activations (no per-step factor
arrays). The math is the cells' own (`ops/lstm.py`, `ops/gru.py`, `ops/simple_rnn.py`), whose
NumPy loops stay the reference and the fallback: the test suite runs both and asserts that
they agree (tests/ops/test_kernels.py).

The kernels are C (`_kernels.c`, `_kernels_body.h`), built at install by setup.py when a C
compiler is there (with OpenMP when the compiler has it) and loaded on first use, so
`import rnnkit` never pays for them and nothing compiles at run time. Without them (no
compiler, another dtype, a non-default activation) the NumPy loops run, with the same results
to rounding.

Switches (read once, at first use; `set_backend` / `set_num_threads` change them later):
    RNNKIT_KERNELS=compiled    the compiled kernels where built (NOT yet the default: on the
                               2-core machine the single-thread LSTM kernel measured 2.5x slower
                               than NumPy's passes at 64x256, and OpenMP's barrier under a loaded
                               machine far worse; see docs/performance.md, issue 16)
    RNNKIT_KERNELS=numpy       the NumPy loops only (the default for now)
    RNNKIT_NUM_THREADS=N       threads for the kernels (default: the cores this process may use)
Threads split a step's hidden units; every number is computed by one thread from the same
inputs in the same order, so the results are bit-identical whatever the thread count. The
kernels run between BLAS calls, never beside them: at most max(kernel, BLAS) threads are busy.
With the `fast` extra (threadpoolctl), an explicit thread count also caps the BLAS's pool.
"""

import os

import numpy as np

_state = {"loaded": False, "module": None, "backend": None, "threads": None}

# Below this many numbers per thread a step's kernel runs on one thread: waking the others
# costs more than it saves (measured on the 2-core machine, docs/performance.md).
_NUMBERS_PER_THREAD = 16384
REALS = ("float32", "float64")
DEFAULT = "numpy"       # until the kernels beat NumPy's passes on a quiet machine (see above)


def _load():
    _state["loaded"] = True
    # OpenMP's threads spin after each step's kernel while the BLAS's threads want the cores for
    # the next product, and the two pools then trade whole scheduler slices: 8 ms a step, an LSTM
    # forward 30x slower, on 2 cores and on 16 alike (docs/performance.md). Waiting passively ends
    # it. libgomp reads this when it loads, i.e. with the kernels; a user's own setting stays.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from rnnkit.ops import _kernels
    except ImportError:
        _kernels = None
    _state["module"] = _kernels


def available():
    """Whether the compiled kernels were built for this installation."""
    if not _state["loaded"]:
        _load()
    return _state["module"] is not None


def set_backend(name):
    """'compiled' or 'numpy' (the default); returns the previous choice."""
    if name not in ("compiled", "numpy"):
        raise ValueError(f"Argument `name` must be 'compiled' or 'numpy'. Received: {name!r}")
    previous = backend()
    _state["backend"] = name
    return previous


def backend():
    """The recurrences' path now: 'compiled' or 'numpy'."""
    if _state["backend"] is None:
        choice = os.environ.get("RNNKIT_KERNELS", DEFAULT).strip().lower() or DEFAULT
        if choice not in ("compiled", "numpy"):
            raise ValueError("Environment variable RNNKIT_KERNELS must be 'compiled' or 'numpy'. "
                             f"Received: {choice!r}")
        _state["backend"] = choice
    return _state["backend"] if available() else "numpy"


def compiled(dtype):
    """The kernel module for arrays of `dtype` when the compiled path is on, else None."""
    if _state["backend"] == "numpy" or (_state["backend"] is None and backend() == "numpy"):
        return None
    if not _state["loaded"]:
        _load()
    return _state["module"] if dtype.name in REALS else None


def _cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:      # not on Linux
        return max(1, os.cpu_count() or 1)


def set_num_threads(count, blas=True):
    """Threads for the kernels (None: RNNKIT_NUM_THREADS, else the cores available). With `blas`
    and threadpoolctl installed (the `fast` extra), a count also caps the BLAS's threads, so that
    one setting bounds every thread rnnkit runs on."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"Argument `count` must be a positive int or None. Received: {count!r}")
    _state["threads"] = count
    if count is not None and blas:
        try:
            import threadpoolctl
        except ImportError:
            return
        threadpoolctl.threadpool_limits(count, user_api="blas")


def num_threads():
    """The kernels' thread count now."""
    if _state["threads"] is None:
        value = os.environ.get("RNNKIT_NUM_THREADS", "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"Environment variable RNNKIT_NUM_THREADS must be a positive integer. "
                                 f"Received: {value!r}")
            set_num_threads(int(value))
        else:
            _state["threads"] = _cores()
    return _state["threads"]


def threads_for(numbers):
    """How many threads a step kernel over `numbers` elements gets."""
    return max(1, min(num_threads(), numbers // _NUMBERS_PER_THREAD))


def as_dtype(array, dtype):
    """A recurrent dropout mask in the kernels' dtype (they take one float type per call)."""
    return None if array is None else np.asarray(array, dtype)


def state_grad(prod, m_h, gh_all, hold, direct=None):
    """dL/dh_{-1} after a compiled backward loop: (U dz_0) m_h, plus gh_0 where step 0 was masked
    (its gradient passes straight through), or gh_0 * direct (GRU: z_0, 1 where masked)."""
    d = prod if m_h is None else prod * m_h
    if not len(gh_all):
        return d
    if direct is not None:
        d += gh_all[0] * (direct if hold is None else np.where(hold[0], 1.0, direct))
    elif hold is not None:
        d += gh_all[0] * hold[0]
    return d
