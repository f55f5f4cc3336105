"""Issue 13's layers: forward against NumPy references written here, every backward through the
independent finite-difference judge (float64), shapes, masks, configs and errors."""

import math

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit import backend
from rnnkit.layers import (ELU, LSTM, Activation, AveragePooling1D, BatchNormalization, Conv1D, Cropping1D, Dense,
                           Embedding, Flatten, GaussianDropout, GaussianNoise, GlobalAveragePooling1D,
                           GlobalMaxPooling1D, LayerNormalization, LeakyReLU, MaxPooling1D, Permute, PReLU, ReLU,
                           RepeatVector, Reshape, Softmax, SpatialDropout1D, UpSampling1D, ZeroPadding1D, deserialize,
                           serialize)
from rnnkit.models import Sequential, load_model


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


def rng(seed=0):
    return np.random.default_rng(seed)


def check(layer, x, mask=None, training=False, skip=(), reseed=None, seed=7):
    """The judge on d/dx and every weight not in `skip`. `training` evaluates the loss in training
    mode; `reseed(layer)` makes a training draw repeat (fixed-seed noise layers)."""
    if not layer.built:
        layer.build((None,) + x.shape[1:])
    r = rng(seed)
    for key, w in layer.weights.items():
        if key not in skip:
            w[...] = r.normal(size=w.shape) * 0.5 + (1.0 if key == "gamma" else 0.0)

    def run(train):
        if reseed is not None:
            reseed(layer)
        return layer.forward(x, mask=mask, training=train)

    def backward(R):
        run(True)
        dx = layer.backward(R[0])
        assert set(layer.grads) == set(layer.weights)
        grads = {k: g for k, g in layer.grads.items() if k not in skip}
        grads["x"] = dx
        return grads

    arrays = {k: w for k, w in layer.weights.items() if k not in skip}
    arrays["x"] = x
    return assert_gradients(lambda: run(training), backward, arrays)


def fresh(layer):
    """A float64 twin of a layer made at import time (parametrize lists run under float32)."""
    config = dict(layer.get_config(), dtype="float64")
    config.pop("name")
    twin = type(layer).from_config(config)
    if hasattr(layer, "_generator"):
        twin._generator = layer._generator
    return twin


def seq(b=2, t=7, c=3, seed=1):
    return rng(seed).normal(size=(b, t, c))


