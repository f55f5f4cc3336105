"""The kernel-tool comparison behind ops/kernels.py (docs/performance.md, "Choosing the tool"):
the fused LSTM forward step's elementwise work over a (4H, B) gate block (activations, cell
update, mask hold, output write) as NumPy does it today, as rnnkit's C kernel does it, and as a
numba `@njit(parallel=True, cache=True)` kernel does it, timed interleaved in one process.

    python benchmarks/kernel_tools.py            # needs numba for its row (pip install numba)

numba is imported here only; rnnkit never imports it.
"""

import os
import statistics
import subprocess
import sys
import time

import numpy as np

from rnnkit.ops import kernels
from rnnkit.ops.lstm import LSTM
from rnnkit.ops.sequence import gates

SIZES = [(8, 3), (32, 64), (64, 256), (128, 512)]          # (B, H) of the benchmark grid


def numpy_step(z, c_prev, h_prev, hold, c, tc, h, ig, out_t):
    H = c.shape[0]
    I, F, O, C = gates(H, 4)
    np.tanh(z, out=z)
    sig = z[:3 * H]
    sig *= 0.5
    sig += 0.5
    np.multiply(z[F], c_prev, out=c)
    c += np.multiply(z[I], z[C], out=ig)
    np.tanh(c, out=tc)
    np.multiply(z[O], tc, out=h)
    np.copyto(c, c_prev, where=hold)
    np.copyto(h, h_prev, where=hold)
    np.copyto(out_t, h.T)


NUMBA_SOURCE = '''
import numpy as np
from numba import njit, prange

@njit(parallel=True, cache=True, fastmath=False)
def numba_step(z, c_prev, h_prev, hold, c, tc, h, out, t):
    H, B = c.shape
    for j in prange(H):
        for b in range(B):
            i = np.tanh(z[j, b]) * 0.5 + 0.5
            f = np.tanh(z[H + j, b]) * 0.5 + 0.5
            o = np.tanh(z[2 * H + j, b]) * 0.5 + 0.5
            g = np.tanh(z[3 * H + j, b])
            z[j, b], z[H + j, b], z[2 * H + j, b], z[3 * H + j, b] = i, f, o, g
            cn = f * c_prev[j, b] + i * g
            tn = np.tanh(cn)
            hn = o * tn
            if hold[0, b]:
                cn, hn = c_prev[j, b], h_prev[j, b]
            c[j, b], tc[j, b], h[j, b] = cn, tn, hn
            out[b, t, j] = hn
'''


def best_of(fn, seconds=0.2):
    """Median of 5 rounds of calls per second of fn."""
    samples = []
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            fn()
            calls += 1
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def first_call_seconds(code):
    """Seconds of a fresh interpreter's import + first call, minus its bare start."""
    def timed(source):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", source], check=True)
        return time.perf_counter() - start
    bare = min(timed("import numpy") for _ in range(3))
    return min(timed(code) for _ in range(3)) - bare


def main():
    numba_step = None
    try:
        import numba  # noqa: F401
        path = os.path.join(os.path.expanduser("~"), ".cache", "rnnkit_kernel_tools")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "numba_lstm_step.py"), "w") as f:
            f.write(NUMBA_SOURCE)
        sys.path.insert(0, path)
        from numba_lstm_step import numba_step
    except ImportError:
        print("numba not installed: its column is left out")
    module = kernels.compiled(np.dtype("float32"))
    print(f"| B x H | NumPy passes us | C kernel us ({kernels.num_threads()} thr) | numba us |")
    print("|---|---|---|---|")
    for B, H in SIZES:
        rng = np.random.default_rng(0)
        z0 = rng.normal(size=(4 * H, B)).astype(np.float32)
        z = z0.copy()
        c_prev, h_prev = (rng.normal(size=(H, B)).astype(np.float32) for _ in range(2))
        hold = rng.random((1, B)) < 0.2
        c, tc, h, ig = (np.empty((H, B), np.float32) for _ in range(4))
        out = np.empty((B, 4, H), np.float32)
        runs = {"numpy": lambda: numpy_step(z, c_prev, h_prev, hold, c, tc, h, ig, out[:, 1]),
                "c": lambda: module.lstm_forward(kernels.threads_for(4 * H * B), B, H, 1, z, None, h_prev, c_prev,
                                                 hold, h, c, tc, None, None, out)}
        if numba_step is not None:
            runs["numba"] = lambda: numba_step(z, c_prev, h_prev, hold, c, tc, h, out, 1)
        times = {name: [] for name in runs}
        for _ in range(3):                            # interleaved rounds
            for name, fn in runs.items():
                np.copyto(z, z0)
                fn()
                times[name].append(best_of(fn))
        med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        print(f"| {B}x{H} | {med['numpy']:.1f} | {med['c']:.1f} | " +
              (f"{med['numba']:.1f} |" if "numba" in med else "— |"))
    print()
    print(f"first call, fresh process (import + first kernel call): C "
          f"{first_call_seconds('import numpy as np; from rnnkit.ops import _kernels'):.3f} s")
    if numba_step is not None:
        code = ("import sys, numpy as np; sys.path.insert(0, %r); from numba_lstm_step import numba_step; "
                "z = np.zeros((12, 2), np.float32); s = np.zeros((3, 2), np.float32); "
                "numba_step(z, s, s, np.zeros((1, 2), bool), s.copy(), s.copy(), s.copy(), "
                "np.zeros((2, 1, 3), np.float32), 0)") % path
        print(f"first call, fresh process (import + first kernel call, compiled cache warm): numba "
              f"{first_call_seconds(code):.3f} s")


if __name__ == "__main__":
    main()
