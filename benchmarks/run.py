"""rnnkit against PyTorch, TF-Keras and JAX on the same recurrent work, side by side.

    python benchmarks/run.py                       # everything installed, the whole grid
    python benchmarks/run.py --sizes small,medium --cells lstm --peers rnnkit,torch
    python benchmarks/run.py --output docs/performance.md
    python benchmarks/run.py --threads 16           # every library (and its BLAS) on 16 threads
    python benchmarks/run.py --scaling --sizes medium,large --peers rnnkit,torch   # 1, 2, 4, ... threads

For each cell (SimpleRNN, LSTM, GRU), size (batch, time, input, units) and work (forward, one
training step), every installed library runs in turn, round after round (interleaved), and the
table shows medians, rnnkit's time over the fastest peer's, and each one's useful FLOP rate as a
fraction of this machine's single-GEMM rate measured in the same run. Then the peak memory of a
training step (in a fresh process per library) and the import times. `make bench` installs the
peers into .venv-bench and runs this.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from peers import CELLS, PEERS, VARIANTS, gates  # noqa: E402

CONTENDERS = {**PEERS, **VARIANTS}
from timing import interleaved_medians  # noqa: E402

SIZES = {"tutorial": (8, 2, 10, 3), "small": (32, 50, 32, 64), "medium": (64, 100, 128, 256),
         "large": (128, 200, 256, 512)}
WORKS = ("forward", "train")


def useful_flops(cell, size, work):
    """The matrix-product FLOPs of the work: 2 B T G H (D + H) forward; a training step is taken
    as three times that (the forward, and the two products per weight of the backward)."""
    batch, steps, features, units = size
    forward = 2.0 * batch * steps * gates(cell) * units * (features + units)
    return forward if work == "forward" else 3.0 * forward


def gemm_rate(n=2048, repeats=5):
    """FLOP/s of one large float32 NumPy matrix product on this machine, now."""
    import numpy as np
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - start)
    return 2.0 * n ** 3 / statistics.median(times)


def versions():
    found = {"python": platform.python_version()}
    for module in ("numpy", "rnnkit", "torch", "tensorflow", "tf_keras", "jax"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            pass
    from rnnkit.ops import kernels
    found["rnnkit path"] = f"{kernels.backend()} ({kernels.num_threads()} kernel threads)"
    return found


def machine():
    model = platform.processor() or "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = ""
    try:
        import threadpoolctl
        info = threadpoolctl.threadpool_info()
        blas = ", ".join(f"{i['internal_api']} {i.get('version', '')} ({i['num_threads']} threads)" for i in info
                         if i["user_api"] == "blas")
    except ImportError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}" + (f"; NumPy BLAS: {blas}" if blas else "")


def rounds_for(size):
    return {"tutorial": 15, "small": 11, "medium": 7, "large": 3}[size]


def time_grid(cells, size_names, peer_names, log):
    rows = []
    for cell in cells:
        for size_name in size_names:
            size = SIZES[size_name]
            built = {name: CONTENDERS[name](cell, *size) for name in peer_names}
            built = {name: fns for name, fns in built.items() if fns is not None}
            for work in WORKS:
                contenders = {name: fns[work] for name, fns in built.items()}
                # Rounds of at least 0.2 s: the thread pools of one library spin for a moment
                # after its calls and would otherwise weigh on whoever runs next.
                medians = interleaved_medians(contenders, rounds_for(size_name), warmup=2,
                                              min_round_seconds=0.2 if size_name != "large" else 0.0)
                rows.append({"cell": cell, "size": size, "size_name": size_name, "work": work, "medians": medians,
                             "flops": useful_flops(cell, size, work)})
                log(format_row(rows[-1], peer_names, None))
    return rows


def fastest_peer(medians):
    peers = {k: v for k, v in medians.items() if not k.startswith("rnnkit")}
    return min(peers.items(), key=lambda kv: kv[1]) if peers else (None, None)


def format_row(row, peer_names, gemm):
    medians = row["medians"]
    cells = [row["cell"], "x".join(map(str, row["size"])), row["work"]]
    cells += [f"{medians[p] * 1e3:.3f}" if p in medians else "—" for p in peer_names]
    name, best = fastest_peer(medians)
    ours = [k for k in medians if k.startswith("rnnkit")]       # rnnkit, or its paths side by side
    cells.append(" / ".join(f"{medians[k] / best:.2f}" for k in ours) + f" ({name})" if best and ours else "—")
    if gemm:
        cells.append(" / ".join(f"{row['flops'] / medians[k] / gemm:.0%}" for k in ours) or "—")
        cells.append(f"{row['flops'] / best / gemm:.0%}" if best else "—")
    return "| " + " | ".join(cells) + " |"


MEMORY_PROBE = r"""
import json, os, sys
sys.path.insert(0, {bench!r})
from peers import PEERS

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
fns = PEERS[{peer!r}]({cell!r}, *{size!r})
if fns is None:
    print(json.dumps(None)); sys.exit()
before = rss("VmRSS:")
fns["train"]()                                  # first step: workspaces, graphs, compilation
with open("/proc/self/clear_refs", "w") as f:   # reset the peak (VmHWM) to the current RSS
    f.write("5")