# ---- Conv1D -------------------------------------------------------------------------------------
def conv_reference(x, kernel, bias, strides, padding, dilation, groups):
    b, n, c = x.shape
    k, cg, f = kernel.shape
    span = (k - 1) * dilation + 1
    if padding == "causal":
        left, right = span - 1, 0
    elif padding == "same":
        out = -(-n // strides)
        total = max((out - 1) * strides + span - n, 0)
        left, right = total // 2, total - total // 2
    else:
        left = right = 0
    xp = np.concatenate([np.zeros((b, left, c)), x, np.zeros((b, right, c))], axis=1)
    length = (xp.shape[1] - span) // strides + 1
    y = np.zeros((b, length, f))
    fg = f // groups
    for i in range(length):
        for filt in range(f):
            g = filt // fg
            for j in range(k):
                y[:, i, filt] += xp[:, i * strides + j * dilation, g * cg:(g + 1) * cg] @ kernel[j, :, filt]
    return y + (0 if bias is None else bias)


CONV_CASES = [  # kernel_size, strides, padding, dilation, groups
    (3, 1, "valid", 1, 1), (3, 2, "valid", 1, 1), (2, 1, "causal", 2, 1), (3, 1, "same", 1, 1),
    (4, 2, "same", 1, 1), (3, 3, "same", 1, 1), (2, 1, "same", 3, 1), (3, 1, "causal", 1, 1),
    (3, 1, "valid", 1, 3), (2, 2, "same", 1, 3),
]


@pytest.mark.parametrize("k,s,padding,d,groups", CONV_CASES)
def test_conv1d_matches_the_loop_reference_and_the_judge(k, s, padding, d, groups):
    x = seq(2, 8, 6)
    layer = Conv1D(6, k, strides=s, padding=padding, dilation_rate=d, groups=groups)
    layer.build((None, 8, 6))
    layer.weights["bias"][...] = rng(3).normal(size=6)
    expected = conv_reference(x, layer.weights["kernel"], layer.weights["bias"], s, padding, d, groups)
    np.testing.assert_allclose(layer(x), expected, atol=1e-12)
    assert layer.compute_output_shape((None, 8, 6)) == expected.shape[:0] + (None,) + expected.shape[1:]
    check(layer, x)


@pytest.mark.parametrize("activation", ["relu", "selu", "swish", "gelu", "tanh", "elu", "mish", "softsign"])
def test_conv1d_activations_backpropagate(activation):
    check(Conv1D(4, 3, padding="same", activation=activation), seq(), seed=5)


def test_conv1d_without_bias_and_weight_shapes():
    layer = Conv1D(5, [3], use_bias=False)
    layer.build((None, 9, 4))
    assert list(layer.weights) == ["kernel"] and layer.weights["kernel"].shape == (3, 4, 5)
    assert layer.count_params() == 60
    check(layer, seq(2, 9, 4))
    assert Conv1D(6, 3, groups=2).compute_output_shape((None, None, 4)) == (None, None, 6)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"filters": 0, "kernel_size": 3}, ValueError, "`filters`.*Received: 0"),
    ({"filters": 4, "kernel_size": (3, 3)}, ValueError, "`kernel_size`.*Received"),
    ({"filters": 4, "kernel_size": 3, "padding": "full"}, ValueError, "`padding`.*Received: 'full'"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, ValueError, "dilation_rate.*Received"),
    ({"filters": 5, "kernel_size": 3, "groups": 2}, ValueError, "divisible by `groups`.*Received"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, ValueError, "channels_last.*Received"),
    ({"filters": 4, "kernel_size": 3, "kernel_regularizer": "l3"}, ValueError, "kernel_regularizer.*Received: .l3."),
    ({"filters": 4, "kernel_size": 3, "kernel_constraint": {"class_name": "Clip"}}, ValueError,
     "kernel_constraint.*Clip"),
])
def test_conv1d_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Conv1D(**kwargs)


def test_conv1d_input_errors():
    with pytest.raises(ValueError, match="too few.*Received"):
        Conv1D(2, 5).build((None, 3, 2))
    with pytest.raises(ValueError, match="divisible by `groups`.*Received: 3 channels"):
        Conv1D(4, 2, groups=2).build((None, 5, 3))
    with pytest.raises(ValueError, match="\\(batch, steps, channels\\).*Received"):
        Conv1D(4, 2).build((None, 5))


def test_conv1d_config_is_tf_kerass():
    layer = Conv1D(6, 2, padding="causal", dilation_rate=2, activation="selu", name="c")
    config = layer.get_config()
    assert config["kernel_size"] == [2] and config["strides"] == [1] and config["dilation_rate"] == [2]
    assert config["groups"] == 1 and config["data_format"] == "channels_last" and config["padding"] == "causal"
    again = deserialize(serialize(layer))
    assert again.get_config() == config


# ---- pooling --------------------------------------------------------------------------------------
def pool_reference(x, p, s, padding, mode):
    b, n, c = x.shape
    if padding == "same":
        out = -(-n // s)
        left = max((out - 1) * s + p - n, 0) // 2
    else:
        out, left = (n - p) // s + 1, 0
    y = np.zeros((b, out, c))
    for i in range(out):
        lo, hi = max(i * s - left, 0), min(i * s - left + p, n)
        cells = x[:, lo:hi]
        y[:, i] = cells.max(axis=1) if mode == "max" else cells.mean(axis=1)
    return y


@pytest.mark.parametrize("cls,mode", [(MaxPooling1D, "max"), (AveragePooling1D, "average")])
@pytest.mark.parametrize("p,s,padding", [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "same"),
                                         (4, 3, "same"), (3, 1, "valid")])
