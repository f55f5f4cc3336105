"""The optional compiled kernels: whether they are used, and on how many threads.

A compiled step kernel does ALL the elementwise work of one recurrent step in one pass:
    LSTM      z += rec; i, f, o = sigmoid, g = tanh; c = f c_prev + i g; h = o tanh(c); hold; output
    GRU       z, r gates; u_h; hh; h = hh + z (h_prev - hh); hold; output     (both variants)
    SimpleRNN h = tanh(z + rec); hold; output
and in the backward the step's gate gradients from the kept activations (no per-step factor
arrays). The math is the cells' own (`ops/lstm.py`, `ops/gru.py`, `ops/simple_rnn.py`), whose
NumPy loops stay the reference and the fallback: the test suite runs both and asserts that
they agree (tests/ops/test_kernels.py).

Two compiled loops run those kernels:
    the sequence loops   one C call per sequence (forward) and one per backward: the time loop is
                         in C, with the GIL released for all of it, and each step's recurrent
                         product is the BLAS's gemm called from C, in the forward with beta = 1
                         straight into the step's projection (z_t += U^T h_{t-1}: no product
                         buffer, no pass to add it). They run when `gemm` finds the BLAS.
    the per-step loops   a Python loop: NumPy's `np.dot` for the product, then one kernel call
                         (two for GRU reset_before). They run where the gemm is not found.
The gemm rule: the BLAS is NumPy's own, already loaded (never linked at build time, never a
second copy loaded: `_find_gemm`). Its libraries are tried in order (NumPy's numpy.libs, those
threadpoolctl sees, those mapped into the process), and in each the cblas symbols of
GEMM_SYMBOLS in order: `scipy_cblas_sgemm64_` (NumPy 2's wheels: OpenBLAS, 64-bit sizes),
`cblas_sgemm64_`, `scipy_cblas_sgemm` (32-bit), `cblas_sgemm` (the width from OpenBLAS's build
config; 32-bit elsewhere), with its dgemm twin. The first pair found is handed to the C module
once (`set_gemm`); if none is, the per-step loops run: never an error.

The kernels are C (`_kernels.c`, `_kernels_body.h`), built at install by setup.py when a C
compiler is there (with OpenMP when the compiler has it) and loaded on first use, so
`import rnnkit` never pays for them and nothing compiles at run time. Without them (no
compiler, another dtype, a non-default activation) the NumPy loops run, with the same results
to rounding.

Switches (read once, at first use; `set_backend` / `set_num_threads` change them later):
    (unset)                    the compiled path where its sequence loops can run (the extension
                               built and the BLAS's gemm found), else the NumPy loops. Measured on
                               the 2-core machine (docs/performance.md, issue 16), every cell,
                               forward and training step: 7-37 % faster than the NumPy loops at
                               8x2x10x3 and 32x50x32x64 (B x T x D x H), level to 11 % faster at
                               64x100x128x256 (LSTM forward level: 1.02, 0.97, 1.00 in three runs)
                               and level at 128x200x256x512 (0.96-1.01), slower nowhere. Without
                               the gemm the per-step compiled loops gain less and lose up to 3 %
                               (LSTM forward, 64x100x128x256), so they are no default.
    RNNKIT_KERNELS=compiled    the compiled kernels where built: the sequence loops where the gemm
                               is found, else the per-step loops
    RNNKIT_KERNELS=numpy       the NumPy loops only
    RNNKIT_NUM_THREADS=N       threads for the kernels (default: the cores this process may use
                               when there are at least MANY_CORES of them, else 1). A step split
                               over threads waits at a barrier every step, and one thread
                               descheduled by a busy neighbour stalls it by a scheduler slice: on
                               the 2-core machine, with another process running, an LSTM
                               64x100x128x256 forward took 840 ms on 2 kernel threads against 30
                               ms on NumPy's loops, and on a quiet 2-core machine the split gained
                               nothing. On 16 cores it gained 10-20 % (docs/performance.md).
Threads split a step's hidden units; every number is computed by one thread from the same
inputs in the same order, so the results are bit-identical whatever the kernels' thread count,
on both compiled loops. Each step's product is one gemm call of a fixed shape, but the BLAS's
own thread count changes OpenBLAS's split of it and so its rounding (measured: 1 against 2
OpenBLAS threads differ in the last bits, on the NumPy path as much, whose `np.dot` is the same
gemm): the bit-identity holds for a given BLAS thread count. The kernels run
between BLAS calls, never beside them: at most max(kernel, BLAS) threads are busy. With the
`fast` extra (threadpoolctl), an explicit thread count also caps the BLAS's pool.
"""

import ctypes
import os
import pathlib

import numpy as np

_state = {"loaded": False, "module": None, "backend": None, "threads": None, "gemm": None}

# Below this many numbers per thread a step's kernel runs on one thread: waking the others
# costs more than it saves (measured on the 2-core machine, docs/performance.md).
_NUMBERS_PER_THREAD = 16384
# From this many cores on, the kernels use them all by default (see `default_threads`).
MANY_CORES = 4
REALS = ("float32", "float64")
_REAL_DTYPES = frozenset(np.dtype(name) for name in REALS)     # a set lookup: dtype.name is slow
# Without RNNKIT_KERNELS: the compiled path where its sequence loops can run (the extension built
# and the BLAS's gemm found), else NumPy's (measured, see the docstring and docs/performance.md).
DEFAULT = "compiled"


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
    """'compiled' (the default where the kernels are built) or 'numpy'; returns the previous choice."""
    if name not in ("compiled", "numpy"):
        raise ValueError(f"Argument `name` must be 'compiled' or 'numpy'. Received: {name!r}")
    previous = backend()
    _state["backend"] = name
    return previous


