"""Files of models holding models: Keras's own (tests/fixtures_local/nested/, written by
tools/make_nested_fixtures.py with tf_keras 2.21 and Keras 3.15, with the predictions Keras
computed) load and predict Keras's numbers, and what rnnkit writes reads back the same in every
format. tools/keras_interop_nested.py checks that Keras itself loads rnnkit's files."""

import json
import pathlib

import h5py
import numpy as np
import pytest

import rnnkit as keras
from rnnkit.layers import GRU, LSTM, Dense, Embedding, Input, SimpleRNN
from rnnkit.models import Model, Sequential
from rnnkit.saving import FileFormatError

NESTED = pathlib.Path(__file__).resolve().parents[1] / "fixtures_local" / "nested"
KERAS_FILES = [(flavor, name) for flavor in ("tf_keras", "keras3") for name in ("chain", "twice", "masked")]


def keras_inputs(expected, name):
    return [expected[f"{name}_x{i}"] for i in range(int(expected[f"{name}_x"]))]


@pytest.mark.parametrize("flavor,name", KERAS_FILES)
def test_keras_files_with_nested_models_predict_keras_numbers(flavor, name):
    expected = np.load(NESTED / f"expected_{flavor}.npz")
    model = keras.models.load_model(NESTED / f"{name}_{flavor}.{'h5' if flavor == 'tf_keras' else 'keras'}")
    xs = keras_inputs(expected, name)
    np.testing.assert_allclose(model.predict(xs if len(xs) > 1 else xs[0], verbose=0), expected[f"{name}_y"],
                               rtol=0, atol=1e-6)


def test_the_nested_models_come_back_as_models_with_their_own_layers():
    model = keras.models.load_model(NESTED / "chain_tf_keras.h5")
    encoder, stack = model.get_layer("encoder"), model.get_layer("stack")
    assert isinstance(encoder, Model) and isinstance(stack, Sequential)
    assert [type(layer).__name__ for layer in encoder.layers] == ["InputLayer", "LSTM", "GRU"]
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith(" encoder (Functional)") for line in lines)
    assert any(line.startswith(" stack (Sequential)") for line in lines)


def build_models():
    inner_in = Input(shape=(5, 3))
    encoder = Model(inner_in, GRU(4)(LSTM(3, return_sequences=True, name="lstm_in")(inner_in)), name="encoder")
    stack = Sequential([Input(shape=(4,)), Dense(2, activation="tanh")], name="stack")
    x = Input(shape=(5, 3))
    chain = Model(x, Dense(1)(stack(encoder(x))), name="chain")
    reader_in = Input(shape=(6, 4))
    reader = Model(reader_in, LSTM(2)(SimpleRNN(3, return_sequences=True)(reader_in)), name="reader")
    masked = Sequential([Input(shape=(6,), dtype="int32"), Embedding(9, 4, mask_zero=True), reader, Dense(2)],
                        name="masked")
    tower_in = Input(shape=(4, 2))
    tower = Model(tower_in, LSTM(3)(tower_in), name="tower")
    a, b = Input(shape=(4, 2)), Input(shape=(4, 2))
    twice = Model([a, b], Dense(1)(keras.layers.concatenate([tower(a), tower(b)])), name="twice")
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 9, size=(3, 6))
    ids[0, 2:] = 0
    return {"chain": (chain, [rng.normal(size=(3, 5, 3)).astype("float32")]), "masked": (masked, [ids]),
            "twice": (twice, [rng.normal(size=(3, 4, 2)).astype("float32") for _ in range(2)])}


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".npz"])
@pytest.mark.parametrize("name", ["chain", "masked", "twice"])
def test_nested_models_round_trip_in_every_format(tmp_path, name, suffix):
    model, xs = build_models()[name]
    feed = xs if len(xs) > 1 else xs[0]
    before = model.predict(feed, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(loaded.predict(feed, verbose=0), before)
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]
    again = keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(feed, verbose=0), before)


