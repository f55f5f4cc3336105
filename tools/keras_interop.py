"""Checks rnnkit's Keras files against real Keras (not part of the test suite: it needs Keras).

    python tools/keras_interop.py          # in an environment with keras 3 (any backend)

Saves one model of every layer kind with rnnkit as .keras and .weights.h5, loads them with Keras,
and compares Keras's predictions with rnnkit's. With tf_keras installed, does the same for the
Keras 2 .h5 format.
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "saving"))
os.environ.setdefault("KERAS_BACKEND", "torch")

from model_zoo import every_kind_of_model, sample_input  # noqa: E402


def main():
    folder = pathlib.Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    cases = []
    for index, model in enumerate(every_kind_of_model()):
        model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
        x = sample_input(model, rng)
        model.save(folder / f"m{index}.keras")
        model.save(folder / f"m{index}.h5")
        model.save_weights(folder / f"m{index}.weights.h5")
        model.save_weights(folder / f"m{index}_legacy.h5")
        cases.append((index, x, model.predict(x, verbose=0)))
    worst = 0.0
    try:
        import keras
        for index, x, y in cases:
            theirs = keras.models.load_model(folder / f"m{index}.keras")
            worst = max(worst, float(np.abs(np.asarray(theirs.predict(x, verbose=0)) - y).max()))
            theirs.load_weights(folder / f"m{index}.weights.h5")
            worst = max(worst, float(np.abs(np.asarray(theirs.predict(x, verbose=0)) - y).max()))
        print(f"keras {keras.__version__}: loaded {len(cases)} .keras and .weights.h5 files; "
              f"max |keras - rnnkit| = {worst:.2e}")
    except ImportError:
        print("keras is not installed: skipped the Keras 3 check")
    try:
        import tf_keras
        worst = 0.0
        for index, x, y in cases:
            theirs = tf_keras.models.load_model(folder / f"m{index}.h5")
            worst = max(worst, float(np.abs(np.asarray(theirs.predict(x, verbose=0)) - y).max()))
            theirs.load_weights(folder / f"m{index}_legacy.h5")
            worst = max(worst, float(np.abs(np.asarray(theirs.predict(x, verbose=0)) - y).max()))
        print(f"tf_keras {tf_keras.__version__}: loaded {len(cases)} .h5 models and legacy .h5 weights; "
              f"max |tf_keras - rnnkit| = {worst:.2e}")
    except ImportError:
        print("tf_keras is not installed: skipped the Keras 2 check")


if __name__ == "__main__":
    main()
