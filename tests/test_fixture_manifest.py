"""Every fixture file of compiled_keras2/, compiled_keras3/, keras2_graph/, keras3_graph/,
train_graph/ and wild/: the ones rnnkit supports load and predict Keras's numbers; the ones it does
not are listed in fixture_manifest.json with the feature they wait for, and fail with an error
naming that feature. No skips: when a feature lands, its entries must go, or these tests fail."""

import json
import pathlib

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit.models import load_model, model_from_json
from rnnkit.saving import FileFormatError

MANIFEST = json.loads((pathlib.Path(__file__).with_name("fixture_manifest.json")).read_text())
UNSUPPORTED = MANIFEST["unsupported_files"]
CAPABILITIES = MANIFEST["unsupported_capabilities"]
MODEL_FOLDERS = ("compiled_keras2", "compiled_keras3", "keras2_graph", "keras3_graph", "wild")


def model_files():
    for folder in MODEL_FOLDERS:
        for path in sorted((FIXTURES / folder).iterdir()):
            if path.suffix in (".h5", ".keras") and not path.name.endswith(".weights.h5"):
                yield f"{folder}/{path.name}"
    for path in sorted((FIXTURES / "train_graph").glob("*.json")):
        yield f"train_graph/{path.name}"


ALL_FILES = list(model_files())
SUPPORTED = [name for name in ALL_FILES if name not in UNSUPPORTED]


def inputs_and_outputs(name):
    """(inputs, Keras's outputs) recorded beside a model file."""
    folder, file_name = name.split("/")
    stem = file_name.split(".")[0]
    data = np.load(FIXTURES / folder / f"{stem}.npz")
    if "pred" in data:  # compiled_*: what Keras predicted for the model as loaded from the file
        return [data["x"]], [data["pred"]]
    inputs = [data[f"x{i}"] for i in range(sum(1 for key in data.files if key.startswith("x")))]
    outputs = [data[f"y{i}"] for i in range(sum(1 for key in data.files if key.startswith("y")))]
    return inputs, outputs


def tolerance(name):
    folder, file_name = name.split("/")
    if folder != "wild":
        return {"atol": 1e-5, "rtol": 0}
    entry = json.loads((FIXTURES / "wild" / "index.json").read_text())
    files = entry.get("files", entry)
    info = files.get(file_name, {}) if isinstance(files, dict) else {}
    extra = (info.get("tolerance") or {}) if isinstance(info, dict) else {}
    return {"atol": 1e-5, "rtol": extra.get("rtol", 0)}


def test_the_manifest_lists_only_real_files_and_says_what_each_waits_for():
    assert set(UNSUPPORTED) <= set(ALL_FILES)
    assert set(CAPABILITIES) <= set(ALL_FILES)
    for entry in list(UNSUPPORTED.values()) + list(CAPABILITIES.values()):
        assert entry["waits_for"] and entry["error_names"]
    assert len(ALL_FILES) == len(SUPPORTED) + len(UNSUPPORTED)


@pytest.mark.parametrize("name", SUPPORTED)
def test_supported_file_predicts_what_keras_predicted(name):
    if name.startswith("train_graph/"):  # a run rnnkit can train: replayed step for step
        from training.test_functional_training_replay import test_functional_training_replays_tf_keras
        test_functional_training_replays_tf_keras(pathlib.Path(name).stem)
        return
    model = load_model(FIXTURES / name)
    inputs, outputs = inputs_and_outputs(name)
    if type(model.layers[0]).__name__ == "Embedding" and inputs[0].dtype.kind == "f":
        # Token ids stored as float32 where the file's InputLayer is float32 (wild/): Keras casts
        # them to int32 inside the Embedding; they are whole numbers.
        assert np.array_equal(inputs[0], np.round(inputs[0]))
        inputs[0] = inputs[0].astype("int32")
    predicted = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    assert len(predicted) == len(outputs)
    for ours, theirs in zip(predicted, outputs):
        np.testing.assert_allclose(ours, theirs, **tolerance(name))


# With nothing staged the parameter list holds None (an empty one would make pytest skip).
@pytest.mark.parametrize("name", sorted(UNSUPPORTED) or [None])
def test_unsupported_file_fails_naming_the_feature_it_waits_for(name):
    if name is None:
        assert not UNSUPPORTED and len(SUPPORTED) == len(ALL_FILES)
        return
    entry = UNSUPPORTED[name]
    with pytest.raises((FileFormatError, NotImplementedError, TypeError)) as caught:
        if name.startswith("train_graph/"):
            run = json.loads((FIXTURES / name).read_text())
            model = model_from_json(json.dumps(run["model"]))
            model.compile(optimizer=run["optimizer"]["class_name"].lower(), loss=run["loss"])
            data = np.load(FIXTURES / name.replace(".json", ".npz"))
            inputs = [data[f"x{i}"] for i in range(len(model.inputs))]
            model.train_on_batch(inputs if len(inputs) > 1 else inputs[0], data["y0"])
        else:
            model = load_model(FIXTURES / name)
            inputs, _ = inputs_and_outputs(name)
            model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    assert entry["error_names"] in str(caught.value), f"{name} waits for {entry['waits_for']}: {caught.value}"
    if isinstance(caught.value, FileFormatError) and not name.startswith("train_graph/"):
        assert str(FIXTURES / name) in str(caught.value)


COMPILED = [f"{folder}/{path.name}" for folder in ("compiled_keras2", "compiled_keras3")
            for path in sorted((FIXTURES / folder).iterdir()) if path.suffix in (".h5", ".keras")]


@pytest.mark.parametrize("name", COMPILED)
def test_a_compiled_file_goes_on_training_where_keras_stopped(name):
    # load_model restores the compile state and the optimizer's slots: three more steps give the
    # losses and weights Keras got going on from the same file (1e-4 relative).
    model = load_model(FIXTURES / name)
    data = np.load(FIXTURES / name.replace(".h5", ".npz").replace(".keras", ".npz"))
    losses = [model.train_on_batch(data["x"], data["y"]) for _ in range(3)]
    losses = [out[0] if isinstance(out, list) else out for out in losses]
    if name in CAPABILITIES:
        assert not np.allclose(losses, data["post_losses"], rtol=1e-4), \
            f"{name} now goes on as Keras did: remove its manifest entry ({CAPABILITIES[name]['waits_for'][:60]})"
        return
    np.testing.assert_allclose(losses, data["post_losses"], rtol=1e-4)
    for i, weight in enumerate(model.get_weights()):
        expected = data[f"w_{i}"]
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_loading_uncompiled_on_request():
    model = load_model(FIXTURES / "compiled_keras2" / "adam_lstm_regressor.h5", compile=False)
    with pytest.raises(RuntimeError, match="compile"):
        model.train_on_batch(np.zeros((2, 10, 3)), np.zeros((2, 1)))
