"""SeparableConv1D and Conv1DTranspose (ops/conv1d.py): Keras's own numbers from
tests/fixtures_local/conv1d_variants/ (tools/make_conv_fixtures.py, keras 3.15 and tf_keras 2.21),
both file formats, the hand-derived backward against the finite-difference judge in float64, and
bad arguments."""

import pathlib

import numpy as np
import pytest

import rnnkit as keras
from gradient_judge import assert_gradients
from rnnkit.ops import conv1d

HERE = pathlib.Path(__file__).resolve().parents[1] / "fixtures_local" / "conv1d_variants"

# The cases of tools/make_conv_fixtures.py (VARIANTS): class and arguments.
CASES = {
    "separable_valid_multiplier_relu": ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2,
                                                                activation="relu")),
    "separable_same_dilated": ("SeparableConv1D", dict(filters=3, kernel_size=3, padding="same", dilation_rate=2)),
    "separable_strided_no_bias": ("SeparableConv1D", dict(filters=2, kernel_size=2, strides=3, use_bias=False)),
    "transpose_valid_strided": ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2)),
    "transpose_same_even_kernel": ("Conv1DTranspose", dict(filters=3, kernel_size=4, strides=2, padding="same",
                                                           activation="tanh")),
    "transpose_kernel_below_stride": ("Conv1DTranspose", dict(filters=2, kernel_size=2, strides=3)),
    "transpose_dilated": ("Conv1DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2)),
    "transpose_output_padding_same": ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same",
                                                              output_padding=1)),
    "transpose_output_padding_valid": ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=3,
                                                               output_padding=2)),
}


@pytest.mark.parametrize("version", ["keras3", "keras2"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_parameter_counts_match_keras(case, version):
    reference = np.load(HERE / f"{version}_reference.npz")
    class_name, args = CASES[case]
    layer = getattr(keras.layers, class_name)(**args)
    x = reference[f"{case}/x"]
    layer.build((None,) + x.shape[1:])
    layer.set_weights([reference[f"{case}/weight{i}"] for i in range(len(layer.weights))])
    expected = reference[f"{case}/output0"]
    output = layer(x)
    assert output.shape == expected.shape
    assert layer.compute_output_shape((None,) + x.shape[1:])[1:] == expected.shape[1:]
    np.testing.assert_allclose(output, expected, rtol=0, atol=1e-6)          # float32: measured 1.8e-7
    assert layer.count_params() == int(reference[f"{case}/params"])


@pytest.mark.parametrize("filename", ["keras3_model.keras", "keras2_model.h5"])
def test_keras_files_load_predict_and_save_again(filename, tmp_path):
    model = keras.models.load_model(HERE / filename)
    saved = np.load(HERE / (filename.split(".")[0] + ".npz"))
    np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["prediction"], rtol=0, atol=1e-6)
    assert model.count_params() == int(saved["params"]) == 99
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"again{suffix}")
        again = keras.models.load_model(tmp_path / f"again{suffix}")
        np.testing.assert_array_equal(again.predict(saved["x"], verbose=0), model.predict(saved["x"], verbose=0))


def test_keras2_weight_names(tmp_path):
    import h5py
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.SeparableConv1D(2, 3, name="sep"),
                              keras.layers.Conv1DTranspose(2, 3, name="up")])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        names = {layer: [n.decode() if isinstance(n, bytes) else n for n in f[f"model_weights/{layer}"].attrs["weight_names"]]
                 for layer in ("sep", "up")}
    # as tf_keras 2.21 names them
    assert names == {"sep": ["sep/depthwise_kernel:0", "sep/pointwise_kernel:0", "sep/bias:0"],
                     "up": ["up/kernel:0", "up/bias:0"]}


SEPARABLE = [dict(strides=1, padding="valid", dilation_rate=1, activation="tanh", multiplier=2),
             dict(strides=2, padding="same", dilation_rate=1, activation="linear", multiplier=1),
             dict(strides=1, padding="causal", dilation_rate=2, activation="sigmoid", multiplier=3)]


@pytest.mark.parametrize("options", SEPARABLE)
def test_separable_backward_against_finite_differences(options):
    rng = np.random.default_rng(0)
    C, F, m = 3, 2, options["multiplier"]
    arrays = {"x": rng.standard_normal((2, 9, C)), "depthwise_kernel": rng.standard_normal((3, C, m)),
              "pointwise_kernel": rng.standard_normal((1, C * m, F)), "bias": rng.standard_normal(F)}
    args = (options["strides"], options["padding"], options["dilation_rate"], options["activation"])

    def forward():
        return conv1d.separable_conv1d_forward(arrays["x"], arrays["depthwise_kernel"], arrays["pointwise_kernel"],
                                               arrays["bias"], *args)[0]

    def backward(R):
        _, cache = conv1d.separable_conv1d_forward(arrays["x"], arrays["depthwise_kernel"], arrays["pointwise_kernel"],
                                                   arrays["bias"], *args, training=True)
        dx, grads = conv1d.separable_conv1d_backward(R[0], cache, arrays["depthwise_kernel"],
                                                     arrays["pointwise_kernel"], options["strides"],
                                                     options["dilation_rate"], options["activation"])
        return {"x": dx, **grads}

    assert_gradients(forward, backward, arrays)


