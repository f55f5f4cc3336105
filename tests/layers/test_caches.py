"""Issue 11, item 2: caches are per call and owned by the caller. Two forwards before a backward
never share buffers; a layer called twice and backpropagated through both calls holds the summed
gradients (judged by finite differences); backward without a cache raises in every layer."""

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit import backend
from rnnkit.layers import (GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Masking, SimpleRNN,
                           TimeDistributed)
from rnnkit.models import Sequential
from rnnkit.ops.lstm import lstm_backward, lstm_forward

B, T, D, H = 2, 4, 3, 3
RECURRENT = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


def sequences(seed):
    return np.random.default_rng(seed).normal(size=(B, T, D))


def built(layer, seed=0):
    layer.build((None, T, D))
    rng = np.random.default_rng(seed)
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    return layer


def test_the_ops_refuse_a_stale_cache_on_a_shared_workspace():
    # The bug: two forwards on one workspace, then backward on the first cache.
    rng = np.random.default_rng(0)
    W, U, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    workspace = {}
    _, _, first = lstm_forward(sequences(1), W, U, b, keep_cache=True, workspace=workspace)
    lstm_forward(sequences(2), W, U, b, keep_cache=True, workspace=workspace)
    with pytest.raises(RuntimeError, match="stale"):
        lstm_backward(np.ones((B, T, H)), None, None, first)


def test_the_ops_refuse_a_used_cache():
    rng = np.random.default_rng(0)
    W, U = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H))
    _, _, cache = lstm_forward(sequences(1), W, U, keep_cache=True, workspace={})
    lstm_backward(np.ones((B, T, H)), None, None, cache)
    with pytest.raises(RuntimeError, match="already used"):
        lstm_backward(np.ones((B, T, H)), None, None, cache)


@pytest.mark.parametrize("cls", sorted(RECURRENT))
def test_two_forwards_then_the_first_backward_equals_one_call(cls):
    layer = built(RECURRENT[cls](H, return_sequences=True))
    d_out = np.random.default_rng(3).normal(size=(B, T, H))
    _, alone = layer.forward_with_cache(sequences(1), training=True)
    dx_alone = layer.backward(d_out, alone)
    grads_alone = dict(layer.grads)
    _, first = layer.forward_with_cache(sequences(1), training=True)
    _, second = layer.forward_with_cache(sequences(2), training=True)   # would overwrite a shared buffer
    dx_first = layer.backward(d_out, first)
    np.testing.assert_array_equal(dx_first, dx_alone)
    for key, grad in grads_alone.items():
        np.testing.assert_array_equal(layer.grads[key], grad)
    del second


@pytest.mark.parametrize("layer", [
    lambda: SimpleRNN(H, return_sequences=True), lambda: LSTM(H, return_sequences=True, go_backwards=True),
    lambda: GRU(H, return_sequences=True, reset_after=False), lambda: Dense(4, activation="tanh"),
    lambda: Bidirectional(LSTM(H, return_sequences=True), merge_mode="mul"),
    lambda: TimeDistributed(Dense(2))], ids=["simple_rnn", "lstm", "gru", "dense", "bidirectional", "td"])
def test_a_layer_called_twice_holds_the_summed_gradients(layer):
    layer = built(layer())
    x1, x2 = sequences(1), sequences(2)

    def forward():
        return [layer.forward(x1), layer.forward(x2)]

    def backward(R):
        _, c1 = layer.forward_with_cache(x1, training=True)
        _, c2 = layer.forward_with_cache(x2, training=True)
        dx2 = layer.backward(R[1], c2)           # backward in reverse order, as a graph would
        dx1 = layer.backward(R[0], c1)
        return dict(layer.grads, x1=dx1, x2=dx2)

    assert_gradients(forward, backward, dict(layer.weights, x1=x1, x2=x2))


def test_gradients_restart_with_the_next_call():
    layer = built(SimpleRNN(H))
    d_out = np.ones((B, H))
    layer.forward(sequences(1), training=True)
    layer.backward(d_out)
    once = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(sequences(1), training=True)
    layer.backward(d_out)
    for key in once:
        np.testing.assert_array_equal(layer.grads[key], once[key])


def test_a_model_calls_each_layer_with_its_own_cache():
    model = Sequential([LSTM(H, return_sequences=True, input_shape=(T, D)), Dense(1)])
    model.compile("sgd", "mse")
    x, y = sequences(1), np.zeros((B, T, 1))
    before = model.get_weights()
    model.train_on_batch(x, y)
    model.set_weights(before)
    model.train_on_batch(x, y)   # the same step again from the same weights: the same result
    after_twice = model.get_weights()
    model.set_weights(before)
    model.train_on_batch(x, y)
    for a, b in zip(after_twice, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda: SimpleRNN(H), lambda: LSTM(H), lambda: GRU(H), lambda: Dense(2), lambda: Dropout(0.5),
    lambda: Embedding(5, 2), lambda: Masking(), lambda: TimeDistributed(Dense(2)),
    lambda: Bidirectional(LSTM(H))], ids=lambda f: "")
def test_backward_without_a_forward_raises_in_every_layer(make):
    layer = make()
    with pytest.raises(RuntimeError, match="needs the cache of a forward"):
        layer.backward(np.ones((B, H)))


def test_backward_refuses_another_layers_cache_and_a_used_one():
    a, b = built(SimpleRNN(H)), built(SimpleRNN(H))
    _, cache = a.forward_with_cache(sequences(1), training=True)
    with pytest.raises(RuntimeError, match="another layer's cache"):
        b.backward(np.ones((B, H)), cache)
    a.backward(np.ones((B, H)), cache)
    with pytest.raises(RuntimeError, match="already used"):
        a.backward(np.ones((B, H)), cache)


def test_inference_returns_no_cache_and_a_dropped_cache_gives_its_workspace_back():
    layer = built(LSTM(H))
    out, cache = layer.forward_with_cache(sequences(1))
    assert cache is None
    _, cache = layer.forward_with_cache(sequences(1), training=True)
    pool = layer.cell.workspaces
    assert len(pool._free) == 0
    del cache
    assert len(pool._free) == 1
