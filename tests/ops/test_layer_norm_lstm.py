"""The layer-normalised LSTM (ops/layer_norm_lstm.py) through the shared cell harness: forward
against its literal step, BPTT against the judge in every scenario, stateful chunks; and the
Keras-facing LayerNormLSTM layer trains."""

import numpy as np
import pytest

from test_cell_gradients import (FORWARD_SCENARIOS, SCENARIOS, Case, check_cell, check_forward_equals_literal_loop,
                                 check_stateful_chunks_equal_one_call, sigmoid)
from rnnkit.ops.layer_norm_lstm import LayerNormLSTM


def layer_norm(a, gamma, beta, eps=1e-3):
    return gamma * (a - a.mean(axis=1, keepdims=True)) / np.sqrt(a.var(axis=1, keepdims=True) + eps) + beta


def layer_norm_lstm_step(w, x, states, m_h):      # Ba et al. 2016, eqs. 20-22, batch-major
    h, c = states
    z = (layer_norm(x @ w["kernel"], w["kernel_norm_gamma"], w["kernel_norm_beta"])
         + layer_norm((h * m_h) @ w["recurrent_kernel"], w["recurrent_norm_gamma"], w["recurrent_norm_beta"])
         + w.get("bias", 0.0))
    i, f, g, o = np.split(z, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return [sigmoid(o) * np.tanh(layer_norm(c, w["state_norm_gamma"], w["state_norm_beta"])), c]


CASE = Case("layer_norm_lstm", lambda units, **o: LayerNormLSTM(units, **o), layer_norm_lstm_step)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_bptt_matches_the_judge(scenario):
    check_cell(CASE, **SCENARIOS[scenario])


@pytest.mark.parametrize("scenario", sorted(FORWARD_SCENARIOS))
def test_forward_equals_the_literal_step(scenario):
    check_forward_equals_literal_loop(CASE, **FORWARD_SCENARIOS[scenario])


def test_stateful_chunks_equal_one_call():
    check_stateful_chunks_equal_one_call(CASE, np.array([[1, 1, 0, 1, 1], [0, 1, 1, 0, 1]], bool))


@pytest.mark.parametrize("activation,recurrent_activation", [("relu", "sigmoid"), ("softplus", "tanh")])
def test_other_activations(activation, recurrent_activation):
    check_cell(CASE, activation=activation, recurrent_activation=recurrent_activation, scale=0.3, seed=3)


def test_the_layer_trains_and_round_trips():
    import rnnkit as keras
    keras.backend.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 3)).astype("float32")
    y = np.tanh(x.sum(axis=(1, 2)))[:, None].astype("float32")
    layer = keras.layers.LayerNormLSTM(8, dropout=0.1, recurrent_dropout=0.1)
    model = keras.Sequential([keras.Input(shape=(6, 3)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert isinstance(layer.cell, keras.layers.LayerNormLSTMCell)
    assert list(layer.weights)[:3] == ["kernel", "recurrent_kernel", "bias"]
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    again.build((None, 6, 3))
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(x), layer(x))
