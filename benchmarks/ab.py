"""rnnkit against another checkout of rnnkit, interleaved: is a change faster or slower?

    python benchmarks/ab.py --base /tmp/base/src --new src --cells simple_rnn,lstm,gru \
        --sizes tutorial,medium --rounds 7

Two worker processes, one per source tree, stay warm; the coordinator asks them in turn (base,
new, base, new, ...) to time one (cell, size, work) for about `--seconds` each, so a drift of a
shared machine hits both alike. Only one worker computes at a time. Prints medians and new/base.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
from peers import rnnkit_peer
cache = {}
for line in sys.stdin:
    cell, size, work, seconds = json.loads(line)
    key = (cell, tuple(size))
    if key not in cache:
        cache[key] = rnnkit_peer(cell, *size)
        for fn in cache[key].values():
            fn(); fn()
    fn = cache[key][work]
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn(); calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and calls >= 3:
            break
    print(json.dumps(elapsed / calls), flush=True)
"""

SIZES = {"tutorial": (8, 2, 10, 3), "small": (32, 50, 32, 64), "medium": (64, 100, 128, 256),
         "large": (128, 200, 256, 512)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--new", default=str(HERE.parent / "src"))
    parser.add_argument("--cells", default="simple_rnn,lstm,gru")
    parser.add_argument("--sizes", default="tutorial,medium")
    parser.add_argument("--works", default="forward,train")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    workers = {}
    for label, src in (("base", args.base), ("new", args.new)):
        workers[label] = subprocess.Popen([sys.executable, "-c", WORKER, str(pathlib.Path(src).resolve()), str(HERE)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    print("| cell | B x T x D x H | work | base ms | new ms | new / base |")
    print("|---|---|---|---|---|---|")
    for cell in args.cells.split(","):
        for size_name in args.sizes.split(","):
            size = SIZES[size_name]
            for work in args.works.split(","):
                samples = {"base": [], "new": []}
                for round_ in range(args.rounds):
                    order = ("base", "new") if round_ % 2 == 0 else ("new", "base")
                    for label in order:
                        worker = workers[label]
                        worker.stdin.write(json.dumps([cell, size, work, args.seconds]) + "\n")
                        worker.stdin.flush()
                        samples[label].append(json.loads(worker.stdout.readline()))
                base, new = (statistics.median(samples[k]) * 1e3 for k in ("base", "new"))
                print(f"| {cell} | {'x'.join(map(str, size))} | {work} | {base:.3f} | {new:.3f} | {new / base:.2f} |",
                      flush=True)
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()


if __name__ == "__main__":
    main()