fns["train"]()
print(json.dumps(rss("VmHWM:") - before))
"""


def peak_memory(peer, cell, size):
    """Peak RSS during a (second) training step over the RSS before the first one, in bytes:
    memory the training holds (workspaces, caches) plus what one step allocates on top."""
    code = MEMORY_PROBE.format(bench=str(pathlib.Path(__file__).resolve().parent), peer=peer, cell=cell, size=size)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return None


def import_time(module, repeats=5):
    """Median seconds of `import module` in a fresh interpreter (the first, cold run discarded)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeats + 1):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        if result.returncode != 0:
            return None
        times.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(times[1:])


THREAD_VARIABLES = ("RNNKIT_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def with_threads(count):
    """The environment that puts every library on `count` threads. Thread pools read it when they
    start, before this script imports anything heavy, so `--threads` re-runs the script with it."""
    env = dict(os.environ, **{name: str(count) for name in THREAD_VARIABLES})
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={'true' if count > 1 else 'false'}"
                        f" intra_op_parallelism_threads={count}").strip()
    env["RNNKIT_BENCH_THREADS"] = str(count)
    return env


def apply_threads(count):
    """In the re-run process: the pools that an environment variable does not reach."""
    from rnnkit.ops import kernels
    kernels.set_num_threads(count)
    try:
        import torch
        torch.set_num_threads(count)
    except ImportError:
        pass


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def scaling(args):
    """rnnkit and PyTorch at 1, 2, 4, ... threads up to the cores available: one process per count
    (pools size themselves at start), the same grid in each, ratios within each run."""
    counts = sorted({1 << k for k in range(cores().bit_length()) if 1 << k <= cores()} | {cores()})
    tables = {}
    for count in counts:
        out = pathlib.Path(f"/tmp/rnnkit_scaling_{os.getpid()}_{count}.json")
        command = [sys.executable, __file__, "--threads", str(count), "--cells", args.cells, "--sizes", args.sizes,
                   "--peers", args.peers, "--skip-memory", "--skip-import", "--json", str(out)]
        subprocess.run(command, check=True, env=with_threads(count), stdout=subprocess.DEVNULL)
        tables[count] = json.loads(out.read_text())
        out.unlink()
    peers = [p for p in args.peers.split(",")]
    lines = [f"Thread scaling on {machine()}, {datetime.date.today().isoformat()} (ms; each count its own process)",
             "", "| cell | B x T x D x H | work | " + " | ".join(f"{p} @{n}" for n in counts for p in peers) + " |",
             "|---|---|---|" + "---|" * (len(counts) * len(peers))]
    for k, row in enumerate(tables[counts[0]]):
        cells = [row["cell"], "x".join(map(str, row["size"])), row["work"]]
        for n in counts:
            medians = tables[n][k]["medians"]
            cells += [f"{medians[p] * 1e3:.2f}" if p in medians else "—" for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    if args.output:
        pathlib.Path(args.output).write_text(text + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="threads for every library and its BLAS (default: theirs)")
    parser.add_argument("--scaling", action="store_true", help="rnnkit and peers at 1, 2, 4, ... threads")
    parser.add_argument("--json", help="also write the timing rows as JSON to this file")
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--memory-size", default="medium", help="size for the peak-memory column")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--output", help="write the report (markdown) to this file")
    args = parser.parse_args()
    if args.scaling:
        return scaling(args)
    if args.threads is not None:
        if os.environ.get("RNNKIT_BENCH_THREADS") != str(args.threads):
            os.execve(sys.executable, [sys.executable] + sys.argv, with_threads(args.threads))
        apply_threads(args.threads)
    cells, size_names = args.cells.split(","), args.sizes.split(",")
    peer_names = [p for p in args.peers.split(",") if p == "rnnkit" or CONTENDERS[p]("simple_rnn", *SIZES["tutorial"])]
    lines = []

    def log(line=""):
        print(line, flush=True)
        lines.append(line)

    log(f"# rnnkit benchmark, {datetime.date.today().isoformat()}")
    log()
    log(f"Machine: {machine()}  ")
    log("Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "  ")
    gemm = gemm_rate()
    log(f"Single-GEMM rate (NumPy float32, 2048^3): {gemm / 1e9:.1f} GFLOP/s")
    log()
    header = ["cell", "B x T x D x H", "work"] + [f"{p} ms" for p in peer_names] + \
        ["rnnkit / fastest peer", "rnnkit GEMM-rate", "fastest peer GEMM-rate"]
    log("| " + " | ".join(header) + " |")
    log("|" + "---|" * len(header))
    rows = time_grid(cells, size_names, peer_names, lambda line: print(line, file=sys.stderr, flush=True))
    for row in rows:
        log(format_row(row, peer_names, gemm))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps([{k: v for k, v in row.items()} for row in rows]))
    if not args.skip_memory:
        size = SIZES[args.memory_size]
        log()
        log(f"Peak memory of a training step, {'x'.join(map(str, size))} (MiB above the RSS before training):")
        log()
        log("| cell | " + " | ".join(peer_names) + " |")
        log("|---|" + "---|" * len(peer_names))
        for cell in cells:
            values = [peak_memory(peer, cell, size) for peer in peer_names]
            log(f"| {cell} | " + " | ".join("—" if v is None else f"{v / 2 ** 20:.1f}" for v in values) + " |")
    if not args.skip_import:
        log()
        log("Import time (median of 5 fresh interpreters, seconds):")
        log()
        for module in ["rnnkit", "numpy", "torch", "tensorflow", "jax"]:
            seconds = import_time(module)
            if seconds is not None:
                log(f"- `import {module}`: {seconds:.3f}")
    if args.output:
        pathlib.Path(args.output).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
