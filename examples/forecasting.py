"""Forecasting a noisy sine wave with a GRU: windows of the past predict the next value.

    python examples/forecasting.py [--epochs 10]
"""

import argparse
import time

import numpy as np

from rnnkit.layers import GRU, Dense
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed


def series(length=3000, noise=0.1, seed=0):
    t = np.arange(length)
    rng = np.random.default_rng(seed)
    return (np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 13) + noise * rng.normal(size=length)).astype(
        "float32")


def windows(values, width):
    x = np.lib.stride_tricks.sliding_window_view(values[:-1], width)
    return x[..., None].copy(), values[width:, None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--window", type=int, default=40)
    args = parser.parse_args()
    set_random_seed(0)
    values = series()
    x, y = windows(values, args.window)
    split = int(len(x) * 0.8)
    model = Sequential([GRU(32, input_shape=(args.window, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    start = time.perf_counter()
    model.fit(x[:split], y[:split], epochs=args.epochs, batch_size=32, validation_split=0.1)
    mse, mae = model.evaluate(x[split:], y[split:], verbose=0)
    naive = float(np.mean((x[split:, -1, 0] - y[split:, 0]) ** 2))  # "tomorrow = today"
    print(f"test MSE {mse:.4f} (MAE {mae:.4f}) vs {naive:.4f} for repeating the last value; noise variance 0.0100; "
          f"{time.perf_counter() - start:.1f} s")
    forecast = model.predict(x[split:split + 5], verbose=0)[:, 0]
    print("next values:", np.round(y[split:split + 5, 0], 3), "forecast:", np.round(forecast, 3))


if __name__ == "__main__":
    main()
