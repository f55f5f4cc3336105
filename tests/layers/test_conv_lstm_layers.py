"""ConvLSTM1D/2D/3D layers against Keras's own numbers (tests/fixtures_local/conv_lstm/, made by
tools/make_conv_fixtures.py with keras 3.15 and tf_keras 2.21), their files in both formats,
shapes, summaries, configs, the layer's backward (finite differences) and bad arguments."""

import pathlib

import numpy as np
import pytest

import rnnkit as keras
from gradient_judge import assert_gradients

HERE = pathlib.Path(__file__).resolve().parents[1] / "fixtures_local" / "conv_lstm"

# The cases of tools/make_conv_fixtures.py, as rnnkit spells them (Keras 3's "hard_sigmoid" is
# relu6(x + 3) / 6: rnnkit's "hard_sigmoid_v3"; a Keras 3 file's "hard_sigmoid" is read as it).
CASES = {
    "conv_lstm2d_same_sequences_states": ("ConvLSTM2D", dict(filters=3, kernel_size=(3, 2), padding="same",
                                                             return_sequences=True, return_state=True)),
    "conv_lstm1d_strided_backwards_last": ("ConvLSTM1D", dict(filters=2, kernel_size=3, strides=2, padding="valid",
                                                              go_backwards=True, return_state=True)),
    "conv_lstm1d_dilated_relu_hard_sigmoid": ("ConvLSTM1D", dict(filters=2, kernel_size=2, dilation_rate=2,
                                                                 padding="same", activation="relu",
                                                                 recurrent_activation="hard_sigmoid_v3",
                                                                 return_sequences=True)),
    "conv_lstm3d_valid_no_bias": ("ConvLSTM3D", dict(filters=2, kernel_size=(2, 2, 3), use_bias=False,
                                                     return_sequences=True)),
}


@pytest.fixture(scope="module")
def reference():
    return np.load(HERE / "keras3_reference.npz")


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_states_match_keras3(case, reference):
    class_name, args = CASES[case]
    layer = getattr(keras.layers, class_name)(**args)
    x = reference[f"{case}/x"]
    layer.build((None,) + x.shape[1:])
    layer.set_weights([reference[f"{case}/weight{i}"] for i in range(len(layer.weights))])
    outputs = layer(x)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    expected = [reference[f"{case}/output{i}"] for i in range(len(outputs))]
    assert [o.shape for o in outputs] == [e.shape for e in expected]
    for output, keras_output in zip(outputs, expected):
        np.testing.assert_allclose(output, keras_output, rtol=0, atol=2e-6)   # float32: measured 1.8e-7
    assert layer.count_params() == int(reference[f"{case}/params"])


def test_a_keras3_file_loads_and_predicts_as_keras():
    model = keras.models.load_model(HERE / "keras3_model.keras")
    saved = np.load(HERE / "keras3_model.npz")
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["prediction"], rtol=0, atol=2e-6)
    assert model.count_params() == int(saved["params"]) == 464


def test_a_keras2_file_with_hard_sigmoid_loads_and_predicts_as_tf_keras():
    model = keras.models.load_model(HERE / "keras2_model.h5")
    saved = np.load(HERE / "keras2_model.npz")
    assert str(saved["recurrent_activation"]) == "hard_sigmoid"     # tf_keras's default for ConvLSTM2D
    assert model.layers[0].recurrent_activation == "hard_sigmoid"  # Keras 2's clip(0.2 x + 0.5, 0, 1)
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["prediction"], rtol=0, atol=2e-6)
    assert model.count_params() == int(saved["params"]) == 353


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_saved_files_load_back_with_the_same_predictions(tmp_path, suffix):
    model = keras.models.load_model(HERE / "keras3_model.keras")
    x = np.load(HERE / "keras3_model.npz")["x"]
    path = tmp_path / f"model{suffix}"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in again.layers] == ["ConvLSTM2D", "ConvLSTM2D"]


def test_keras2_weight_names_have_no_cell_scope(tmp_path):
    import h5py
    model = keras.Sequential([keras.layers.ConvLSTM2D(2, 3, input_shape=(3, 5, 5, 1), name="grid")])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights/grid"].attrs["weight_names"]]
    assert names == ["grid/kernel:0", "grid/recurrent_kernel:0", "grid/bias:0"]      # as tf_keras writes them


@pytest.mark.parametrize("class_name, input_shape, args, keras_count", [
    # Keras 3.15's count_params() for these layers (checked in /tmp/hf_k3venv)
    ("ConvLSTM1D", (5, 8, 3), dict(filters=4, kernel_size=3, padding="same"), 352),
    ("ConvLSTM2D", (5, 8, 8, 3), dict(filters=4, kernel_size=3, padding="same"), 1024),
    ("ConvLSTM3D", (5, 4, 4, 4, 3), dict(filters=4, kernel_size=3, padding="same"), 3040),
    ("ConvLSTM2D", (5, 8, 8, 3), dict(filters=2, kernel_size=(3, 2), strides=(2, 1), use_bias=False), 240),
])
def test_parameter_counts_are_keras(class_name, input_shape, args, keras_count):
    layer = getattr(keras.layers, class_name)(**args)
    model = keras.Sequential([keras.Input(input_shape), layer])
    assert model.count_params() == keras_count


