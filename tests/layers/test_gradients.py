"""Every layer and option: backward equals float64 central differences (relative error < 1e-6)."""

import itertools

import numpy as np
import pytest

from conftest import finite_difference_check
from rnnkit import backend
from rnnkit.layers import Bidirectional, Dense, SimpleRNN, TimeDistributed

B, T, D, H = 2, 4, 3, 3


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


def check_layer(layer, x, mask=None):
    """Loss = sum over outputs of <random weights, output>; checks d/dx and every weight."""
    rng = np.random.default_rng(7)
    layer.build((None,) + x.shape[1:])
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    out = layer.forward(x, mask=mask)
    outs = out if isinstance(out, list) else [out]
    coefs = [rng.normal(size=o.shape) for o in outs]

    def loss():
        o = layer.forward(x, mask=mask)
        return float(sum(np.sum(c * v) for c, v in zip(coefs, o if isinstance(o, list) else [o])))

    layer.forward(x, mask=mask, training=True)
    dx = layer.backward(coefs if isinstance(out, list) else coefs[0])
    keys = list(layer.weights)
    assert set(layer.grads) == set(keys)
    error = finite_difference_check(loss, [x] + [layer.weights[k] for k in keys],
                                    [dx] + [layer.grads[k] for k in keys])
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
