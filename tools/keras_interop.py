"""Checks rnnkit's Keras files against real Keras (not part of the test suite: it needs Keras).

    python tools/keras_interop.py          # in an environment with keras 3 (any backend)
    python tools/keras_interop.py --converted   # the converted-files table (see below)

Saves one model of every layer kind with rnnkit as .keras and .weights.h5, loads them with Keras,
and compares Keras's predictions with rnnkit's. With tf_keras installed, does the same for the
Keras 2 .h5 format.

--converted: every fixture model file that rnnkit loads (wild/ and the SavedModel folders under
tests/fixtures_local/savedmodel/) goes through `rnnkit.saving.convert` to a Keras 3 `.keras` (and a
Keras 2 `.h5`); each is loaded by the installed Keras (keras 3, and tf_keras if installed) and its
predictions on the fixture's inputs compared with the reference outputs Keras recorded there and
with rnnkit's. Prints a Markdown table.
Example environment: python3 -m venv /tmp/k3 && /tmp/k3/bin/pip install keras jax h5py;
KERAS_BACKEND=jax /tmp/k3/bin/python tools/keras_interop.py --converted
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "saving"))
sys.path.insert(1, str(ROOT / "src"))   # rnnkit itself, when it is not installed here
os.environ.setdefault("KERAS_BACKEND", "torch")
FIXTURES = ROOT.parent / "shared" / "fixtures"

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


def _inputs_and_reference(npz):
    """(x, first reference output); x is a list when the model has several inputs."""
    data = np.load(npz)
    inputs = [data[f"x{i}"] for i in range(sum(1 for key in data.files if key.startswith("x") and key != "x"))]
    x = (inputs if len(inputs) > 1 else inputs[0]) if inputs else data["x"]
    y = data["y0"] if "y0" in data else data["y"]
    return x, y


def _first(outputs):
    return np.asarray(outputs[0] if isinstance(outputs, list) else outputs)


def _as_model_input(model_first_layer_class, x):
    if model_first_layer_class == "Embedding" and x.dtype.kind == "f" and np.array_equal(x, np.round(x)):
        return x.astype("int32")
    return x


def _cudnn_files(folder):
    """Keras 2.2-style `.h5` files of CuDNNLSTM / CuDNNGRU models (list-form Sequential, weights in
    cuDNN's layout), with inputs and the outputs of an independent float64 cuDNN forward pass."""
    import json

    import h5py
    from numpy_references import cudnn_gru, cudnn_lstm
    rng = np.random.default_rng(5)
    T, D, H = 6, 3, 4
    x = rng.normal(size=(3, T, D)).astype("float32")
    for class_name, gates, reference in (("CuDNNLSTM", 4, cudnn_lstm), ("CuDNNGRU", 3, cudnn_gru)):
        weights = [rng.normal(size=s).astype("float32") * 0.6 for s in ((D, gates * H), (H, gates * H),
                                                                         (2 * gates * H,))]
        name = "cu_dnn" + class_name[5:].lower() + "_1"
        layer = {"class_name": class_name, "config": {"name": name, "trainable": True, "units": H,
                                                      "return_sequences": True, "return_state": False,
                                                      "go_backwards": False, "stateful": False,
                                                      "batch_input_shape": [None, T, D], "dtype": "float32"}}
        path = folder / f"synthetic_{class_name.lower()}.h5"
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = "2.2.0"
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": [layer]})
            group = f.create_group("model_weights")
            group.attrs["layer_names"] = [name.encode()]
            layer_group = group.create_group(name)
            names = [f"{name}/{w}:0" for w in ("kernel", "recurrent_kernel", "bias")]
            layer_group.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, weights):
                layer_group.create_dataset(n, data=w)
        np.savez(path.with_suffix(".npz"), x=x, y=reference(x, *weights, return_sequences=True).astype("float32"))
        yield path


def converted_table():
    """Markdown rows: source file, rnnkit vs reference, Keras 3 (.keras) and tf_keras (.h5) vs reference."""
    from rnnkit.models import convert, load_model   # Sequential and functional models alike
    folder = pathlib.Path(tempfile.mkdtemp())
    sources = [p for p in sorted((FIXTURES / "wild").iterdir()) if p.suffix in (".h5", ".keras")]
    local = ROOT / "tests" / "fixtures_local" / "savedmodel"
    if local.is_dir():
        sources += sorted(p for p in local.iterdir() if (p / "saved_model.pb").exists())
    (folder / "sources").mkdir()
    sources += list(_cudnn_files(folder / "sources"))
    try:
        import keras
    except ImportError:
        keras = None
    try:
        import tf_keras
    except ImportError:
        tf_keras = None
    rows = ["| file | rnnkit vs reference | convert check | Keras 3 %s loads .keras: max diff vs reference | "
            "tf_keras %s loads .h5: max diff vs reference |" % (getattr(keras, "__version__", "-"),
                                                                getattr(tf_keras, "__version__", "-")),
            "|---|---|---|---|---|"]
    for source in sources:
        npz = source.with_suffix(".npz") if source.is_file() else source.parent / f"{source.name}.npz"
        try:
            model = load_model(source)
        except Exception as error:  # noqa: BLE001 - a table of what works
            rows.append(f"| {source.name} | not loaded: {str(error).split(': ', 1)[-1][:70]} | | | |")
            continue
        x, y = _inputs_and_reference(npz)
        x = _as_model_input(type(model.layers[0]).__name__, x) if not isinstance(x, list) else x
        ours = float(np.abs(_first(model.predict(x, verbose=0)) - y).max())
        cells = []
        stem = source.name.split(".")[0]
        report = convert(source, folder / f"{stem}.keras", check=True, force=True)
        convert(source, folder / f"{stem}.h5", force=True)
        cells.append(f"{report['max_abs_diff']:.1e}" + (" (hard_sigmoid rewritten)" if report["notes"] else ""))
        for module, path in ((keras, folder / f"{stem}.keras"), (tf_keras, folder / f"{stem}.h5")):
            if module is None:
                cells.append("not installed")
                continue
            try:
                theirs = module.models.load_model(path, compile=False)
                cells.append(f"{float(np.abs(_first(theirs.predict(x, verbose=0)) - y).max()):.1e}")
            except Exception as error:  # noqa: BLE001
                cells.append(f"FAILED: {type(error).__name__}: {str(error)[:80]}")
        rows.append(f"| {source.name} | {ours:.1e} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    if "--converted" in sys.argv:
        print(converted_table())
    else:
        main()