def test_shapes_summary_and_default_names():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((5, 8, 8, 3)),
                              keras.layers.ConvLSTM2D(2, (3, 2), strides=(2, 1), use_bias=False)])
    layer = model.layers[0]
    assert layer.name == "conv_lstm2d"
    assert layer.output_shape == (None, 3, 7, 2)     # Keras 3's summary: (None, 3, 7, 2), 240 params
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines if "conv_lstm2d (ConvLSTM2D)" in line)
    assert "(None, 3, 7, 2)" in row and row.split()[-1] == "240"
    seq = keras.layers.ConvLSTM1D(4, 3, padding="same", return_sequences=True, return_state=True)
    assert seq.compute_output_shape((None, 5, 9, 2)) == [(None, 5, 9, 4), (None, 9, 4), (None, 9, 4)]


def test_unit_forget_bias_and_weight_layout():
    layer = keras.layers.ConvLSTM1D(3, 2)
    layer.build((None, 4, 6, 5))
    assert [(name, w.shape) for name, w in layer.weights.items()] == [
        ("kernel", (2, 5, 12)), ("recurrent_kernel", (2, 3, 12)), ("bias", (12,))]
    np.testing.assert_array_equal(layer.weights["bias"], np.r_[np.zeros(3), np.ones(3), np.zeros(6)])


def test_config_round_trip_keeps_every_argument():
    layer = keras.layers.ConvLSTM2D(5, (3, 1), strides=(1, 2), padding="same", activation="relu",
                                    recurrent_activation="hard_sigmoid", use_bias=False, unit_forget_bias=False,
                                    dropout=0.1, recurrent_dropout=0.2, return_sequences=True, return_state=True,
                                    go_backwards=True, kernel_regularizer=keras.regularizers.L2(0.01), name="c")
    config = layer.get_config()
    again = keras.layers.ConvLSTM2D.from_config(config)
    assert again.get_config() == config
    assert config["kernel_size"] == [3, 1] and config["strides"] == [1, 2]
    assert config["kernel_regularizer"]["config"]["l2"] == pytest.approx(0.01)
    assert "recurrent_regularizer" in config and "recurrent_kernel_regularizer" not in config


@pytest.mark.parametrize("return_sequences, return_state", [(True, True), (False, True), (False, False)])
def test_layer_backward_against_finite_differences(return_sequences, return_state):
    keras.backend.set_floatx("float64")
    try:
        layer = keras.layers.ConvLSTM2D(2, (2, 2), padding="same", return_sequences=return_sequences,
                                        return_state=return_state, go_backwards=True, dtype="float64")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 3, 3, 2, 2))
        layer.build((None,) + x.shape[1:])
        for w in layer.weights.values():
            w[...] = rng.standard_normal(w.shape) * 0.5
        mask = np.array([[True, True, False], [True, False, True]])
        arrays = {"x": x, **layer.weights}

        def forward():
            return layer.forward(arrays["x"], mask=mask)

        def backward(R):
            layer.forward(arrays["x"], mask=mask, training=True)
            dx = layer.backward(R if return_state else R[0])
            return {"x": dx, **layer.grads}

        assert_gradients(forward, backward, arrays)
    finally:
        keras.backend.set_floatx("float32")


def test_stateful_chunks_equal_one_call():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    whole = keras.layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True)
    chunked = keras.layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True, stateful=True)
    whole.build((None, None) + x.shape[2:])
    chunked.build((None, None) + x.shape[2:])
    chunked.set_weights(whole.get_weights())
    parts = [chunked(x[:, :3]), chunked(x[:, 3:])]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole(x), rtol=1e-6, atol=1e-6)
    chunked.reset_states()
    np.testing.assert_allclose(chunked(x[:, :3]), whole(x[:, :3]), rtol=1e-6, atol=1e-6)


def test_initial_state_is_used():
    rng = np.random.default_rng(2)
    layer = keras.layers.ConvLSTM1D(2, 3, return_state=True)
    x = rng.standard_normal((1, 2, 6, 1)).astype("float32")
    _, h_zero, _ = layer(x)
    h0, c0 = rng.standard_normal((2, 1, 4, 2)).astype("float32")
    _, h_given, _ = layer(x, initial_state=[h0, c0])
    assert not np.allclose(h_zero, h_given)
    with pytest.raises(ValueError, match="Received: shape"):
        layer(x, initial_state=[h0[:, :3], c0])


