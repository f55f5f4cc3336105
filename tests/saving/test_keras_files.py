"""Keras files: every fixture loads and predicts; rnnkit's files round-trip and have Keras's layout;
damaged or foreign files give clear errors and change nothing."""

import json
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from conftest import FIXTURES, config_differences, fixture_index
from model_zoo import every_kind_of_model, sample_input
from rnnkit.layers import Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential, load_model

CASES = sorted(fixture_index("keras2"))
MODEL_FILES = [("keras2", name, ".h5") for name in CASES] + [("keras3", name, ".keras") for name in CASES]


def io_of(version, name):
    data = np.load(FIXTURES / version / f"{name}.npz")
    return data["x"], data["y"]


@pytest.mark.parametrize("version,name,ext", MODEL_FILES)
def test_load_model_predicts_keras_outputs(version, name, ext):
    model = load_model(FIXTURES / version / f"{name}{ext}")
    x, y = io_of(version, name)
    assert [type(layer).__name__ for layer in model.layers] == fixture_index(version)[name]["layers"]
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-5, rtol=0)


@pytest.mark.parametrize("version,name,ext", MODEL_FILES)
def test_load_weights_into_a_model_built_in_rnnkit(version, name, ext):
    architecture = load_model(FIXTURES / version / f"{name}{ext}")
    fresh = Sequential.from_config(architecture.get_config())
    fresh.build(architecture.input_shape)
    fresh.load_weights(FIXTURES / version / f"{name}.weights.h5")
    x, y = io_of(version, name)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), y, atol=1e-5, rtol=0)


