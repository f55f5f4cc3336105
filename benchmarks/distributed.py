"""Data-parallel training throughput on this machine: samples/s of `fit` at 1, 2, ... MPI ranks.

    .venv/bin/python benchmarks/distributed.py                 # 1 and 2 ranks (this machine's cores)
    .venv/bin/python benchmarks/distributed.py --ranks 1 2 4   # more ranks than cores: oversubscribed

Each rank count runs under mpiexec with cores // N BLAS threads per rank (never oversubscribed by
threads). For each model the same global batch is trained for a few steps after a warm-up; rank 0
times the steps between barriers. The ranks also time the step's one allreduce alone (the gradient
buffer's size), and a sweep of allreduce sizes on 2 ranks fits the cost model

    t_allreduce(N, bytes) = latency * log2(N) + bytes / bandwidth

whose numbers, with the one-process step time at each shard size, say where data-parallel stops
paying (see docs/performance.md, "Data-parallel training on MPI").
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

# name: (cell, units, layers, seq_len, global batch, steps timed)
MODELS = {"tutorial": ("simple_rnn", 32, 1, 20, 32, 40),
          "medium": ("lstm", 128, 1, 64, 64, 10),
          "large": ("lstm", 512, 2, 64, 64, 3)}
VOCABULARY = 96
SWEEP_BYTES = [4 ** k * 1024 for k in range(0, 8)]      # 1 KiB .. 16 MiB


def build(name):
    from rnnkit import backend, language_model
    cell, units, depth, seq_len, batch, _ = MODELS[name]
    backend.set_random_seed(0)
    model = language_model.build_model(VOCABULARY, cell, units, depth)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCABULARY, (batch * 64, seq_len))
    return model, x, np.roll(x, -1, axis=1), batch


def time_fit(model, x, y, batch, steps, comm):
    """Seconds per global step over `steps` steps (after one warm-up step), rank 0's clock."""
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    comm.Barrier()
    start = time.perf_counter()
    model.fit(x[:batch * steps], y[:batch * steps], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    comm.Barrier()
    return (time.perf_counter() - start) / steps


def time_allreduce(comm, count, repeats=20):
    from mpi4py import MPI
    buffer = np.ones(count, np.float32)
    comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def worker(sweep):
    from rnnkit import distribute
    strategy = distribute.MPIDataParallel()
    comm = strategy.comm
    result = {"ranks": strategy.num_processes, "models": {}}
    for name, (_, _, _, _, _, steps) in MODELS.items():
        model, x, y, batch = build(name)
        parameters = int(sum(w.size for w in model._trainable_arrays()))
        step = time_fit(model, x, y, batch, steps, comm)
        reduce_time = time_allreduce(comm, parameters + 2)
        result["models"][name] = {"parameters": parameters, "step_s": step, "samples_s": batch / step,
                                  "allreduce_s": reduce_time}
    if sweep:
        result["sweep"] = {size: time_allreduce(comm, size // 4) for size in SWEEP_BYTES}
    if strategy.rank == 0:
        print(json.dumps(result), flush=True)


def one_process_shards(ranks):
    """The one-process step time of each model at the shard size each rank count gives (what the
    compute part of a step costs with perfect scaling of everything but Python's per-step work)."""
    table = {}
    for name, (_, _, _, _, batch, steps) in MODELS.items():
        model, x, y, _ = build(name)
        for n in ranks:
            shard = batch // n
            model.fit(x[:shard], y[:shard], batch_size=shard, epochs=1, verbose=0)
            start = time.perf_counter()
            model.fit(x[:shard * steps], y[:shard * steps], batch_size=shard, epochs=1, verbose=0, shuffle=False)
            table[(name, n)] = (time.perf_counter() - start) / steps
    return table


def launch(ranks, sweep, threads=None):
    from rnnkit.distribute import launch as launcher
    environment = dict(os.environ)
    for variable in launcher.THREAD_VARIABLES:
        environment[variable] = str(threads or launcher.threads_per_rank(ranks))
    command = [launcher.mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker"] + (["--sweep"] if sweep else [])
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900)
    if completed.returncode:
        raise SystemExit(f"{ranks} ranks failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["threads"] = threads or launcher.threads_per_rank(ranks)
    return result


def fit_cost_model(sweep):
    """latency (s): the smallest message's time; bandwidth (bytes/s): least squares of the time
    over the sizes from 256 KiB on, where the bytes dominate."""
    sizes = np.array([float(s) for s in sweep])
    times = np.array(list(sweep.values()))
    large = sizes >= 256 * 1024
    slope = np.polyfit(sizes[large], times[large], 1)[0]
    return float(times[0]), 1.0 / slope


def report(runs, latency, bandwidth):
    cores = __import__("rnnkit.distribute.launch", fromlist=["cores"]).cores()
    lines = [f"{cores} cores; threads per rank = cores // ranks; noisy: the cores are shared with other work.", "",
             "| model | parameters | ranks | threads/rank | step (ms) | samples/s | speedup | allreduce (ms) "
             "| model allreduce (ms) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # speedup: against the best 1-rank run
    for name in MODELS:
        base = max(run["models"][name]["samples_s"] for run in runs if run["ranks"] == 1)
        for run in runs:
            n, row = run["ranks"], run["models"][name]
            modelled = 0.0 if n == 1 else latency * math.log2(n) + 4 * row["parameters"] / bandwidth
            lines.append(f"| {name} | {row['parameters']:,} | {n} | {run['threads']} | {row['step_s'] * 1e3:.1f} "
                         f"| {row['samples_s']:.0f} | {row['samples_s'] / base:.2f} | {row['allreduce_s'] * 1e3:.3f} "
                         f"| {modelled * 1e3:.3f} |")
    lines += ["", f"Allreduce cost model fitted on 2 ranks: latency {latency * 1e6:.1f} us, bandwidth "
              f"{bandwidth / 1e9:.2f} GB/s."]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.sweep)
    from rnnkit.distribute import launch as launcher
    ranks = args.ranks or sorted({1, launcher.cores()})
    # one rank with every core's threads, and with one thread (the fair baseline on a busy machine)
    runs = [launch(n, sweep=(n == 2)) for n in ranks] + [launch(1, False, threads=1)]
    sweep = next((run["sweep"] for run in runs if "sweep" in run), None) or launch(2, True)["sweep"]
    latency, bandwidth = fit_cost_model({int(k): v for k, v in sweep.items()})
    print(report(runs, latency, bandwidth))
    print("\nallreduce sweep on 2 ranks (bytes: ms): " + ", ".join(f"{int(k):,}: {v * 1e3:.3f}" for k, v in sweep.items()))
    shards = one_process_shards(ranks)
    print("\none process, 1 thread, step time at the shard size of each rank count (ms): "
          + "; ".join(f"{name} b={MODELS[name][4] // n}: {t * 1e3:.1f}" for (name, n), t in shards.items()))


if __name__ == "__main__":
    main()
