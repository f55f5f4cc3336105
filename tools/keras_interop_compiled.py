"""Checks that real Keras goes on training from rnnkit's compiled files (outside the test suite).

    python tools/keras_interop_compiled.py write DIR     # rnnkit: train 3 steps, save, train 3 more
    python tools/keras_interop_compiled.py keras3 DIR    # keras 3: load DIR/*.keras, train 3 steps
    python tools/keras_interop_compiled.py tf_keras DIR  # tf_keras: load DIR/*.h5, train 3 steps

Prints, per optimizer, the largest relative difference between the losses Keras gets going on from
the file and the losses rnnkit got going on itself.
"""

import os
import pathlib
import sys

import numpy as np

OPTIMIZERS = {"adam": ("Adam", {"learning_rate": 0.01}), "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
              "sgd": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True})}


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 5, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def write(folder):
    import rnnkit as keras
    folder.mkdir(parents=True, exist_ok=True)
    x, y = data()
    for key, (name, kwargs) in OPTIMIZERS.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.LSTM(4, input_shape=(5, 3)), keras.layers.Dense(1)])
        model.compile(optimizer=getattr(keras.optimizers, name)(**kwargs), loss="mse", metrics=["mae"])
        for _ in range(3):
            model.train_on_batch(x, y)
        model.save(folder / f"{key}.keras")
        model.save(folder / f"{key}.h5")
        losses = [np.ravel(model.train_on_batch(x, y))[0] for _ in range(3)]
        np.save(folder / f"{key}.losses.npy", np.array(losses))
    print(f"wrote {len(OPTIMIZERS)} compiled models to {folder}")


def check(folder, flavour):
    if flavour == "tf_keras":
        import tf_keras as keras
        ext = ".h5"
    else:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras
        ext = ".keras"
    x, y = data()
    for key in OPTIMIZERS:
        try:
            model = keras.models.load_model(folder / f"{key}{ext}")
            losses = [np.ravel(model.train_on_batch(x, y))[0] for _ in range(3)]
            expected = np.load(folder / f"{key}.losses.npy")
            print(f"{flavour:8s} {key}{ext}: losses going on {np.round(losses, 6)}; max rel diff "
                  f"{np.max(np.abs(np.array(losses) / expected - 1)):.2e}")
        except Exception as error:  # noqa: BLE001 - a report
            print(f"{flavour:8s} {key}{ext}: FAILED {type(error).__name__}: {str(error)[:300]}")


if __name__ == "__main__":
    command, target = sys.argv[1], pathlib.Path(sys.argv[2])
    write(target) if command == "write" else check(target, command)
