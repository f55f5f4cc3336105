"""A compiled model saved by rnnkit goes on training where it stopped, after a reload in rnnkit, and
its files hold the compile state in the places Keras's own files do."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import rnnkit as keras
from conftest import FIXTURES
from rnnkit.models import load_model

OPTIMIZERS = [("Adam", {"learning_rate": 0.01}), ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
              ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True})]


def trained(optimizer, kwargs, steps=3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.LSTM(5, input_shape=(6, 3)), keras.layers.Dense(1)])
    model.compile(optimizer=getattr(keras.optimizers, optimizer)(**kwargs), loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model, x, y


@pytest.mark.parametrize("optimizer,kwargs", OPTIMIZERS)
@pytest.mark.parametrize("ext", [".keras", ".h5", ".npz"])
def test_going_on_from_the_file_equals_not_stopping(tmp_path, optimizer, kwargs, ext):
    model, x, y = trained(optimizer, kwargs)
    model.save(tmp_path / f"m{ext}")
    going_on = [model.train_on_batch(x, y) for _ in range(3)]
    loaded = load_model(tmp_path / f"m{ext}")
    assert type(loaded.optimizer).__name__ == optimizer and loaded.optimizer.iterations == 3
    np.testing.assert_array_equal([loaded.train_on_batch(x, y) for _ in range(3)], going_on)
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_without_the_optimizer_state_the_check_above_would_fail(tmp_path):
    model, x, y = trained("Adam", {"learning_rate": 0.01})
    model.save(tmp_path / "m.keras")
    going_on = [model.train_on_batch(x, y) for _ in range(3)]
    fresh = load_model(tmp_path / "m.keras", compile=False)
    fresh.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    assert not np.allclose([fresh.train_on_batch(x, y) for _ in range(3)], going_on)


def test_the_files_hold_the_state_where_kerass_files_do(tmp_path):
    model, _, _ = trained("Adam", {"learning_rate": 0.01})
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    with zipfile.ZipFile(tmp_path / "m.keras") as ours, \
            zipfile.ZipFile(FIXTURES / "compiled_keras3" / "adam_lstm_regressor.keras") as theirs:
        our_config = json.loads(ours.read("config.json"))["compile_config"]
        their_config = json.loads(theirs.read("config.json"))["compile_config"]
        our_vars = h5py.File(io.BytesIO(ours.read("model.weights.h5")), "r")["optimizer/vars"]
        their_vars = h5py.File(io.BytesIO(theirs.read("model.weights.h5")), "r")["optimizer/vars"]
        assert set(our_config) == set(their_config) and set(our_config["optimizer"]) == set(their_config["optimizer"])
        assert set(our_config["optimizer"]["config"]) == set(their_config["optimizer"]["config"])
        # The same LSTM(5) -> Dense(1) shapes as the fixture's model: the same variables, in order.
        assert [our_vars[str(i)].shape for i in range(len(our_vars))] == \
            [their_vars[str(i)].shape for i in range(len(their_vars))]
    with h5py.File(tmp_path / "m.h5", "r") as ours, \
            h5py.File(FIXTURES / "compiled_keras2" / "adam_lstm_regressor.h5", "r") as theirs:
        assert set(json.loads(ours.attrs["training_config"])) == set(json.loads(theirs.attrs["training_config"]))
        assert list(ours["optimizer_weights"].attrs["weight_names"]) == \
            list(theirs["optimizer_weights"].attrs["weight_names"])


def test_an_uncompiled_model_writes_no_compile_state(tmp_path):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert not json.loads(archive.read("config.json"))["compile_config"]
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    assert load_model(tmp_path / "m.keras").optimizer is None