def backend():
    """The recurrences' path now: 'compiled' or 'numpy'."""
    if _state["backend"] is None:
        choice = os.environ.get("RNNKIT_KERNELS", "").strip().lower()
        if choice not in ("compiled", "numpy", ""):
            raise ValueError("Environment variable RNNKIT_KERNELS must be 'compiled' or 'numpy'. "
                             f"Received: {choice!r}")
        if not choice:              # the default: compiled only where its sequence loops run
            choice = DEFAULT if DEFAULT == "numpy" or gemm_found() else "numpy"
        _state["backend"] = choice
    return _state["backend"] if available() else "numpy"


def compiled(dtype):
    """The kernel module for arrays of `dtype` when the compiled path is on, else None."""
    if _state["backend"] == "numpy" or (_state["backend"] is None and backend() == "numpy"):
        return None
    if not _state["loaded"]:
        _load()
    return _state["module"] if dtype in _REAL_DTYPES else None


# The cblas gemm that the whole-sequence loops call, as (float32 symbol, float64 symbol, 64-bit
# sizes), tried in this order in each library; None: the width is the library's own (see `_ilp64`).
GEMM_SYMBOLS = (("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", True),   # NumPy 2's wheels: OpenBLAS, ILP64
                ("cblas_sgemm64_", "cblas_dgemm64_", True),               # an OpenBLAS built with a 64_ suffix
                ("scipy_cblas_sgemm", "scipy_cblas_dgemm", False),        # NumPy 1's wheels: OpenBLAS, LP64
                ("cblas_sgemm", "cblas_dgemm", None))                     # any other CBLAS


def _blas_paths():
    """Shared libraries that may hold NumPy's BLAS, NumPy's own first: its wheel's numpy.libs, then
    the BLAS libraries threadpoolctl sees (the `fast` extra), then any *blas* or MKL library mapped
    into this process (Linux). A generator: the later sources are read only when the earlier fail."""
    yield from sorted(str(path) for path in (pathlib.Path(np.__file__).parent.parent / "numpy.libs").glob("*blas*"))
    try:
        import threadpoolctl
        yield from [info["filepath"] for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    except Exception:       # not installed, or it could not inspect this process: the other sources remain
        pass
    try:
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return
    yield from [line.split()[-1] for line in lines
                if ".so" in line and any(word in line.rsplit("/", 1)[-1].lower() for word in ("blas", "mkl_rt"))]


def _ilp64(library):
    """Whether an unsuffixed cblas_sgemm takes 64-bit sizes: OpenBLAS says so in its build config."""
    for name in ("openblas_get_config", "openblas_get_config64_", "scipy_openblas_get_config64_"):
        config = getattr(library, name, None)
        if config is not None:
            config.restype = ctypes.c_char_p
            return b"USE64BITINT" in (config() or b"")
    return False


def _find_gemm(module):
    """Looks up the BLAS's sgemm / dgemm once and hands their addresses to the kernel module;
    records what it found in _state["gemm"] (False: nothing, and the per-step loops run). Only a
    library already loaded is used (RTLD_NOLOAD): never a second BLAS beside NumPy's."""
    _state["gemm"] = False
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 1)
    tried = set()
    for path in _blas_paths():
        if path in tried:
            continue
        tried.add(path)
        try:
            library = ctypes.CDLL(path, mode=mode)
        except OSError:
            continue
        for single, double, ilp64 in GEMM_SYMBOLS:
            try:
                addresses = [ctypes.cast(getattr(library, name), ctypes.c_void_p).value for name in (single, double)]
            except AttributeError:
                continue
            ilp64 = _ilp64(library) if ilp64 is None else ilp64
            module.set_gemm(addresses[0], addresses[1], ilp64)
            _state["gemm"] = {"path": path, "symbols": (single, double), "ilp64": ilp64}
            return


def gemm(dtype):
    """The kernel module when the compiled path is on for `dtype` AND the BLAS's gemm was found, so
    that a cell can run its whole-sequence loop (one call per sequence); else None (the per-step
    compiled loop, or NumPy's, runs instead)."""
    module = compiled(dtype)
    if module is not None and _state["gemm"] is None:
        _find_gemm(module)
    return module if _state["gemm"] else None


def gemm_found():
    """What the look-up found ({"path", "symbols", "ilp64"}) or None; looks it up if not done yet."""
    if _state["gemm"] is None and available():
        _find_gemm(_state["module"])
    return _state["gemm"] or None


def set_num_threads(count, blas=True):
    """Threads for the kernels (None: RNNKIT_NUM_THREADS, else `default_threads()`). With `blas`
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
            _state["threads"] = default_threads()
    return _state["threads"]


def _cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:      # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads():
    """The cores this process may use, on a machine with at least MANY_CORES; else 1 (a split
    step's barrier gains nothing on 2 cores and stalls whenever a neighbour takes one)."""
    cores = _cores()
    return cores if cores >= MANY_CORES else 1


def threads_for(numbers):
    """How many threads a step kernel over `numbers` elements gets."""
    return max(1, min(num_threads(), numbers // _NUMBERS_PER_THREAD))


def as_dtype(array, dtype):
    """A recurrent dropout mask in the kernels' dtype (they take one float type per call)."""
    return None if array is None else np.asarray(array, dtype)


def operand(array, dtype):
    """A weight as the sequence loops read it: C-contiguous, in the kernels' dtype (a no-op when
    it already is)."""
    return np.ascontiguousarray(array, dtype)


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
