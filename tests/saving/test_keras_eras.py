"""Model files of every Keras era, written here by hand with h5py / zipfile in the layout each
Keras wrote (independently of rnnkit's writers): Keras 2.0-2.2 list-form configs, old weight and
Bidirectional names, `implementation: 0`, GRUs without `reset_after`, both meanings of
`hard_sigmoid`, Keras 1 and `Merge` refused, CuDNNLSTM / CuDNNGRU converted as Keras 2 did (judged by
an independent cuDNN forward pass), and the config forms of tf.keras 2.4-2.15 and Keras 3.0-3.15."""

import json
import zipfile

import h5py
import numpy as np
import pytest

from conftest import FIXTURES
from numpy_references import (cudnn_gru, cudnn_lstm, hard_sigmoid_keras2, hard_sigmoid_keras3, keras_gru,
                              keras_lstm)
from rnnkit.layers import GRU, LSTM
from rnnkit.models import Sequential, load_model
from rnnkit.saving import FileFormatError

RNG = np.random.default_rng(7)
B, T, D, H = 3, 5, 4, 3


def write_legacy_h5(path, layers, weights, keras_version="2.0.9", list_form=True, extra_attrs=None):
    """A Keras 2 legacy `.h5` model: `layers` are Keras layer configs ({"class_name", "config"});
    `weights` maps a layer name to [(dataset name, array)] in get_weights() order."""
    config = {"class_name": "Sequential",
              "config": layers if list_form else {"name": "sequential_1", "layers": layers}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        for key, value in (extra_attrs or {}).items():
            f.attrs[key] = value
        group = f.create_group("model_weights")
        names = [layer["config"]["name"] for layer in layers]
        group.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            layer_group = group.create_group(name)
            entries = weights.get(name, [])
            layer_group.attrs["weight_names"] = [n.encode() for n, _ in entries]
            for dataset_name, array in entries:
                layer_group.create_dataset(dataset_name, data=np.asarray(array, np.float32))
    return path


def rnn_config(class_name, name, units, first=True, **options):
    config = {"name": name, "trainable": True, "units": units, "return_sequences": False,
              "return_state": False, "go_backwards": False, "stateful": False, "unroll": False}
    if first:
        config["batch_input_shape"] = [None, T, D]
        config["dtype"] = "float32"
    config.update(options)
    return {"class_name": class_name, "config": config}


def keras20_lstm_config(name, first=True, **options):
    """Keras 2.0.x's LSTM config: implementation 0, hard_sigmoid, initializer dicts without dtype."""
    return rnn_config("LSTM", name, H, first, activation="tanh", recurrent_activation="hard_sigmoid",
                      use_bias=True, unit_forget_bias=True, implementation=0, dropout=0.0, recurrent_dropout=0.0,
                      kernel_initializer={"class_name": "VarianceScaling",
                                          "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                                                     "seed": None}},
                      recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
                      bias_initializer={"class_name": "Zeros", "config": {}}, **options)


def arrays(*shapes):
    return [RNG.normal(size=shape).astype(np.float32) * 0.7 for shape in shapes]


X = RNG.normal(size=(B, T, D)).astype(np.float32) * 3.0   # reaches hard_sigmoid's flat parts


def assert_predicts(model, expected):
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, atol=1e-5, rtol=0)


# ---- Keras 2.0-2.2 --------------------------------------------------------------------------------
def test_keras20_lstm_with_hard_sigmoid_and_implementation_0(tmp_path):
    kernel, recurrent, bias = arrays((D, 4 * H), (H, 4 * H), (4 * H,))
    path = write_legacy_h5(tmp_path / "k20.h5", [keras20_lstm_config("lstm_1")],
                           {"lstm_1": [("lstm_1/kernel:0", kernel), ("lstm_1/recurrent_kernel:0", recurrent),
                                       ("lstm_1/bias:0", bias)]})
    model = load_model(path)
    assert model.layers[0].get_config()["recurrent_activation"] == "hard_sigmoid"
    expected = keras_lstm(X, kernel, recurrent, bias, ra=hard_sigmoid_keras2)
    assert np.abs(expected - keras_lstm(X, kernel, recurrent, bias, ra=hard_sigmoid_keras3)).max() > 1e-3
    assert_predicts(model, expected)


def test_keras20_gru_without_reset_after_is_reset_before(tmp_path):
    kernel, recurrent, bias = arrays((D, 3 * H), (H, 3 * H), (3 * H,))
    layer = rnn_config("GRU", "gru_1", H, activation="tanh", recurrent_activation="hard_sigmoid",
                       implementation=0, use_bias=True)
    path = write_legacy_h5(tmp_path / "gru.h5", [layer], {"gru_1": [("gru_1/kernel:0", kernel),
                                                                   ("gru_1/recurrent_kernel:0", recurrent),
                                                                   ("gru_1/bias:0", bias)]}, "2.0.4")
    model = load_model(path)
    assert model.layers[0].get_config()["reset_after"] is False
    assert_predicts(model, keras_gru(X, kernel, recurrent, bias, False, ra=hard_sigmoid_keras2))


def test_keras20_bidirectional_old_names(tmp_path):
    fwd = arrays((D, 4 * H), (H, 4 * H), (4 * H,))
    bwd = arrays((D, 4 * H), (H, 4 * H), (4 * H,))
    inner = keras20_lstm_config("lstm_1", first=False)
    layer = {"class_name": "Bidirectional", "config": {"name": "bidirectional_1", "trainable": True,
                                                        "batch_input_shape": [None, T, D], "dtype": "float32",
                                                        "layer": inner, "merge_mode": "concat"}}
    names = ["kernel:0", "recurrent_kernel:0", "bias:0"]
    stored = [(f"bidirectional_1/forward_lstm_1/{n}", a) for n, a in zip(names, fwd)]
    stored += [(f"bidirectional_1/backward_lstm_1/{n}", a) for n, a in zip(names, bwd)]
    path = write_legacy_h5(tmp_path / "bi.h5", [layer], {"bidirectional_1": stored}, "2.1.2")
    expected = np.concatenate([keras_lstm(X, *fwd, ra=hard_sigmoid_keras2),
                               keras_lstm(X, *bwd, ra=hard_sigmoid_keras2, go_backwards=True)], axis=-1)
    assert_predicts(load_model(path), expected)


def test_keras1_file_is_refused_naming_the_version(tmp_path):
    layer = rnn_config("LSTM", "lstm_1", H)
    path = write_legacy_h5(tmp_path / "k1.h5", [layer], {}, keras_version="1.2.2")
    with pytest.raises(FileFormatError, match=r"k1\.h5.*Keras 1\.2\.2.*Keras 2\.0 and later"):
        load_model(path)


def test_keras1_config_without_a_version_is_refused(tmp_path):
    layer = {"class_name": "LSTM", "config": {"name": "lstm_1", "output_dim": H, "inner_activation": "hard_sigmoid",
                                              "init": "glorot_uniform", "consume_less": "gpu",
                                              "batch_input_shape": [None, T, D]}}
    path = write_legacy_h5(tmp_path / "k1.h5", [layer], {})
    with h5py.File(path, "a") as f:
        del f.attrs["keras_version"]
    with pytest.raises(FileFormatError, match=r"config\[0\].*Keras 1 layer config.*'output_dim'"):
        load_model(path)


def test_merge_layer_is_refused(tmp_path):
    merge = {"class_name": "Merge", "config": {"name": "merge_1", "mode": "concat", "layers": []}}
    path = write_legacy_h5(tmp_path / "merge.h5", [merge], {})
    with pytest.raises(FileFormatError, match=r"config\[0\].*`Merge` layer.*mode='concat'"):
        load_model(path)


# ---- CuDNNLSTM / CuDNNGRU -------------------------------------------------------------------------
def cudnn_config(class_name, name, first=True, **options):
    config = rnn_config(class_name, name, H, first, kernel_initializer={"class_name": "VarianceScaling", "config": {
        "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}, unit_forget_bias=True,
        **options)
    if class_name == "CuDNNGRU":
        config["config"].pop("unit_forget_bias")
    for key in ("unroll",):
        config["config"].pop(key)
    return config


def cudnn_arrays(gates):
    return arrays((D, gates * H), (H, gates * H), (2 * gates * H,))


@pytest.mark.parametrize("class_name,gates,reference", [("CuDNNLSTM", 4, cudnn_lstm), ("CuDNNGRU", 3, cudnn_gru)])
def test_cudnn_layer_loads_as_the_cpu_layer_and_computes_what_cudnn_did(tmp_path, class_name, gates, reference):
    weights = cudnn_arrays(gates)
    name = "cu_dnnlstm_1" if gates == 4 else "cu_dnngru_1"
    path = write_legacy_h5(tmp_path / "cudnn.h5", [cudnn_config(class_name, name, return_sequences=True)],
                           {name: [(f"{name}/{n}:0", a) for n, a in zip(("kernel", "recurrent_kernel", "bias"),
                                                                       weights)]}, "2.2.0", list_form=False)
    model = load_model(path)
    layer = model.layers[0]
    assert type(layer).__name__ == class_name[5:]
    config = layer.get_config()
    assert (config["activation"], config["recurrent_activation"]) == ("tanh", "sigmoid")
    if gates == 3:
        assert config["reset_after"] is True
    expected = reference(X, *weights, return_sequences=True)
    # the raw arrays, read as if they were Keras's layout, compute something else
    assert np.abs(expected[:, -1] - (keras_lstm(X, weights[0], weights[1], weights[2][:4 * H]) if gates == 4 else
                                     keras_gru(X, weights[0], weights[1], weights[2].reshape(2, -1), True))).max() > 1e-2
    assert_predicts(model, expected)
    # and written back out, the model is a plain LSTM / GRU in Keras's layout
    model.save(tmp_path / "cpu.h5")
    again = load_model(tmp_path / "cpu.h5")
    assert_predicts(again, expected)


def test_bidirectional_cudnn_lstm(tmp_path):
    fwd, bwd = cudnn_arrays(4), cudnn_arrays(4)
    layer = {"class_name": "Bidirectional", "config": {"name": "bidirectional_1", "trainable": True,
                                                        "batch_input_shape": [None, T, D], "dtype": "float32",
                                                        "layer": cudnn_config("CuDNNLSTM", "cu_dnnlstm_1", False),
                                                        "merge_mode": "sum"}}
    names = ("kernel:0", "recurrent_kernel:0", "bias:0")
    stored = [(f"bidirectional_1/forward_cu_dnnlstm_1/{n}", a) for n, a in zip(names, fwd)]
    stored += [(f"bidirectional_1/backward_cu_dnnlstm_1/{n}", a) for n, a in zip(names, bwd)]
    path = write_legacy_h5(tmp_path / "bi.h5", [layer], {"bidirectional_1": stored}, "2.2.4")
    expected = cudnn_lstm(X, *fwd) + cudnn_lstm(X[:, ::-1], *bwd)
    assert_predicts(load_model(path), expected)


def test_cudnn_weights_load_into_an_lstm_built_in_rnnkit(tmp_path):
    weights = cudnn_arrays(4)
    with h5py.File(tmp_path / "w.h5", "w") as f:   # Keras 2's save_weights of a CuDNNLSTM model
        f.attrs["layer_names"] = [b"cu_dnnlstm_1"]
        f.attrs["keras_version"] = "2.2.4"
        group = f.create_group("cu_dnnlstm_1")
        group.attrs["weight_names"] = [f"cu_dnnlstm_1/{n}:0".encode() for n in ("kernel", "recurrent_kernel", "bias")]
        for n, a in zip(("kernel", "recurrent_kernel", "bias"), weights):
            group.create_dataset(f"cu_dnnlstm_1/{n}:0", data=a)
    model = Sequential([LSTM(H, input_shape=(T, D))])
    model.load_weights(tmp_path / "w.h5")
    assert_predicts(model, cudnn_lstm(X, *weights))


def test_cudnn_gru_weights_refused_by_a_reset_before_gru(tmp_path):
    weights = cudnn_arrays(3)
    layer = rnn_config("GRU", "gru_1", H, reset_after=False)
    path = write_legacy_h5(tmp_path / "g.h5", [layer], {"gru_1": [(f"gru_1/{n}:0", a) for n, a in zip(
        ("kernel", "recurrent_kernel", "bias"), weights)]}, "2.2.4")
    with pytest.raises(FileFormatError, match=r"model_weights/gru_1: cuDNN GRU weights.*reset_after=True\) only"):
        load_model(path)
    model = Sequential([GRU(H, reset_after=False, input_shape=(T, D))])
    before = model.get_weights()
    with pytest.raises(FileFormatError, match=r"reset_after=True\) only"):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ---- Keras 3 archives: hard_sigmoid's other meaning, and config forms of 3.0-3.15 -----------------
def edit_archive(tmp_path, source, mutate_config, keras_version=None, name="edited.keras"):
    target = tmp_path / name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            if item == "config.json":
                config = json.loads(data)
                mutate_config(config)
                data = json.dumps(config)
            if item == "metadata.json" and keras_version is not None:
                metadata = json.loads(data)
                metadata["keras_version"] = keras_version
                data = json.dumps(metadata)
            new.writestr(item, data)
    return target


LSTM_STACK = FIXTURES / "keras3" / "lstm_stack.keras"


def lstm_stack_reference(model, x, ra):
    """The fixture's two LSTMs (the second returns its last step), from the loaded weights."""
    w = model.get_weights()
    seq = keras_lstm(x, *w[0:3], ra=ra, return_sequences=True)
    return keras_lstm(seq, *w[3:6], ra=ra)


def with_hard_sigmoid(config):
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "LSTM":
            layer["config"]["recurrent_activation"] = "hard_sigmoid"


def stack_input():
    return np.load(FIXTURES / "keras3" / "lstm_stack.npz")["x"] * 4.0


@pytest.mark.parametrize("version,ra,internal", [("3.15.1", hard_sigmoid_keras3, "hard_sigmoid_v3"),
                                                 ("3.0.5", hard_sigmoid_keras3, "hard_sigmoid_v3"),
                                                 ("2.15.0", hard_sigmoid_keras2, "hard_sigmoid")])
def test_hard_sigmoid_means_what_the_writing_keras_meant(tmp_path, version, ra, internal):
    model = load_model(edit_archive(tmp_path, LSTM_STACK, with_hard_sigmoid, version))
    assert model.layers[0].get_config()["recurrent_activation"] == internal
    x = stack_input()
    expected = lstm_stack_reference(model, x, ra)
    other = hard_sigmoid_keras2 if ra is hard_sigmoid_keras3 else hard_sigmoid_keras3
    assert np.abs(expected - lstm_stack_reference(model, x, other)).max() > 1e-4
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_keras3_hard_sigmoid_is_written_back_as_keras3_and_refused_by_keras2_files(tmp_path):
    model = load_model(edit_archive(tmp_path, LSTM_STACK, with_hard_sigmoid, "3.15.1"))
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        layers = json.loads(archive.read("config.json"))["config"]["layers"]
    assert [layer["config"].get("recurrent_activation") for layer in layers[1:3]] == ["hard_sigmoid"] * 2
    x = stack_input()
    np.testing.assert_allclose(load_model(tmp_path / "again.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=0)
    (tmp_path / "old.h5").write_bytes(b"earlier file")
    with pytest.raises(ValueError, match=r"Keras 3's hard_sigmoid, relu6\(x \+ 3\) / 6.*Keras 2 does not have"):
        model.save(tmp_path / "old.h5")
    assert (tmp_path / "old.h5").read_bytes() == b"earlier file"


def test_keras2_hard_sigmoid_is_refused_by_keras3_files(tmp_path):
    model = Sequential([LSTM(2, recurrent_activation="hard_sigmoid", input_shape=(3, 2))])
    with pytest.raises(ValueError, match=r"Keras 2's hard_sigmoid, clip\(0.2 x \+ 0.5, 0, 1\).*Keras 3 does not"):
        model.save(tmp_path / "m.keras")
    assert not list(tmp_path.iterdir())
    model.save(tmp_path / "m.h5")
    np.testing.assert_array_equal(load_model(tmp_path / "m.h5").predict(np.ones((1, 3, 2)), verbose=0),
                                  model.predict(np.ones((1, 3, 2)), verbose=0))


def first_lstm(config):
    return config["config"]["layers"][1]["config"]


def last_layer(config):
    return config["config"]["layers"][-1]["config"]


def _set(getter, **values):
    return lambda config: getter(config).update(values)


def _initializer(class_name, **config):
    return {"module": "keras.initializers", "class_name": class_name, "config": config, "registered_name": None}


ACCEPTED_FORMS = {
    # Keras 3.0-3.3 wrote dtypes as plain strings; 3.4-3.5 as FloatDTypePolicy; later DTypePolicy
    "dtype_string": _set(first_lstm, dtype="float32"),
    "float_dtype_policy": _set(first_lstm, dtype={"module": "keras", "class_name": "FloatDTypePolicy",
                                                  "config": {"name": "float32"}, "registered_name": None}),
    "orthogonal_initializer_class": _set(first_lstm, recurrent_initializer=_initializer(
        "OrthogonalInitializer", gain=1.0, seed=None)),
    "use_cudnn_auto": _set(first_lstm, use_cudnn="auto"),
    "lora_rank_null": _set(last_layer, lora_rank=None),
    "quantization_config_null": _set(last_layer, quantization_config=None),
    "tf_keras_policy": _set(first_lstm, dtype={"class_name": "Policy", "config": {"name": "float32"}}),
    "time_major_false": _set(first_lstm, time_major=False),
}
REFUSED_FORMS = {
    "quantization_config": (_set(last_layer, quantization_config={"class_name": "Int8QuantizationConfig",
                                                             "config": {}}), "quantized layers"),
    "quantized_dtype_policy": (_set(last_layer, dtype={"module": "keras", "class_name": "QuantizedDTypePolicy",
                                                  "config": {"name": "int8_from_float32"}}), "quantized layers"),
    "lora_rank": (_set(last_layer, lora_rank=4), "LoRA"),
    "time_major_true": (_set(first_lstm, time_major=True), "time-major"),
    "mixed_precision": (_set(first_lstm, dtype={"module": "keras", "class_name": "DTypePolicy",
                                                "config": {"name": "mixed_float16"}}), "mixed precision"),
}


@pytest.mark.parametrize("form", sorted(ACCEPTED_FORMS))
def test_config_forms_of_every_release_load(tmp_path, form):
    model = load_model(edit_archive(tmp_path, LSTM_STACK, ACCEPTED_FORMS[form]))
    data = np.load(FIXTURES / "keras3" / "lstm_stack.npz")
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5)


@pytest.mark.parametrize("form", sorted(REFUSED_FORMS))
def test_config_forms_that_change_the_math_are_refused(tmp_path, form):
    mutate, words = REFUSED_FORMS[form]
    with pytest.raises(FileFormatError, match=rf"edited\.keras' at config\.json\.config\.layers\[\d\].*{words}"):
        load_model(edit_archive(tmp_path, LSTM_STACK, mutate))


def test_training_config_of_a_tf_keras_file_is_tolerated(tmp_path):
    kernel, recurrent, bias = arrays((D, 4 * H), (H, 4 * H), (4 * H,))
    training = {"loss": "mse", "metrics": ["mae"], "optimizer_config": {"class_name": "Adam", "config": {
        "learning_rate": 0.001}}, "loss_weights": None, "weighted_metrics": None}
    layer = keras20_lstm_config("lstm", time_major=False)
    path = write_legacy_h5(tmp_path / "tf.h5", [layer], {"lstm": [("lstm/lstm_cell/kernel:0", kernel),
                                                                  ("lstm/lstm_cell/recurrent_kernel:0", recurrent),
                                                                  ("lstm/lstm_cell/bias:0", bias)]},
                           "2.10.0", list_form=False, extra_attrs={"training_config": json.dumps(training)})
    assert_predicts(load_model(path), keras_lstm(X, kernel, recurrent, bias, ra=hard_sigmoid_keras2))


def test_keras2_graph_hard_sigmoid_fixture_as_a_sequential(tmp_path):
    """keras2_graph/lstm_gru_hard_sigmoid is a functional chain Input -> LSTM -> GRU -> Dense, both
    RNNs with recurrent_activation="hard_sigmoid" (inputs scaled to reach the clipped range). Until
    the functional API lands, the same file with its config rewritten as a Sequential checks Keras
    2's hard_sigmoid in LSTM and GRU against tf_keras's recorded predictions."""
    source = FIXTURES / "keras2_graph" / "lstm_gru_hard_sigmoid.h5"
    target = tmp_path / "as_sequential.h5"
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = [{"class_name": layer["class_name"], "config": layer["config"]} for layer in config["config"]["layers"]]
        assert [layer["class_name"] for layer in layers] == ["InputLayer", "LSTM", "GRU", "Dense"]
        assert [layer["config"].get("recurrent_activation") for layer in layers[1:3]] == ["hard_sigmoid"] * 2
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": layers}})
    model = load_model(target)
    data = np.load(FIXTURES / "keras2_graph" / "lstm_gru_hard_sigmoid.npz")
    np.testing.assert_allclose(model.predict(data["x0"], verbose=0), data["y0"], atol=1e-5, rtol=0)
    # Keras 3's hard_sigmoid in the same places would give other numbers
    config = json.loads(json.dumps(model.get_config()).replace('"hard_sigmoid"', '"hard_sigmoid_v3"'))
    other = Sequential.from_config(config)
    other.build(model.input_shape)
    other.set_weights(model.get_weights())
    assert np.abs(other.predict(data["x0"], verbose=0) - data["y0"]).max() > 1e-3


def test_model_from_json_reads_hard_sigmoid_by_the_writer(tmp_path):
    from rnnkit.models import model_from_json
    with zipfile.ZipFile(LSTM_STACK) as archive:
        keras3_json = json.loads(archive.read("config.json"))     # what Keras 3's to_json() gives
    with_hard_sigmoid(keras3_json)
    model = model_from_json(json.dumps(keras3_json))
    assert model.layers[0].get_config()["recurrent_activation"] == "hard_sigmoid_v3"
    keras2_json = {"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow",
                   "config": {"name": "s", "layers": [rnn_config("GRU", "gru_1", H, recurrent_activation="hard_sigmoid")]}}
    model = model_from_json(json.dumps(keras2_json))
    assert model.layers[0].get_config()["recurrent_activation"] == "hard_sigmoid"
    assert model.layers[0].get_config()["reset_after"] is False      # Keras 2.2's GRU had none: before


def test_wild_keras204_file_as_a_sequential_needs_no_reference_fix(tmp_path):
    """wild/k204_lab9_emb_gru.h5 (Keras 2.0.4) is a functional chain InputLayer -> Embedding -> GRU ->
    Dense whose Embedding says dtype int32 (Keras 2.0 stored the input dtype there) and whose GRU has
    no reset_after, implementation 0 and hard_sigmoid. tf_keras needed a config fix to load it; rnnkit
    reads it as it is. Rewritten as a Sequential until the functional API lands."""
    target = tmp_path / "k204.h5"
    target.write_bytes((FIXTURES / "wild" / "k204_lab9_emb_gru.h5").read_bytes())
    with h5py.File(target, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = [{"class_name": layer["class_name"], "config": layer["config"]} for layer in config["config"]["layers"]]
        assert [(layer["class_name"], layer["config"].get("dtype")) for layer in layers[:2]] == [
            ("InputLayer", "float32"), ("Embedding", "int32")]
        assert "reset_after" not in layers[2]["config"] and layers[2]["config"]["implementation"] == 0
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers})
    model = load_model(target)
    assert model.layers[1].get_config()["reset_after"] is False
    data = np.load(FIXTURES / "wild" / "k204_lab9_emb_gru.npz")
    np.testing.assert_allclose(model.predict(data["x0"].astype("int32"), verbose=0), data["y0"], atol=1e-5, rtol=0)
