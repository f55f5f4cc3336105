"""Every layer and option: backward equals float64 central differences (relative error < 1e-6)."""

import itertools

import numpy as np
import pytest

from conftest import finite_difference_check
from rnnkit import backend
from rnnkit.layers import (GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Masking, SimpleRNN,
                           TimeDistributed)

B, T, D, H = 2, 4, 3, 3


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


def check_layer(layer, x, mask=None, training_in_loss=False, input_grad=True):
    """Loss = sum over outputs of <random weights, output>; checks d/dx and every weight.
    `training_in_loss` evaluates the loss in training mode (for layers with fixed dropout masks)."""
    rng = np.random.default_rng(7)
    if not layer.built:
        layer.build((None,) + x.shape[1:])
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    out = layer.forward(x, mask=mask)
    outs = out if isinstance(out, list) else [out]
    coefs = [rng.normal(size=o.shape) for o in outs]

    def loss():
        o = layer.forward(x, mask=mask, training=training_in_loss)
        return float(sum(np.sum(c * v) for c, v in zip(coefs, o if isinstance(o, list) else [o])))

    layer.forward(x, mask=mask, training=True)
    dx = layer.backward(coefs if isinstance(out, list) else coefs[0])
    keys = list(layer.weights)
    assert set(layer.grads) == set(keys)
    params, grads = [layer.weights[k] for k in keys], [layer.grads[k] for k in keys]
    if input_grad:
        params, grads = [x] + params, [dx] + grads
    error = finite_difference_check(loss, params, grads)
    assert error < 1e-6, error


def sequence():
    return np.random.default_rng(3).normal(size=(B, T, D))


@pytest.mark.parametrize("return_sequences,return_state,go_backwards,use_bias",
                         list(itertools.product([False, True], repeat=4)))
def test_simple_rnn_layer(return_sequences, return_state, go_backwards, use_bias):
    check_layer(SimpleRNN(H, return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, use_bias=use_bias), sequence())


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "linear", "softmax", "elu", "softplus"])
def test_simple_rnn_activations(activation):
    check_layer(SimpleRNN(H, activation=activation, return_sequences=True), sequence())


def test_simple_rnn_with_mask():
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    check_layer(SimpleRNN(H, return_sequences=True, return_state=True), sequence(), mask=mask)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences,return_state", list(itertools.product([False, True], repeat=2)))
def test_bidirectional(merge_mode, return_sequences, return_state):
    check_layer(Bidirectional(SimpleRNN(H, return_sequences=return_sequences, return_state=return_state),
                              merge_mode=merge_mode), sequence())


def test_bidirectional_with_mask_outputs_zero_on_masked_steps():
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    layer = Bidirectional(SimpleRNN(H, return_sequences=True))
    check_layer(layer, sequence(), mask=mask)
    out = layer.forward(sequence(), mask=mask)
    assert np.all(out[~mask] == 0)


@pytest.mark.parametrize("activation", ["linear", "tanh", "softmax", "relu", "sigmoid"])
@pytest.mark.parametrize("rank", [2, 3])
def test_dense(activation, rank):
    x = np.random.default_rng(1).normal(size=(B, D) if rank == 2 else (B, T, D))
    check_layer(Dense(4, activation=activation), x)


def test_dense_without_bias():
    check_layer(Dense(4, use_bias=False), np.random.default_rng(1).normal(size=(B, D)))


def test_time_distributed_dense():
    check_layer(TimeDistributed(Dense(4, activation="tanh")), sequence())


MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("return_sequences,return_state,go_backwards",
                         list(itertools.product([False, True], repeat=3)))
def test_gated_layers(cls, return_sequences, return_state, go_backwards):
    check_layer(cls(H, return_sequences=return_sequences, return_state=return_state,
                    go_backwards=go_backwards), sequence())


@pytest.mark.parametrize("layer", [lambda: LSTM(H, return_sequences=True, return_state=True),
                                   lambda: GRU(H, return_sequences=True, reset_after=False),
                                   lambda: GRU(H, use_bias=False, go_backwards=True)])
def test_gated_layers_with_mask(layer):
    check_layer(layer(), sequence(), mask=MASK)


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_gated_with_mask(cls, merge_mode):
    check_layer(Bidirectional(cls(H, return_sequences=True), merge_mode=merge_mode), sequence(), mask=MASK)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_recurrent_dropout_with_a_fixed_mask(cls):
    layer = cls(H, dropout=0.4, recurrent_dropout=0.3, return_sequences=True)
    rng = np.random.default_rng(5)
    fixed = ((rng.random((B, D)) > 0.4) / 0.6, (rng.random((B, H)) > 0.3) / 0.7)
    layer._dropout_masks = lambda batch, features: fixed  # the same masks for every call
    check_layer(layer, sequence(), training_in_loss=True)


def test_dropout_layer_with_a_fixed_seed_per_call():
    layer = Dropout(0.5)
    layer.build((None, T, D))
    x = sequence()
    backend.set_random_seed(3)
    y1 = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(x))
    # inverted dropout: kept entries scaled by 1 / (1 - rate), the gradient uses the same mask
    kept = y1 != 0
    np.testing.assert_allclose(y1[kept], x[kept] * 2.0)
    np.testing.assert_array_equal(dx, kept * 2.0)
    np.testing.assert_array_equal(layer.forward(x), x)  # inference passes through


def test_embedding_scatter_adds_repeated_ids():
    layer = Embedding(7, 4)
    ids = np.array([[1, 3, 3, 0], [6, 1, 1, 1]])
    check_layer(layer, ids, input_grad=False)


def test_masking_layer():
    x = sequence()
    x[0, 2] = 0.0
    layer = Masking()
    layer.build((None, T, D))
    np.testing.assert_array_equal(layer.compute_mask(x), np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool))
    d_out = np.random.default_rng(0).normal(size=x.shape)
    layer.forward(x, training=True)
    dx = layer.backward(d_out)
    # Off the padding the layer is the identity; a padding step passes no gradient (perturbing
    # it would un-mask it, so it is checked by the stated property rather than by differences).
    np.testing.assert_array_equal(dx[0, 2], 0.0)
    real = np.ones(x.shape, bool)
    real[0, 2] = False
    np.testing.assert_array_equal(dx[real], d_out[real])
