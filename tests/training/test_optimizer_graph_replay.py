"""Nadam and Adamax replayed against tf_keras on two train_graph runs whose models hold layers
rnnkit lacks. The recurrent part runs in rnnkit (a Sequential, through the model's own forward
and backward); the rest (LayerNormalization + GlobalAveragePooling1D + Dense; causal dilated
Conv1D + MaxPooling1D + strided 'same' Conv1D) is written here in NumPy with its backward, the
semantics as `fixtures/README.md` states them. Every weight, recurrent or not, is updated by
rnnkit's optimizer built from the recorded JSON config, so the recorded per-step losses and
final weights pin the optimizers' update rules end to end (1e-4 relative, float32)."""

import json

import numpy as np

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.layers import GRU, LSTM, Dense, Dropout, Input
from rnnkit.models import Sequential

FOLDER = FIXTURES / "train_graph"


def load(name):
    spec = json.loads((FOLDER / f"{name}.json").read_text())
    data = np.load(FOLDER / f"{name}.npz")
    w0 = [data[f"w0_{i}"].copy() for i in range(len(spec["weight_shapes"]))]
    return spec, data, w0


def check(spec, data, weights, losses):
    np.testing.assert_allclose(losses, data["losses"], rtol=1e-4)
    np.testing.assert_allclose(losses, data["results"][:, 0], rtol=1e-4)
    for i, w in enumerate(weights):
        expected = data[f"w1_{i}"]
        np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), err_msg=f"w1_{i}")


def test_adamax_on_gru_layernorm_pooling_dense():
    spec, data, w0 = load("gru_layernorm_adamax")
    x, y = data["x0"], data["y0"]
    rnn = Sequential([Input(shape=x.shape[1:]), GRU(6, return_sequences=True)])
    rnn.set_weights(w0[:3])
    gamma, beta, kernel, bias = w0[3:]
    optimizer = optimizers.get(spec["optimizer"])
    assert isinstance(optimizer, optimizers.Adamax)
    losses = []
    for _ in range(spec["steps"]):
        h = rnn._forward(x, training=True)                                  # (B, T, H)
        mean = h.mean(-1, keepdims=True)
        std = np.sqrt(h.var(-1, keepdims=True) + 1e-3)
        xhat = (h - mean) / std
        pooled = (xhat * gamma + beta).mean(axis=1)                         # (B, H)
        out = pooled @ kernel + bias
        losses.append(float(np.mean((out - y) ** 2)))
        d_out = 2 * (out - y) / out.size
        d_kernel, d_bias = pooled.T @ d_out, d_out.sum(0)
        d_z = np.repeat((d_out @ kernel.T)[:, None, :] / h.shape[1], h.shape[1], axis=1)
        d_gamma, d_beta = (d_z * xhat).sum((0, 1)), d_z.sum((0, 1))
        d_xhat = d_z * gamma
        d_h = (d_xhat - d_xhat.mean(-1, keepdims=True) - xhat * (d_xhat * xhat).mean(-1, keepdims=True)) / std
        rnn._backward(d_h.astype(np.float32))
        pairs = rnn._trainable_pairs() + [(d_gamma, gamma), (d_beta, beta), (d_kernel, kernel), (d_bias, bias)]
        optimizer.apply_gradients(pairs)
    check(spec, data, rnn.get_weights() + [gamma, beta, kernel, bias], losses)


def conv1d(x, kernel, bias, stride, dilation, pad_left, pad_right):
    """Returns the output and what the backward needs: y[t] = sum_k xp[t*s + k*d] W[k] + b."""
    xp = np.pad(x, ((0, 0), (pad_left, pad_right), (0, 0)))
    taps = kernel.shape[0]
    length = (xp.shape[1] - (taps - 1) * dilation - 1) // stride + 1
    index = [np.arange(length) * stride + k * dilation for k in range(taps)]
    y = sum(xp[:, index[k]] @ kernel[k] for k in range(taps)) + bias
    return y, (xp, index)


def conv1d_backward(d_y, kernel, saved, pad_left, length):
    xp, index = saved
    d_kernel = np.stack([np.einsum("btc,btf->cf", xp[:, index[k]], d_y) for k in range(kernel.shape[0])])
    d_xp = np.zeros_like(xp)
    for k in range(kernel.shape[0]):
        np.add.at(d_xp, (slice(None), index[k]), d_y @ kernel[k].T)
    return d_xp[:, pad_left:pad_left + length], d_kernel, d_y.sum((0, 1))


def test_nadam_on_causal_conv_maxpool_strided_conv_lstm_dense():
    spec, data, w0 = load("conv1d_maxpool_lstm_nadam")
    x, y = data["x0"], data["y0"]
    k1, b1, k2, b2 = w0[:4]
    # Dropout(0) first: the model's backward then hands back dL/d(LSTM input), which the convs need.
    rnn = Sequential([Input(shape=(4, 6)), Dropout(0.0), LSTM(6), Dense(1)])
    rnn.set_weights(w0[4:])
    optimizer = optimizers.get(spec["optimizer"])
    assert isinstance(optimizer, optimizers.Nadam)
    losses = []
    for _ in range(spec["steps"]):
        a, saved1 = conv1d(x, k1, b1, 1, 2, 4, 0)                            # causal: (3 - 1) * 2 on the left
        r = np.maximum(a, 0)                                                 # (B, 16, 6)
        windows = r.reshape(r.shape[0], 8, 2, 6)
        p = windows.max(axis=2)                                              # MaxPooling1D(2)
        c, saved2 = conv1d(p, k2, b2, 2, 1, 0, 1)                            # same, stride 2: 8 -> 4, pad (0, 1)
        out = rnn._forward(c.astype(np.float32), training=True)
        losses.append(float(np.mean((out - y) ** 2)))
        d_c = rnn._backward((2 * (out - y) / out.size).astype(np.float32))
        d_p, d_k2, d_b2 = conv1d_backward(d_c, k2, saved2, 0, 8)
        first = (windows == p[:, :, None, :]) & (np.cumsum(windows == p[:, :, None, :], axis=2) == 1)
        d_r = (first * d_p[:, :, None, :]).reshape(r.shape)
        d_a = d_r * (a > 0)
        _, d_k1, d_b1 = conv1d_backward(d_a, k1, saved1, 4, 16)
        pairs = [(d_k1, k1), (d_b1, b1), (d_k2, k2), (d_b2, b2)] + rnn._trainable_pairs()
        optimizer.apply_gradients(pairs)
    check(spec, data, [k1, b1, k2, b2] + rnn.get_weights(), losses)