TRANSPOSE = [dict(strides=2, padding="valid", dilation_rate=1, output_padding=None, activation="tanh"),
             dict(strides=2, padding="same", dilation_rate=1, output_padding=1, activation="linear"),
             dict(strides=3, padding="valid", dilation_rate=1, output_padding=None, activation="linear"),
             dict(strides=1, padding="same", dilation_rate=2, output_padding=None, activation="sigmoid")]


@pytest.mark.parametrize("options", TRANSPOSE)
def test_transpose_backward_against_finite_differences(options):
    rng = np.random.default_rng(1)
    arrays = {"x": rng.standard_normal((2, 5, 3)), "kernel": rng.standard_normal((3, 2, 3)),
              "bias": rng.standard_normal(2)}
    args = (options["strides"], options["padding"], options["dilation_rate"], options["output_padding"],
            options["activation"])

    def forward():
        return conv1d.conv1d_transpose_forward(arrays["x"], arrays["kernel"], arrays["bias"], *args)[0]

    def backward(R):
        _, cache = conv1d.conv1d_transpose_forward(arrays["x"], arrays["kernel"], arrays["bias"], *args,
                                                   training=True)
        dx, grads = conv1d.conv1d_transpose_backward(R[0], cache, arrays["kernel"], options["activation"])
        return {"x": dx, **grads}

    assert_gradients(forward, backward, arrays)


def test_transpose_is_the_adjoint_of_conv1d():
    """<conv1d(y, K), x> == <y, conv1d_transpose(x, K)> with Conv1D's kernel (k, F, C) for F -> C."""
    rng = np.random.default_rng(2)
    kernel = rng.standard_normal((4, 2, 3))
    for strides, padding in ((2, "same"), (3, "valid"), (1, "valid")):
        x = rng.standard_normal((2, 5, 3))
        up, _ = conv1d.conv1d_transpose_forward(x, kernel, None, strides, padding)
        y = rng.standard_normal(up.shape)
        down, _ = conv1d.conv1d_forward(y, kernel, None, strides, padding)
        np.testing.assert_allclose(np.sum(down * x), np.sum(y * up), rtol=1e-12)


@pytest.mark.parametrize("class_name, args, keras_count", [
    # Keras 3.15's count_params() on (None, 10, 3) inputs (checked in /tmp/hf_k3venv)
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2), 46),
    ("Conv1DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), 40),
])
def test_parameter_counts_are_keras(class_name, args, keras_count):
    model = keras.Sequential([keras.Input((10, 3)), getattr(keras.layers, class_name)(**args)])
    assert model.count_params() == keras_count


def test_configs_round_trip_and_layers_train():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 2)),
                              keras.layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2, activation="relu",
                                                           depthwise_regularizer=keras.regularizers.L2(1e-3)),
                              keras.layers.Conv1DTranspose(1, 2, strides=2)])
    for layer in model.layers:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert model.layers[0].get_config()["depthwise_regularizer"]["config"]["l2"] == pytest.approx(1e-3)
    assert model.output_shape == (None, 16, 1)
    x = np.random.default_rng(3).standard_normal((32, 8, 2)).astype("float32")
    y = np.repeat(x[:, :, :1], 2, axis=1)            # upsample the first channel
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("class_name, args, message", [
    ("SeparableConv1D", dict(filters=2, kernel_size=0), "kernel_size"),
    ("SeparableConv1D", dict(filters=2, kernel_size=3, depth_multiplier=0), "depth_multiplier"),
    ("SeparableConv1D", dict(filters=2, kernel_size=3, data_format="channels_first"), "channels_last"),
    ("SeparableConv1D", dict(filters=2, kernel_size=3, groups=2), "groups"),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, padding="causal"), "padding"),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=2), "output_padding"),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, output_padding=-1), "output_padding"),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation_rate"),
])
def test_bad_arguments_are_refused(class_name, args, message):
    with pytest.raises((ValueError, TypeError), match=message) as error:
        getattr(keras.layers, class_name)(**args)
    assert "Received" in str(error.value)