def test_the_files_lay_nested_weights_out_as_keras_does(tmp_path):
    """The layouts tools/make_nested_fixtures.py's Keras files show (read once from them)."""
    chain, _ = build_models()["chain"]
    chain.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as h5:
        names = [n.decode() if isinstance(n, bytes) else n for n in h5["model_weights/encoder"].attrs["weight_names"]]
        assert names[:3] == [f"lstm_in/lstm_cell/{w}:0" for w in ("kernel", "recurrent_kernel", "bias")]
        config = json.loads(h5.attrs["model_config"])
        entries = {entry["name"]: entry for entry in config["config"]["layers"]}
        assert entries["stack"]["inbound_nodes"][0][0][:3] == ["encoder", 1, 0]  # node 0: the model's own
    chain.save(tmp_path / "m.keras")
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.keras") as archive, h5py.File(archive.open("model.weights.h5")) as h5:
        assert "layers/functional/layers/lstm/cell/vars/0" in h5
        assert "layers/sequential/layers/dense/vars/1" in h5
        entries = {e["name"]: e for e in json.loads(archive.read("config.json"))["config"]["layers"]}
        history = entries["stack"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
        assert history == ["encoder", 0, 0]


def test_a_damaged_nested_entry_is_refused_naming_its_place_inside(tmp_path):
    source = NESTED / "chain_tf_keras.h5"
    target = tmp_path / "bad.h5"
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        encoder = next(e for e in config["config"]["layers"] if e["name"] == "encoder")
        encoder["config"]["layers"][1]["config"]["units"] = -4
        h5.attrs["model_config"] = json.dumps(config)
    with pytest.raises(FileFormatError, match=r"config\.layers\[1\]\.config\.layers\[1\]"):
        keras.models.load_model(target)


def test_models_nested_too_deep_are_refused():
    layer = {"class_name": "Dense", "config": {"name": "d", "units": 1}, "name": "d",
             "inbound_nodes": [[["i", 0, 0, {}]]]}
    entry = None
    for depth in range(6):
        inner_layers = [{"class_name": "InputLayer", "name": "i", "inbound_nodes": [],
                         "config": {"batch_input_shape": [None, 1], "dtype": "float32", "name": "i"}},
                        entry if entry is not None else layer]
        if entry is not None:
            inner_layers[1] = dict(entry, name="m", inbound_nodes=[[["i", 0, 0, {}]]])
        entry = {"class_name": "Functional", "name": "m", "config": {
            "name": "m", "layers": inner_layers, "input_layers": [["i", 0, 0]],
            "output_layers": [["m" if depth else "d", 1 if depth else 0, 0]]}}
    with pytest.raises(FileFormatError, match="nest at most 4 deep"):
        keras.models.model_from_json(json.dumps(entry))


@pytest.mark.parametrize("name", ["chain", "twice", "masked"])
def test_summaries_of_nested_models_match_tf_keras_line_for_line(name):
    """tf_keras's text (tools/make_nested_fixtures.py), plain then expand_nested=True, but for the
    totals lines, which keep Keras 2.9's form (no byte sizes) as every rnnkit summary does."""
    model = keras.models.load_model(NESTED / f"{name}_tf_keras.h5")
    printed = []
    model.summary(print_fn=printed.append)
    model.summary(print_fn=printed.append, expand_nested=True)
    expected = (NESTED / f"{name}_tf_keras.summary.txt").read_text().splitlines()
    assert len(printed) == len(expected)
    sequential = isinstance(model, Sequential)
    for got, want in zip(printed, expected):
        if want.startswith(("Total params", "Trainable params", "Non-trainable params")):
            assert got == want.split(" (")[0]
        elif sequential and want.startswith("| "):
            # A Sequential prints in Keras 2.9's layout (the seed's), which pads every column of a
            # nested row for its border; tf_keras 2.21 only the last. Same text, other padding.
            assert got.split() == want.split() and len(got) == len(want)
        else:
            assert got == want
