"""Issue 13's front-end benchmark: Conv1D(64, 5, relu) -> MaxPooling1D(2) -> LSTM(128) -> Dense(1)
on (64, 200, 128) float32 inputs, in rnnkit, PyTorch and TF-Keras, forward and one SGD training
step (mean squared error), timed interleaved (benchmarks/timing.py); then each library's peak
memory of a training step in a fresh process (as benchmarks/run.py measures it).

    .venv-bench/bin/python benchmarks/cnn_lstm.py [--output docs/cnn-lstm-latest.md]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import interleaved_medians  # noqa: E402

BATCH, TIME, FEATURES = 64, 200, 128
FILTERS, KERNEL, POOL, UNITS = 64, 5, 2, 128
LEARNING_RATE = 0.01


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32"), np.zeros((BATCH, 1), "float32")


def keras_model(keras):
    layers = keras.layers
    return keras.Sequential([keras.Input((TIME, FEATURES)), layers.Conv1D(FILTERS, KERNEL, activation="relu"),
                             layers.MaxPooling1D(POOL), layers.LSTM(UNITS), layers.Dense(1)])


def rnnkit_peer():
    import rnnkit
    model = keras_model(rnnkit)
    model.compile(rnnkit.optimizers.SGD(LEARNING_RATE), "mse")
    x, y = data()
    return {"forward": lambda: model.predict_on_batch(x), "train": lambda: model.train_on_batch(x, y)}


def tf_keras_peer():
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        import tf_keras
    except ImportError:
        return None
    model = keras_model(tf_keras)
    model.compile(tf_keras.optimizers.SGD(LEARNING_RATE), "mse")
    x_np, y_np = data()
    x, y = tf.constant(x_np), tf.constant(y_np)
    forward = tf.function(lambda inputs: model(inputs, training=False))
    return {"forward": lambda: forward(x).numpy(), "train": lambda: model.train_on_batch(x, y)}


def torch_peer():
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(FEATURES, FILTERS, KERNEL)
            self.lstm = torch.nn.LSTM(FILTERS, UNITS, batch_first=True)
            self.head = torch.nn.Linear(UNITS, 1)

        def forward(self, x):
            h = torch.relu(self.conv(x.transpose(1, 2)))
            h = torch.nn.functional.max_pool1d(h, POOL).transpose(1, 2)
            return self.head(self.lstm(h)[0][:, -1])

    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    x_np, y_np = data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def forward():
        with torch.inference_mode():
            return net(x)

    def train():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return {"forward": forward, "train": train}


PEERS = {"rnnkit": rnnkit_peer, "torch": torch_peer, "tf_keras": tf_keras_peer}

MEMORY_PROBE = """
import json, sys
sys.path.insert(0, {bench!r})
from cnn_lstm import PEERS
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
fns = PEERS[{peer!r}]()
if fns is None:
    print(json.dumps(None)); sys.exit()
before = rss("VmRSS:")
fns["train"]()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
fns["train"]()
print(json.dumps(rss("VmHWM:") - before))
"""


def peak_memory(peer):
    code = MEMORY_PROBE.format(bench=str(pathlib.Path(__file__).resolve().parent), peer=peer)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output")
    args = parser.parse_args()
    peers = {name: make() for name, make in PEERS.items()}
    peers = {name: fns for name, fns in peers.items() if fns is not None}
    lines = [f"Conv1D({FILTERS}, {KERNEL}) + MaxPooling1D({POOL}) + LSTM({UNITS}) + Dense(1), input "
             f"({BATCH}, {TIME}, {FEATURES}), float32, {os.cpu_count()} cores", "",
             "| work | " + " | ".join(f"{name} ms" for name in peers) + " | rnnkit / fastest peer |",
             "|---|" + "---|" * (len(peers) + 1)]
    for work in ("forward", "train"):
        times = interleaved_medians({name: fns[work] for name, fns in peers.items()}, args.repeats)
        others = {name: t for name, t in times.items() if name != "rnnkit"}
        best = min(others, key=others.get) if others else None
        ratio = f"{times['rnnkit'] / others[best]:.2f} ({best})" if best else "-"
        lines.append(f"| {work} | " + " | ".join(f"{times[name] * 1e3:.1f}" for name in peers) + f" | {ratio} |")
    memory = {name: peak_memory(name) for name in peers}
    lines += ["", "Peak memory of a training step (MiB above the RSS before training): " +
              ", ".join(f"{name} {value / 2**20:.1f}" for name, value in memory.items() if value is not None)]
    report = "\n".join(lines)
    print(report)
    if args.output:
        pathlib.Path(args.output).write_text(report + "\n")


if __name__ == "__main__":
    main()
