"""Checks rnnkit's functional-model files against real Keras (outside the test suite: it needs Keras).

    python tools/keras_interop_functional.py write DIR     # in rnnkit's environment
    python tools/keras_interop_functional.py keras3 DIR    # in an environment with keras 3 (any backend)
    python tools/keras_interop_functional.py tf_keras DIR  # in an environment with tf_keras 2.x

`write` loads every functional fixture rnnkit supports (keras2_graph), saves it as .keras, .h5 and
.weights.h5, and stores its inputs and rnnkit's predictions; the other two load those files with
Keras and print the largest difference from rnnkit's predictions per file.
"""

import json
import os
import pathlib
import sys

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "keras2_graph"


def write(folder):
    from rnnkit.models import load_model
    from rnnkit.models import convert
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    sources = [p for p in sorted(FIXTURES.glob("*.h5")) if not p.name.endswith(".weights.h5")]
    sources += [p for p in sorted((FIXTURES.parent / "wild").iterdir()) if p.suffix in (".h5", ".keras")]
    for path in sources:
        try:
            model = load_model(path)
        except ValueError:
            continue
        stem = path.stem if path.parent == FIXTURES else "wild_" + path.stem
        data = np.load(path.with_suffix(".npz"))
        inputs = [data[f"x{i}"] for i in range(len(model.inputs))] if hasattr(model, "inputs") else [data["x0"]]
        if path.parent != FIXTURES:  # wild files: convert them as a user would, to both targets
            try:
                convert(path, folder / f"{stem}.keras", force=True)
                convert(path, folder / f"{stem}.h5", force=True)
                convert(path, folder / f"{stem}.weights.h5", force=True)
            except ValueError as error:
                print(f"skip {path.name}: {error}")
                continue
            model = load_model(folder / f"{stem}.keras")
            if not hasattr(model, "inputs"):
                continue  # Sequential wild files: tools/keras_interop.py --converted checks those
            try:
                outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
            except (ValueError, TypeError) as error:
                print(f"skip {path.name}: {str(error)[:120]}")
                continue
            outputs = outputs if isinstance(outputs, list) else [outputs]
            np.savez(folder / f"{stem}.io.npz", **{f"x{i}": x for i, x in enumerate(inputs)},
                     **{f"y{i}": y for i, y in enumerate(outputs)})
            written.append(stem)
            continue
        outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        try:
            model.save(folder / f"{stem}.keras")
            model.save(folder / f"{stem}.h5")
            model.save_weights(folder / f"{stem}.weights.h5")
        except ValueError as error:  # e.g. Keras 2's hard_sigmoid has no Keras 3 name
            print(f"skip {path.name}: {str(error)[:120]}")
            continue
        np.savez(folder / f"{stem}.io.npz", **{f"x{i}": x for i, x in enumerate(inputs)},
                 **{f"y{i}": y for i, y in enumerate(outputs)})
        written.append(stem)
    (folder / "index.json").write_text(json.dumps(written))
    print(f"wrote {len(written)} models to {folder}")


def check(folder, flavour):
    if flavour == "tf_keras":
        import tf_keras as keras
        extensions = (".h5",)
    else:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras
        extensions = (".keras",)
    for stem in json.loads((folder / "index.json").read_text()):
        data = np.load(folder / f"{stem}.io.npz")
        inputs = [data[k] for k in sorted(k for k in data.files if k.startswith("x"))]
        expected = [data[k] for k in sorted(k for k in data.files if k.startswith("y"))]
        for ext in extensions:
            try:
                model = keras.models.load_model(folder / f"{stem}{ext}", compile=False)
                got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
                got = got if isinstance(got, list) else [got]
                diff = max(float(np.abs(np.asarray(g) - e).max()) for g, e in zip(got, expected))
                clone = keras.models.model_from_json(model.to_json())
                clone.load_weights(folder / f"{stem}.weights.h5")
                got = clone.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
                got = got if isinstance(got, list) else [got]
                weights_diff = max(float(np.abs(np.asarray(g) - e).max()) for g, e in zip(got, expected))
                print(f"{flavour:8s} {stem}{ext}: max |diff| {diff:.2e}; .weights.h5 {weights_diff:.2e}")
            except Exception as error:  # noqa: BLE001 - a report, not a library
                print(f"{flavour:8s} {stem}{ext}: FAILED {type(error).__name__}: {str(error)[:300]}")


if __name__ == "__main__":
    command, target = sys.argv[1], pathlib.Path(sys.argv[2])
    write(target) if command == "write" else check(target, command)