def test_pooling_matches_the_reference_and_the_judge(cls, mode, p, s, padding):
    x = seq(2, 7, 3)
    layer = cls(p, strides=s, padding=padding)
    expected = pool_reference(x, p, s or p, padding, mode)
    np.testing.assert_allclose(layer(x), expected, atol=1e-12)
    assert layer.compute_output_shape((None, 7, 3)) == (None,) + expected.shape[1:]
    check(layer, x)


def test_pooling_drops_the_mask_and_keeps_tf_keras_config():
    layer = MaxPooling1D(2)
    assert layer.compute_mask(seq(), np.ones((2, 7), bool)) is None
    assert layer.get_config()["pool_size"] == [2] and layer.get_config()["strides"] == [2]
    with pytest.raises(ValueError, match="`padding`.*Received: 'causal'"):
        AveragePooling1D(2, padding="causal")
    with pytest.raises(ValueError, match="too few.*Received"):
        MaxPooling1D(4).build((None, 3, 2))


def test_global_pooling_with_and_without_mask():
    x = seq(3, 5, 4)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    gap, gmp = GlobalAveragePooling1D(), GlobalMaxPooling1D()
    np.testing.assert_allclose(gap(x), x.mean(axis=1))
    expected = np.stack([x[i, mask[i]].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(gap(x, mask=mask), expected)
    np.testing.assert_allclose(gmp(x, mask=mask), x.max(axis=1))        # the mask is ignored, as Keras does
    assert gap.compute_mask(x, mask) is None and gmp.compute_mask(x, mask) is None
    assert GlobalAveragePooling1D(keepdims=True)(x).shape == (3, 1, 4)
    check(GlobalAveragePooling1D(), x, mask=mask)
    check(GlobalAveragePooling1D(keepdims=True), x)
    check(GlobalMaxPooling1D(), x)
    check(GlobalMaxPooling1D(keepdims=True), x, mask=mask)


# ---- normalization --------------------------------------------------------------------------------
def test_batch_normalization_training_inference_and_moving_statistics():
    x = seq(4, 5, 3)
    layer = BatchNormalization(momentum=0.75, epsilon=1e-3)     # not 0.5: m and 1 - m must differ
    layer.build((None, 5, 3))
    gamma, beta = rng(2).normal(size=3), rng(3).normal(size=3)
    layer.set_weights([gamma, beta, np.full(3, 0.2), np.full(3, 1.5)])
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))
    inference = layer(x)
    np.testing.assert_allclose(inference, (x - 0.2) / np.sqrt(1.5 + 1e-3) * gamma + beta)
    np.testing.assert_allclose(layer.get_weights()[2], 0.2)     # inference writes nothing
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta)
    np.testing.assert_allclose(layer.get_weights()[2], 0.75 * 0.2 + 0.25 * mean)
    np.testing.assert_allclose(layer.get_weights()[3], 0.75 * 1.5 + 0.25 * var)
    assert [w.shape for w in layer.trainable_weights] == [(3,), (3,)]
    assert len(layer.non_trainable_weights) == 2
    assert layer.non_trainable_weights[0] is layer.weights["moving_mean"]
    assert layer.compute_mask(x, np.ones((4, 5), bool)) is not None


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False)])
def test_batch_normalization_backward(shape, center, scale):
    x = rng(4).normal(size=shape) * 2 + 1
    check(BatchNormalization(center=center, scale=scale), x, training=True, skip=("moving_mean", "moving_variance"))
    # A frozen layer normalizes with the moving statistics, in training too: its backward is that map's.
    layer = BatchNormalization(center=center, scale=scale, trainable=False)
    layer.build((None,) + shape[1:])
    layer.weights["moving_variance"][...] = 1.7
    check(layer, x, training=True, skip=("moving_mean", "moving_variance"))