def test_load_weights_from_a_keras2_full_model_and_by_name():
    source = FIXTURES / "keras2" / "deep_simple_rnn_dense.h5"
    model = load_model(source)
    x, y = io_of("keras2", "deep_simple_rnn_dense")
    other = Sequential([SimpleRNN(8, return_sequences=True, input_shape=(10, 5), name="simple_rnn_3"),
                        SimpleRNN(6, name="not_in_the_file"), Dense(3, activation="softmax", name="dense")])
    before = other.layers[1].get_weights()
    other.load_weights(source, by_name=True)
    for a, b in zip(other.layers[0].get_weights() + other.layers[2].get_weights(),
                    model.layers[0].get_weights() + model.layers[2].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(other.layers[1].get_weights(), before):
        np.testing.assert_array_equal(a, b)
    other.load_weights(source)  # by order
    np.testing.assert_allclose(other.predict(x, verbose=0), y, atol=1e-5)


def comparable(layer, ext):
    config = layer.get_config()
    if ext == ".keras":
        # Keras 3 layers carry no input shape (nor Embedding an input_length): the archive keeps
        # the model's input shape on its InputLayer instead.
        config.pop("batch_input_shape", None)
        if isinstance(layer, Embedding):
            config.pop("input_length")
    return config


@pytest.mark.parametrize("ext", [".keras", ".h5", ".npz"])
@pytest.mark.parametrize("index", range(4))
def test_round_trips_predict_identically(tmp_path, ext, index):
    rng = np.random.default_rng(index)
    model = every_kind_of_model()[index]
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    x = sample_input(model, rng)
    path = tmp_path / f"model{ext}"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    assert [comparable(l, ext) for l in loaded.layers] == [comparable(l, ext) for l in model.layers]
    for weights_ext in (".weights.h5", ".h5", ".npz"):
        clone = Sequential.from_config(model.get_config())
        clone.build(model.input_shape)
        model.save_weights(tmp_path / f"w{weights_ext}")
        clone.load_weights(tmp_path / f"w{weights_ext}")
        np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def h5_tree(path_or_file):
    """{path: ('group', attrs) or ('dataset', shape)} of an HDF5 file."""
    tree = {}
    with h5py.File(path_or_file, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                tree[name] = ("dataset", obj.shape)
            else:
                tree[name] = ("group", sorted(obj.attrs))
        f.visititems(visit)
    return tree


def test_config_differences_finds_a_changed_value():
    theirs = {"config": {"layers": [{"class_name": "LSTM", "config": {"units": 5, "shared_object_id": 1}}]}}
    ours = json.loads(json.dumps(theirs))
    ours["config"]["layers"][0]["config"]["shared_object_id"] = 2
    assert config_differences(ours, theirs) == []
    ours["config"]["layers"][0]["config"]["units"] = 6
    assert config_differences(ours, theirs) == [("$.config.layers[0].config.units", 6, 5)]
    ours["config"]["layers"][0]["config"]["units"] = 5
    ours["config"]["layers"][0]["config"]["name"] = "lstm_9"
    assert config_differences(ours, theirs) == [("$.config.layers[0].config.name", "lstm_9", "<absent>")]


def test_written_files_say_who_wrote_them(tmp_path):
    import rnnkit
    model = rebuild("keras3", "lstm_stack")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.h5")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["keras_version"] == "3.15.1" and metadata["written_by"] == f"rnnkit {rnnkit.__version__}"
    for name in ("w.weights.h5", "w.h5"):
        with h5py.File(tmp_path / name, "r") as f:
            assert f.attrs["written_by"] == f"rnnkit {rnnkit.__version__}"


def rebuild(version, name):
    """The fixture's architecture rebuilt in rnnkit, with the fixture's layer names."""
    return load_model(FIXTURES / version / (f"{name}.h5" if version == "keras2" else f"{name}.keras"))


@pytest.mark.parametrize("name", CASES)
def test_written_weights_file_has_the_fixture_layout(tmp_path, name):
    model = rebuild("keras3", name)
    model.save_weights(tmp_path / "w.weights.h5")
    ours = h5_tree(tmp_path / "w.weights.h5")
    theirs = h5_tree(FIXTURES / "keras3" / f"{name}.weights.h5")
    assert ours == theirs


def group_names(path, under):
    """{group path: its `name` attribute} for the groups below `under` in a Keras 3 weights file."""
    names = {}
    with h5py.File(path, "r") as f:
        f[under].visititems(lambda name, obj: names.update(
            {name: obj.attrs["name"]} if isinstance(obj, h5py.Group) and "name" in obj.attrs else {}))
    return names


@pytest.mark.parametrize("name", [case for case in CASES if case.startswith("bidirectional")])
def test_bidirectional_groups_carry_keras_names(tmp_path, name):
    # Keras 3 names the copies it makes of the wrapped layer forward_<name> and backward_<name>.
    model = rebuild("keras3", name)
    model.save_weights(tmp_path / "w.weights.h5")
    ours = group_names(tmp_path / "w.weights.h5", "layers")
    theirs = group_names(FIXTURES / "keras3" / f"{name}.weights.h5", "layers")
    wrapped = {path: value for path, value in theirs.items() if "ward_layer" in path}
    assert any(value.startswith("backward_") for value in wrapped.values())
    assert {path: ours.get(path) for path in wrapped} == wrapped


@pytest.mark.parametrize("name", CASES)
def test_written_keras_archive_has_the_fixture_layout(tmp_path, name):
    model = rebuild("keras3", name)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as ours, zipfile.ZipFile(FIXTURES / "keras3" / f"{name}.keras") as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist())
        our_config, their_config = json.loads(ours.read("config.json")), json.loads(theirs.read("config.json"))
        (tmp_path / "ours.h5").write_bytes(ours.read("model.weights.h5"))
        (tmp_path / "theirs.h5").write_bytes(theirs.read("model.weights.h5"))
    assert h5_tree(tmp_path / "ours.h5") == h5_tree(tmp_path / "theirs.h5")
    assert config_differences(our_config, their_config) == []


@pytest.mark.parametrize("name", CASES)
def test_written_h5_model_has_the_fixture_layout(tmp_path, name):
    model = rebuild("keras2", name)
    model.save(tmp_path / "m.h5")
    ours, theirs = h5_tree(tmp_path / "m.h5"), h5_tree(FIXTURES / "keras2" / f"{name}.h5")
    # tf_keras also writes an empty top_level_model_weights group for subclassed models' own weights.
    theirs = {k: v for k, v in theirs.items() if "top_level_model_weights" not in k}
    assert ours == theirs
    with h5py.File(tmp_path / "m.h5", "r") as f, h5py.File(FIXTURES / "keras2" / f"{name}.h5", "r") as g:
        assert set(f.attrs) == set(g.attrs) | {"written_by"}
        assert f.attrs["keras_version"] == g.attrs["keras_version"]  # what tf_keras's loader checks
        assert f.attrs["written_by"].startswith("rnnkit ")
        our_config, their_config = json.loads(f.attrs["model_config"]), json.loads(g.attrs["model_config"])
        assert config_differences(our_config, their_config) == []
        for layer in f["model_weights"].attrs["layer_names"]:
            assert list(f["model_weights"][layer].attrs["weight_names"]) == \
                list(g["model_weights"][layer].attrs["weight_names"])


# ---- bad files ------------------------------------------------------------------------------------
def copy_fixture(tmp_path, version, name, ext):
    target = tmp_path / f"{name}{ext}"
    shutil.copy(FIXTURES / version / f"{name}{ext}", target)
    target.chmod(0o644)
    return target


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        load_model(tmp_path / "nope.keras")


@pytest.mark.parametrize("version,ext", [("keras2", ".h5"), ("keras3", ".keras")])
def test_truncated_file(tmp_path, version, ext):
    path = copy_fixture(tmp_path, version, "lstm_stack", ext)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"lstm_stack{ext}.*damaged"):
        load_model(path)


