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


# ---- BPTT against an independent reference written here: the literal step and its backward -----------
def _ln_stats(a, eps=1e-3):
    r = 1.0 / np.sqrt(a.var(axis=1, keepdims=True) + eps)
    return (a - a.mean(axis=1, keepdims=True)) * r, r


def _ln_back(d_hat, hat, r):            # d/da of hat(a) given dL/dhat, batch-major rows
    return r * (d_hat - d_hat.mean(axis=1, keepdims=True) - hat * (d_hat * hat).mean(axis=1, keepdims=True))


def reference_bptt(w, x, h0, c0, mask, go_backwards, m_x, m_h, d_outputs, d_h, d_c):
    """Forward with every intermediate kept, then the chain rule step by step, in float64,
    sigmoid/tanh only: returns (dx, dh0, dc0, {weight: gradient})."""
    B, T, _ = x.shape
    order = list(range(T - 1, -1, -1)) if go_backwards else list(range(T))
    h, c, steps = h0, c0, []
    for t in order:
        x_t = x[:, t] * m_x
        a_hat, a_r = _ln_stats(x_t @ w["kernel"])
        u_hat, u_r = _ln_stats((h * m_h) @ w["recurrent_kernel"])
        z = (w["kernel_norm_gamma"] * a_hat + w["kernel_norm_beta"] + w["recurrent_norm_gamma"] * u_hat
             + w["recurrent_norm_beta"] + w["bias"])
        i, f, g, o = np.split(z, 4, axis=1)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        c_new = f * c + i * g
        c_hat, c_r = _ln_stats(c_new)
        tn = np.tanh(w["state_norm_gamma"] * c_hat + w["state_norm_beta"])
        k = mask[:, t, None].astype(float)
        steps.append(dict(t=t, x_t=x_t, h=h, c=c, a_hat=a_hat, a_r=a_r, u_hat=u_hat, u_r=u_r, i=i, f=f, g=g, o=o,
                          c_hat=c_hat, c_r=c_r, tn=tn, k=k))
        h, c = k * (o * tn) + (1 - k) * h, k * c_new + (1 - k) * c
    grads = {name: np.zeros_like(value) for name, value in w.items()}
    dx = np.zeros_like(x)
    dh, dc = d_h.copy(), d_c.copy()
    for s in reversed(steps):
        dh = dh + d_outputs[:, s["t"]]
        k = s["k"]
        dh_own, dc_own = dh * k, dc * k                     # a masked step passes dh, dc on unchanged
        i, f, g, o, tn = s["i"], s["f"], s["g"], s["o"], s["tn"]
        do = dh_own * tn
        dn = dh_own * o * (1 - tn ** 2)
        grads["state_norm_gamma"] += (dn * s["c_hat"]).sum(axis=0)
        grads["state_norm_beta"] += dn.sum(axis=0)
        dc_new = dc_own + _ln_back(dn * w["state_norm_gamma"], s["c_hat"], s["c_r"])
        dz = np.concatenate([dc_new * g * i * (1 - i), dc_new * s["c"] * f * (1 - f), dc_new * i * (1 - g ** 2),
                             do * o * (1 - o)], axis=1)
        grads["bias"] += dz.sum(axis=0)
        grads["recurrent_norm_beta"] += dz.sum(axis=0)
        grads["kernel_norm_beta"] += dz.sum(axis=0)
        grads["recurrent_norm_gamma"] += (dz * s["u_hat"]).sum(axis=0)
        grads["kernel_norm_gamma"] += (dz * s["a_hat"]).sum(axis=0)
        du = _ln_back(dz * w["recurrent_norm_gamma"], s["u_hat"], s["u_r"])
        da = _ln_back(dz * w["kernel_norm_gamma"], s["a_hat"], s["a_r"])
        grads["recurrent_kernel"] += (s["h"] * m_h).T @ du
        grads["kernel"] += s["x_t"].T @ da
        dx[:, s["t"]] = (da @ w["kernel"].T) * m_x
        dh = (du @ w["recurrent_kernel"].T) * m_h + dh * (1 - k)
        dc = dc_new * f + dc * (1 - k)
    return dx, dh, dc, grads


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
def test_bptt_equals_an_independent_reference_loop(go_backwards, masked, dropout):
    from test_cell_gradients import setup
    from rnnkit.ops import scaffold
    B, T, D = 3, 5, 4
    cell, w, x, states, m_x, m_h = setup(CASE, B=B, T=T, D=D, dropout=dropout, seed=11)
    rng = np.random.default_rng(12)
    for name in w:                               # gammas and betas away from their initial 1 and 0
        if "norm" in name:
            w[name] = w[name] + rng.normal(size=w[name].shape) * 0.3
    mask = (rng.random((B, T)) > 0.35) if masked else np.ones((B, T), bool)
    d_outputs, d_h, d_c = rng.normal(size=(B, T, 2)), rng.normal(size=(B, 2)), rng.normal(size=(B, 2))
    outputs, _, cache = scaffold.forward(cell, w, x, states, mask if masked else None, go_backwards,
                                         input_dropout_mask=m_x, recurrent_dropout_mask=m_h, keep_cache=True,
                                         workspace={})
    ordered = d_outputs[:, ::-1] if go_backwards else d_outputs   # outputs come in processing order
    dx, (dh0, dc0), grads = scaffold.backward(ordered, [d_h, d_c], cache)
    ones = np.ones((B, D)), np.ones((B, 2))
    ref_dx, ref_dh0, ref_dc0, ref_grads = reference_bptt(
        w, x, states[0], states[1], mask, go_backwards, ones[0] if m_x is None else m_x,
        ones[1] if m_h is None else m_h, d_outputs, d_h, d_c)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, ref_dh0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dc0, ref_dc0, rtol=1e-10, atol=1e-12)
    assert set(grads) == set(ref_grads)
    for name in grads:
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=1e-10, atol=1e-12, err_msg=name)