def test_frozen_batch_normalization_runs_in_inference_mode():
    x = seq(4, 5, 3)
    layer = BatchNormalization(trainable=False)
    layer.build((None, 5, 3))
    before = layer.get_weights()
    np.testing.assert_allclose(layer.forward(x, training=True), layer(x))
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_normalization_axis_and_errors():
    layer = BatchNormalization(axis=1)
    x = rng(5).normal(size=(6, 3, 4))
    layer.build((None, 3, 4))
    assert layer.weights["gamma"].shape == (3,)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    check(BatchNormalization(axis=1), x, training=True, skip=("moving_mean", "moving_variance"))
    assert BatchNormalization(axis=[2]).get_config()["axis"] == [2]
    with pytest.raises(ValueError, match="`axis`.*Received"):
        BatchNormalization(axis=0).build((None, 3, 4))
    with pytest.raises(ValueError, match="renorm.*Received"):
        BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="`momentum`.*Received"):
        BatchNormalization(momentum=1.5)


@pytest.mark.parametrize("axis", [-1, [1, 2], 1])
@pytest.mark.parametrize("center,scale", [(True, True), (False, False)])
def test_layer_normalization(axis, center, scale):
    x = seq(3, 4, 5) * 3
    layer = LayerNormalization(axis=axis, center=center, scale=scale)
    layer.build((None, 4, 5))
    axes = tuple(a % 3 for a in (axis if isinstance(axis, list) else [axis]))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3)
    if scale:
        shape = [1, 1, 1]
        for a in axes:
            shape[a] = x.shape[a]
        layer.weights["gamma"][...] = rng(1).normal(size=layer.weights["gamma"].shape)
        expected = expected * layer.weights["gamma"].reshape(shape)
    np.testing.assert_allclose(layer(x), expected, atol=1e-12)
    check(layer, x)


def test_layer_normalization_config_and_errors():
    layer = LayerNormalization()
    layer.build((None, 4, 5))
    assert layer.get_config()["axis"] == [2] and layer.weights["gamma"].shape == (5,)
    with pytest.raises(ValueError, match="rms_scaling.*Received"):
        LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="`axis`.*Received"):
        LayerNormalization(axis=3).build((None, 4, 5))


# ---- shape layers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,shape,expected_shape,reference", [
    (Flatten(), (2, 3, 4), (2, 12), lambda x: x.reshape(2, 12)),
    (Reshape((4, 3)), (2, 3, 4), (2, 4, 3), lambda x: x.reshape(2, 4, 3)),
    (Reshape((-1, 2)), (2, 3, 4), (2, 6, 2), lambda x: x.reshape(2, 6, 2)),
    (Permute((2, 1)), (2, 3, 4), (2, 4, 3), lambda x: x.transpose(0, 2, 1)),
    (Permute((3, 1, 2)), (2, 3, 4, 5), (2, 5, 3, 4), lambda x: x.transpose(0, 3, 1, 2)),
    (RepeatVector(3), (2, 4), (2, 3, 4), lambda x: np.stack([x] * 3, axis=1)),
    (UpSampling1D(2), (2, 3, 4), (2, 6, 4), lambda x: np.repeat(x, 2, axis=1)),
    (ZeroPadding1D((1, 2)), (2, 3, 4), (2, 6, 4), lambda x: np.pad(x, ((0, 0), (1, 2), (0, 0)))),
    (Cropping1D((1, 1)), (2, 4, 3), (2, 2, 3), lambda x: x[:, 1:3]),
])
def test_shape_layers(layer, shape, expected_shape, reference):
    layer = fresh(layer)
    x = rng(6).normal(size=shape)
    y = layer(x)
    assert y.shape == expected_shape
    np.testing.assert_array_equal(y, reference(x))
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + expected_shape[1:]
    assert layer.compute_mask(x, np.ones(shape[:2], bool)) is None
    check(layer, x)
    assert deserialize(serialize(layer)).get_config() == layer.get_config()


