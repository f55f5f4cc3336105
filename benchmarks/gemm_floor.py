"""What bounds a recurrence on this machine: the time of its matrix products alone.

For each cell and size this times, with NumPy's BLAS (the one rnnkit uses), exactly the products
any implementation of that work has to do, in the shapes rnnkit does them, and nothing else:

    forward   the input projection of all steps, one (B T) x D x G H product, plus one
              B x H x G H product per step (the recurrence: it cannot be batched over steps)
    train     the forward's, plus per step the B x G H x H product for dL/dh_{t-1}, plus the
              weight gradients dW (D x B T x G H) and dU (H x B T x G H)

(the training step's dx product is left out: a model's first layer does not need it). These
products run back to back with no elementwise work between them, so their sum is a floor: a
library can approach it, by fusing everything else into the products' shadow, but not pass it
without a faster GEMM. rnnkit and PyTorch are timed in the same run, interleaved, and printed
as ratios to the floor:

    python benchmarks/gemm_floor.py --cells lstm,gru --sizes small,medium
"""

import argparse
import sys

import numpy as np

from peers import PEERS, gates
from run import SIZES
from timing import interleaved_medians


def products(cell, size, work):
    """The zero-argument function running the work's matrix products once, float32."""
    batch, steps, features, units = size
    width = gates(cell) * units
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, features), dtype=np.float32)
    kernel = rng.random((features, width), dtype=np.float32)
    recurrent = rng.random((units, width), dtype=np.float32)
    h = rng.random((batch, units), dtype=np.float32)
    z = np.empty((batch * steps, width), np.float32)
    step_z = np.empty((batch, width), np.float32)
    dh = np.empty((batch, units), np.float32)
    hs = rng.random((batch * steps, units), dtype=np.float32)

    def forward():
        np.dot(x, kernel, out=z)
        for _ in range(steps):
            np.dot(h, recurrent, out=step_z)

    def train():
        forward()
        for _ in range(steps):
            np.dot(step_z, recurrent.T, out=dh)
        np.dot(x.T, z)
        np.dot(hs.T, z)

    return forward if work == "forward" else train


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="simple_rnn,lstm,gru")
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--peers", default="rnnkit,torch")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("| cell | B x T x D x H | work | GEMM floor ms | " +
          " | ".join(f"{peer} ms | {peer} / floor" for peer in args.peers.split(",")) + " |")
    print("|---|---|---|---|" + "---|---|" * len(args.peers.split(",")))
    for cell in args.cells.split(","):
        for size_name in args.sizes.split(","):
            size = SIZES[size_name]
            built = {name: PEERS[name](cell, *size) for name in args.peers.split(",")}
            for work in ("forward", "train"):
                contenders = {"floor": products(cell, size, work)}
                contenders.update({name: fns[work] for name, fns in built.items() if fns is not None})
                medians = interleaved_medians(contenders, args.rounds, warmup=2, min_round_seconds=0.2)
                floor = medians["floor"]
                cells = " | ".join(f"{medians[name] * 1e3:.3f} | {medians[name] / floor:.2f}"
                                   for name in built if name in medians)
                print(f"| {cell} | {'x'.join(map(str, size))} | {work} | {floor * 1e3:.3f} | {cells} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
