"""Interleaved timing: every contender runs once per round, so drifts of the machine hit all alike.

Each round starts with one untimed call: thread pools (OpenMP in PyTorch, OpenBLAS under NumPy)
keep spinning for a moment after the previous contender's last call, and waking its own pool
costs the first call of a round; neither belongs to the work being timed.
"""

import statistics
import time


def interleaved_medians(contenders, repeats, warmup=3, min_round_seconds=0.02):
    """Median seconds per call of each zero-argument function in `contenders` (a dict)."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            fn()
            calls, start = 0, time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_round_seconds:
                    break
            samples[name].append(elapsed / calls)
    return {name: statistics.median(values) for name, values in samples.items()}