@pytest.mark.parametrize("make,match", [
    (lambda: Reshape((5, 5)).build((None, 3, 4)), "total size.*Received"),
    (lambda: Reshape((-1, -1)), "-1 once.*Received"),
    (lambda: Permute((1, 3)), "permutation.*Received"),
    (lambda: RepeatVector(0), "`n`.*Received"),
    (lambda: RepeatVector(2).build((None, 3, 4)), "\\(batch, features\\).*Received"),
    (lambda: Cropping1D((2, 2)).build((None, 4, 3)), "leaves no step.*Received"),
    (lambda: ZeroPadding1D(-1), "`padding`.*Received"),
])
def test_shape_layer_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ---- activation layers ----------------------------------------------------------------------------
SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ERF = np.vectorize(math.erf)
REFERENCES = {
    "selu": lambda z: SELU_S * np.where(z > 0, z, SELU_A * np.expm1(z)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "gelu": lambda z: 0.5 * z * (1 + ERF(z / np.sqrt(2))),
    "gelu_approximate": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3))),
    "exponential": np.exp,
    "softsign": lambda z: z / (1 + np.abs(z)),
    "mish": lambda z: z * np.tanh(np.log1p(np.exp(z))),
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),
    "log_softmax": lambda z: z - np.log(np.exp(z).sum(-1, keepdims=True)),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True),
    "tanh": np.tanh,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_layer_matches_the_formula_and_the_judge(name):
    x = seq(2, 3, 4) * 2.5
    if name == "relu6":
        x = x * 3
    layer = Activation(name)
    np.testing.assert_allclose(layer(x), REFERENCES[name](x), rtol=1e-12, atol=1e-12)
    assert layer.compute_mask(x, np.ones((2, 3), bool)) is not None
    check(layer, x)


@pytest.mark.parametrize("name", ["selu", "swish", "silu", "gelu", "mish", "softsign", "relu6", "exponential",
                                  "leaky_relu", "log_softmax"])
def test_new_activations_train_inside_dense(name):
    from gradient_judge import assert_gradients as judge
    layer = Dense(3, activation=name)
    x = rng(8).normal(size=(4, 5))
    layer.build((None, 5))

    def backward(R):
        layer.forward(x, training=True)
        dx = layer.backward(R[0])
        return dict(layer.grads, x=dx)
    judge(lambda: layer.forward(x), backward, dict(layer.weights, x=x))


def test_an_activation_without_derivative_is_a_clear_error_in_training():
    layer = Dense(2, activation=lambda z: z * 2)
    layer.build((None, 3))
    layer.forward(np.ones((1, 3)), training=True)
    with pytest.raises(ValueError, match="no derivative.*Received"):
        layer.backward(np.ones((1, 2)))


def test_selu_and_softsign_work_as_recurrent_activations():
    x = seq(2, 4, 3)
    for name in ("selu", "softsign"):
        layer = LSTM(2, activation=name, recurrent_activation="softsign" if name == "selu" else "sigmoid")
        layer.build((None, 4, 3))

        def backward(R, layer=layer):
            layer.forward(x, training=True)
            dx = layer.backward(R[0])
            return dict(layer.grads, x=dx)
        assert_gradients(lambda layer=layer: layer.forward(x), backward, dict(layer.weights, x=x))