# Functional calls with symbolic states: each state is the input convolution's grid by filters.
SYMBOLIC_STATE_CASES = [("ConvLSTM1D", (3, 7, 2), dict(kernel_size=3, padding="valid")),
                        ("ConvLSTM2D", (3, 6, 5, 2), dict(kernel_size=(3, 2), padding="same")),
                        ("ConvLSTM3D", (2, 4, 3, 3, 1), dict(kernel_size=2, strides=(1, 2, 1)))]


@pytest.mark.parametrize("class_name, frame_shape, args", SYMBOLIC_STATE_CASES)
def test_symbolic_initial_states_run_as_the_eager_call_and_survive_both_files(class_name, frame_shape, args,
                                                                             tmp_path):
    rng = np.random.default_rng(7)
    layer = getattr(keras.layers, class_name)(3, return_sequences=True, return_state=True, **args)
    x = rng.standard_normal((2,) + frame_shape).astype("float32")
    layer.build((None,) + frame_shape)
    state_shape = layer.compute_output_shape((2,) + frame_shape)[1]
    h0, c0 = rng.standard_normal((2,) + state_shape).astype("float32")
    expected = layer(x, initial_state=[h0, c0])          # the eager call with arrays is the reference

    frames, h, c = keras.Input(frame_shape), keras.Input(state_shape[1:]), keras.Input(state_shape[1:])
    model = keras.Model([frames, h, c], layer(frames, initial_state=[h, c]))
    got = model.predict([x, h0, c0], verbose=0)
    for value, reference_value in zip(got, expected):
        np.testing.assert_allclose(value, reference_value, rtol=1e-6, atol=1e-6)
    assert not np.allclose(got[1], layer(x)[1])          # the states were used, not zeros
    for suffix in (".h5", ".keras"):
        model.save(tmp_path / f"model{suffix}")
        again = keras.models.load_model(tmp_path / f"model{suffix}")
        for value, reference_value in zip(again.predict([x, h0, c0], verbose=0), got):
            np.testing.assert_array_equal(value, reference_value)


def test_symbolic_states_of_the_wrong_shape_are_refused_naming_the_layer():
    frames = keras.Input((3, 6, 5, 2))
    layer = keras.layers.ConvLSTM2D(4, 3, name="frames_lstm")     # valid padding: states (4, 3, 4)
    for wrong in [(6, 5, 4), (4, 3, 5), (4, 3), (12,)]:
        with pytest.raises(ValueError, match=r'"frames_lstm".*\(batch, 4, 3, 4\).*Received:'):
            layer(frames, initial_state=[keras.Input(wrong), keras.Input((4, 3, 4))])
    with pytest.raises(ValueError, match=r'"frames_lstm" must hold 2 states. Received: 1'):
        layer(frames, initial_state=[keras.Input((4, 3, 4))])
    assert not layer.built                                # refused before anything was built


def test_training_a_model_lowers_its_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x = rng.random((16, 3, 6, 6, 1)).astype("float32")
    y = np.roll(x, 1, axis=3)          # next frame: the picture moved one row down
    model = keras.Sequential([keras.Input((3, 6, 6, 1)),
                              keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True),
                              keras.layers.ConvLSTM2D(1, 1, activation="sigmoid", return_sequences=True)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


@pytest.mark.parametrize("args, message", [
    (dict(filters=2, kernel_size=0), "kernel_size"),
    (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size"),
    (dict(filters=0, kernel_size=3), "filters"),
    (dict(filters=2, kernel_size=3, padding="causal"), "padding"),
    (dict(filters=2, kernel_size=3, data_format="channels_first"), "channels_last"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation_rate"),
    (dict(filters=2, kernel_size=3, dropout=1.0), "dropout"),
])
def test_bad_arguments_are_refused(args, message):
    with pytest.raises((ValueError, TypeError), match=message) as error:
        keras.layers.ConvLSTM2D(**args)
    assert "Received" in str(error.value)


def test_bad_input_shapes_are_refused_at_build():
    layer = keras.layers.ConvLSTM2D(2, 5)
    with pytest.raises(ValueError, match="too small"):
        layer.build((None, 3, 4, 4, 1))
    with pytest.raises(ValueError, match="known dims"):
        keras.layers.ConvLSTM2D(2, 3).build((None, 3, None, 4, 1))
    with pytest.raises(ValueError, match="Received"):
        keras.layers.ConvLSTM1D(2, 3).build((None, 3, 8, 8, 1))


def test_the_next_frame_example_runs_as_a_keras_program():
    import subprocess
    import sys
    script = pathlib.Path(__file__).resolve().parents[2] / "examples" / "next_frame_convlstm.py"
    assert "import rnnkit as keras" in script.read_text()
    result = subprocess.run([sys.executable, str(script), "--epochs", "1", "--samples", "16"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Training dataset shapes: (16, 7, 16, 16, 1) (16, 7, 16, 16, 1)" in result.stdout
    assert "Test overlap with the true next frame: model" in result.stdout