@pytest.mark.parametrize("version,ext", [("keras2", ".h5"), ("keras3", ".keras")])
def test_flipped_bytes(tmp_path, version, ext):
    path = copy_fixture(tmp_path, version, "gru_reset_after", ext)
    data = bytearray(path.read_bytes())
    for i in range(200, len(data), 97):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="gru_reset_after"):
        load_model(path)


def test_hdf5_that_is_not_a_keras_model(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ValueError, match="data.h5.*not a Keras model"):
        load_model(path)
    with pytest.raises(ValueError, match="weights-only"):
        load_model(FIXTURES / "keras3" / "lstm_stack.weights.h5")


def test_zip_without_config(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="m.keras.*no config.json"):
        load_model(path)


def test_removed_weight(tmp_path):
    path = copy_fixture(tmp_path, "keras2", "deep_simple_rnn_dense", ".h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/dense"]
    with pytest.raises(ValueError, match="deep_simple_rnn_dense.h5.*dense"):
        load_model(path)


def test_wrong_shapes_leave_the_model_unchanged(tmp_path):
    model = Sequential([SimpleRNN(4, return_sequences=True, input_shape=(10, 5)), SimpleRNN(6), Dense(3)])
    before = model.get_weights()
    with pytest.raises(ValueError, match="deep_simple_rnn_dense.weights.h5.*shape"):
        model.load_weights(FIXTURES / "keras3" / "deep_simple_rnn_dense.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def rewrite_config(tmp_path, mutate):
    source = FIXTURES / "keras3" / "simple_rnn_seq.keras"
    target = tmp_path / "edited.keras"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            if item == "config.json":
                config = json.loads(data)
                mutate(config)
                data = json.dumps(config)
            new.writestr(item, data)
    return target


def test_lambda_layer_is_refused_without_running_anything(tmp_path):
    def add_lambda(config):
        config["config"]["layers"].append({"module": "keras.layers", "class_name": "Lambda",
                                           "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                                                   "config": {"code": "4wEAAA=="}}}})
    with pytest.raises(ValueError, match="edited.keras.*Unknown layer class 'Lambda'"):
        load_model(rewrite_config(tmp_path, add_lambda))


def test_unsupported_option_is_named(tmp_path):
    def regularize(config):
        config["config"]["layers"][1]["config"]["kernel_regularizer"] = {"class_name": "MyRegularizer",
                                                                          "config": {"factor": 0.1}}
    with pytest.raises(ValueError, match="kernel_regularizer"):
        load_model(rewrite_config(tmp_path, regularize))

    def mixed(config):
        config["config"]["layers"][1]["config"]["dtype"] = "mixed_float16"
    with pytest.raises(ValueError, match="dtype.*mixed_float16"):
        load_model(rewrite_config(tmp_path, mixed))


def test_custom_activation_function_is_refused(tmp_path):
    def custom(config):
        config["config"]["layers"][1]["config"]["activation"] = {"class_name": "function",
                                                                 "config": "my_module.swish"}
    with pytest.raises(ValueError, match="activation"):
        load_model(rewrite_config(tmp_path, custom))


def test_failed_save_keeps_the_earlier_file(tmp_path, monkeypatch):
    model = Sequential([SimpleRNN(3, input_shape=(4, 2))])
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    from rnnkit.saving import keras_weights

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(keras_weights, "write_keras3", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no temporary left behind


def test_save_needs_a_known_extension(tmp_path):
    model = Sequential([SimpleRNN(3, input_shape=(4, 2))])
    with pytest.raises(ValueError, match="filepath.*Received: .*m.txt"):
        model.save(tmp_path / "m.txt")
    # tf.keras 2's model.save("s2s") (keras-io's older lstm_seq2seq.py) writes a SavedModel folder
    for write in (model.save, model.save_weights):
        with pytest.raises(ValueError, match=r"must end in one of .*SavedModel folder or checkpoint in tf.keras 2, "
                                             r"which rnnkit reads \(load_model\) but does not write. Received: .*s2s'"):
            write(tmp_path / "s2s")
    assert list(tmp_path.iterdir()) == []


def test_a_keras3_graph_with_mask_operations_cannot_be_written_as_keras2_and_says_so(tmp_path):
    from rnnkit.saving.keras_config import TargetCannotHold
    model = load_model(FIXTURES / "keras3_graph" / "seq2seq_gru_tokens_encoder.keras")
    target = tmp_path / "encoder.h5"
    target.write_bytes(b"the earlier file")
    with pytest.raises(TargetCannotHold, match=r"Layer '\w+' \((NotEqual|GRU)\) is a Keras 3 operation or takes an "
                                               r"explicit mask, which a Keras 2 .h5 file cannot express"):
        model.save(target)
    assert target.read_bytes() == b"the earlier file"
    with pytest.raises(TargetCannotHold, match="save as .keras"):
        model.get_config()
    model.save(tmp_path / "encoder.keras")     # the format that can hold it still takes it