@pytest.mark.parametrize("layer,reference", [
    (LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x)),
    (LeakyReLU(alpha=0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (LeakyReLU(negative_slope=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (ReLU(), lambda x: np.maximum(x, 0)),
    (ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5),
     lambda x: np.where(x < 0.5, 0.1 * (x - 0.5), np.minimum(x, 1.0))),
    (ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (Softmax(axis=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
])
def test_activation_layers(layer, reference):
    layer = fresh(layer)
    x = seq(2, 4, 3) * 2
    np.testing.assert_allclose(layer(x), reference(x), atol=1e-12)
    check(layer, x)
    assert deserialize(serialize(layer)).get_config() == layer.get_config()


def test_prelu_weights_and_gradients():
    x = seq(2, 4, 3)
    layer = PReLU(shared_axes=[1])
    layer.build((None, 4, 3))
    assert layer.weights["alpha"].shape == (1, 3)
    layer.weights["alpha"][...] = 0.25
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, 0.25 * x))
    check(layer, x)
    check(PReLU(), x)


def test_activation_layer_errors():
    with pytest.raises(ValueError, match="`activation`.*Received: 'nope'"):
        Activation("nope")
    with pytest.raises(ValueError, match="alpha.*negative_slope.*Received"):
        LeakyReLU(alpha=0.1, negative_slope=0.2)
    with pytest.raises(ValueError, match="`axis`.*Received: axis=0"):
        Softmax(axis=0)(seq())


# ---- noise ----------------------------------------------------------------------------------------
def reseeded(layer):
    layer._generator = np.random.default_rng(11)


@pytest.mark.parametrize("layer", [SpatialDropout1D(0.4, seed=3), GaussianNoise(0.5, seed=3),
                                   GaussianDropout(0.3, seed=3)])
def test_noise_layers_are_the_identity_in_inference_and_backpropagate_their_draw(layer):
    layer = fresh(layer)
    x = seq(3, 5, 4)
    np.testing.assert_array_equal(layer(x), x)
    assert not np.array_equal(layer.forward(x, training=True), x)
    check(layer, x, training=True, reseed=reseeded)


def test_spatial_dropout_drops_whole_features():
    x = np.ones((4, 6, 5))
    y = SpatialDropout1D(0.5, seed=0).forward(x, training=True)
    assert np.all((y == 0).all(axis=1) | (y == 2).all(axis=1))
    assert SpatialDropout1D(0.2).get_config()["noise_shape"] is None


# ---- models and files -----------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_a_model_of_the_new_layers_round_trips_through_files(tmp_path, ext):
    backend.set_floatx("float32")
    model = Sequential([Conv1D(4, 3, padding="causal", activation="gelu", input_shape=(10, 3)), MaxPooling1D(2),
                        BatchNormalization(), LayerNormalization(), SpatialDropout1D(0.1), LSTM(5),
                        RepeatVector(2), Flatten(), Dense(3, activation="selu"), LeakyReLU(0.2), Activation("swish")])
    x = rng(9).normal(size=(2, 10, 3)).astype("float32")
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            layer.set_weights([np.full(4, 1.5), np.full(4, 0.1), np.full(4, -0.2), np.full(4, 2.0)])
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / f"m{ext}")
    again = load_model(tmp_path / f"m{ext}")
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-6)
    for ours, theirs in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_training_a_sequential_with_batch_normalization_updates_moving_statistics_only_in_forward():
    backend.set_floatx("float32")
    model = Sequential([Conv1D(4, 2, input_shape=(6, 3)), BatchNormalization(momentum=0.9), GlobalAveragePooling1D(),
                        Dense(1)])
    model.compile("sgd", "mse")
    x, y = rng(1).normal(size=(8, 6, 3)).astype("float32"), rng(2).normal(size=(8, 1)).astype("float32")
    bn = model.layers[1]
    z = model.layers[0](x)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(bn.weights["moving_mean"], 0.1 * z.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.weights["moving_variance"], 0.9 + 0.1 * z.var(axis=(0, 1)), rtol=1e-5)


def test_embedding_takes_whole_float_ids():
    layer = Embedding(5, 2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 4.0]], "float32")), layer(np.array([[1, 4]])))
