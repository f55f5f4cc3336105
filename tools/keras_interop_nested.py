"""Does Keras load the files rnnkit writes for models holding models? (Not part of the suite.)

    .venv/bin/python tools/keras_interop_nested.py write            # rnnkit writes /tmp/rk_nested_*
    KERAS_BACKEND=jax /tmp/hf_k3venv/bin/python tools/keras_interop_nested.py keras3    # reads the .keras
    TF_USE_LEGACY_KERAS=1 /tmp/hf_tfvenv/bin/python tools/keras_interop_nested.py tf_keras  # reads the .h5

Prints, per model of tests/models/test_nested_files.py's `build_models`, the largest difference
between Keras's predictions and rnnkit's.
"""

import pathlib
import sys

import numpy as np

OUT = "/tmp/rk_nested_"
NAMES = ("chain", "masked", "twice")


def write():
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "models"))
    from test_nested_files import build_models
    for name, (model, xs) in build_models().items():
        for suffix in (".keras", ".h5"):
            model.save(f"{OUT}{name}{suffix}")
        np.savez(f"{OUT}{name}.npz", *xs, y=model.predict(xs if len(xs) > 1 else xs[0], verbose=0))


def check(which):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from make_nested_fixtures import import_keras
    keras, extension = import_keras(which)
    suffix = "." + extension
    for name in NAMES:
        stored = np.load(f"{OUT}{name}.npz")
        xs = [stored[f"arr_{i}"] for i in range(len(stored.files) - 1)]
        model = keras.models.load_model(f"{OUT}{name}{suffix}")
        y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        print(f"{which} {name}{suffix}: max |Keras - rnnkit| = {float(np.abs(y - stored['y']).max()):.3g}")


if __name__ == "__main__":
    write() if sys.argv[1] == "write" else check(sys.argv[1])
