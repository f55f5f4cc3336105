"""SimpleRNN train_on_batch: rnnkit against torch.nn.RNN + SGD on the same shapes, in one run.

    python benchmarks/simple_rnn_train.py [--repeats 20]

Prints the median time of each and the ratio rnnkit / torch (target: <= 0.8 at 64x100x128x256).
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from timing import interleaved_medians  # noqa: E402
from peers import rnnkit_peer, torch_peer  # noqa: E402

SIZES = [(8, 2, 10, 3), (32, 50, 32, 64), (64, 100, 128, 256)]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"{'batch,time,input,units':>24} {'rnnkit ms':>10} {'torch ms':>10} {'ratio':>7}")
    for size in SIZES:
        contenders = {"rnnkit": rnnkit_peer("simple_rnn", *size)["train"]}
        torch_step = torch_peer("simple_rnn", *size)
        if torch_step is not None:
            contenders["torch"] = torch_step["train"]
        medians = interleaved_medians(contenders, args.repeats)
        torch_ms = medians.get("torch")
        ratio = f"{medians['rnnkit'] / torch_ms:7.2f}" if torch_ms else "    n/a"
        torch_text = f"{torch_ms * 1e3:10.3f}" if torch_ms else "       n/a"
        print(f"{str(size):>24} {medians['rnnkit'] * 1e3:10.3f} {torch_text} {ratio}")


if __name__ == "__main__":
    main()
