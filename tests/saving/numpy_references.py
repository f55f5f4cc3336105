"""Independent float64 forward passes, written from the documented equations (no rnnkit code):
Keras's LSTM / GRU (weights in Keras's layout) and NVIDIA cuDNN's LSTM / GRU (weights as Keras 2's
CuDNNLSTM / CuDNNGRU layers stored them and handed them to cuDNN)."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def hard_sigmoid_keras2(z):
    return np.clip(0.2 * z + 0.5, 0.0, 1.0)


def hard_sigmoid_keras3(z):
    return np.minimum(np.maximum(z + 3.0, 0.0), 6.0) / 6.0


def keras_lstm(x, kernel, recurrent_kernel, bias, ra=sigmoid, go_backwards=False, return_sequences=False):
    """Keras's LSTM, gates i, f, c, o: kernel (D, 4H), recurrent (H, 4H), bias (4H,)."""
    x = np.asarray(x, np.float64)[:, ::-1] if go_backwards else np.asarray(x, np.float64)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h, c, outs = np.zeros((B, H)), np.zeros((B, H)), []
    for t in range(T):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = ra(z[:, :H]), ra(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), ra(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1) if return_sequences else h


def keras_gru(x, kernel, recurrent_kernel, bias, reset_after, ra=sigmoid, go_backwards=False,
              return_sequences=False):
    """Keras's GRU, gates z, r, h: bias (2, 3H) when reset_after, else (3H,)."""
    x = np.asarray(x, np.float64)[:, ::-1] if go_backwards else np.asarray(x, np.float64)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h, outs = np.zeros((B, H)), []
    for t in range(T):
        if reset_after:
            xw = x[:, t] @ kernel + bias[0]
            hu = h @ recurrent_kernel + bias[1]
            z, r = ra(xw[:, :H] + hu[:, :H]), ra(xw[:, H:2 * H] + hu[:, H:2 * H])
            hh = np.tanh(xw[:, 2 * H:] + r * hu[:, 2 * H:])
        else:
            xw = x[:, t] @ kernel + bias
            z = ra(xw[:, :H] + h @ recurrent_kernel[:, :H])
            r = ra(xw[:, H:2 * H] + h @ recurrent_kernel[:, H:2 * H])
            hh = np.tanh(xw[:, 2 * H:] + (r * h) @ recurrent_kernel[:, 2 * H:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1) if return_sequences else h


# ---- cuDNN ----------------------------------------------------------------------------------------
# Keras 2's CuDNNLSTM kept kernel (D, 4H), recurrent_kernel (H, 4H), bias (8H,) and called cuDNN with
# the flat parameter buffer made by `_canonical_to_params`: each gate's slice kernel[:, g] flattened
# row by row (C order) becomes cuDNN's W_g, an (H, D) matrix applied as W_g x (cuDNN's matrices are
# (output, input)); recurrent slices likewise give R_g (H, H); the bias is [b_W of every gate, b_R of
# every gate]. CuDNNGRU passed its gates to cuDNN in cuDNN's order r, z, h (Keras's own is z, r, h).
def _cudnn_matrix(block, rows):
    return np.asarray(block, np.float64).ravel(order="C").reshape(rows, -1)


def cudnn_lstm(x, kernel, recurrent_kernel, bias, return_sequences=False):
    """cuDNN's LSTM (CUDNN_LSTM mode), column vectors:
        i = s(W_i x + R_i h + bW_i + bR_i)   f = s(W_f x + R_f h + bW_f + bR_f)
        o = s(W_o x + R_o h + bW_o + bR_o)   c' = tanh(W_c x + R_c h + bW_c + bR_c)
        c = f * c + i * c'                   h = o * tanh(c)"""
    H = recurrent_kernel.shape[0]
    gates = "ifco"
    W = {g: _cudnn_matrix(kernel[:, k * H:(k + 1) * H], H) for k, g in enumerate(gates)}
    R = {g: _cudnn_matrix(recurrent_kernel[:, k * H:(k + 1) * H], H) for k, g in enumerate(gates)}
    bW = {g: bias[k * H:(k + 1) * H] for k, g in enumerate(gates)}
    bR = {g: bias[(4 + k) * H:(5 + k) * H] for k, g in enumerate(gates)}
    x = np.asarray(x, np.float64)
    B, T, _ = x.shape
    outs, h, c = [], np.zeros((H, B)), np.zeros((H, B))
    for t in range(T):
        xt = x[:, t].T
        pre = {g: W[g] @ xt + R[g] @ h + (bW[g] + bR[g])[:, None] for g in gates}
        i, f, o, cc = sigmoid(pre["i"]), sigmoid(pre["f"]), sigmoid(pre["o"]), np.tanh(pre["c"])
        c = f * c + i * cc
        h = o * np.tanh(c)
        outs.append(h.T)
    return np.stack(outs, 1) if return_sequences else h.T


def cudnn_gru(x, kernel, recurrent_kernel, bias, return_sequences=False):
    """cuDNN's GRU (CUDNN_GRU mode), column vectors:
        r = s(W_r x + R_r h + bW_r + bR_r)   u = s(W_u x + R_u h + bW_u + bR_u)
        h' = tanh(W_h x + bW_h + r * (R_h h + bR_h))       h = (1 - u) * h' + u * h"""
    H = recurrent_kernel.shape[0]
    keras_gates = "zrh"   # Keras's slices of kernel / bias; cuDNN's update gate u is Keras's z
    W = {g: _cudnn_matrix(kernel[:, k * H:(k + 1) * H], H) for k, g in enumerate(keras_gates)}
    R = {g: _cudnn_matrix(recurrent_kernel[:, k * H:(k + 1) * H], H) for k, g in enumerate(keras_gates)}
    bW = {g: bias[k * H:(k + 1) * H][:, None] for k, g in enumerate(keras_gates)}
    bR = {g: bias[(3 + k) * H:(4 + k) * H][:, None] for k, g in enumerate(keras_gates)}
    x = np.asarray(x, np.float64)
    B, T, _ = x.shape
    outs, h = [], np.zeros((H, B))
    for t in range(T):
        xt = x[:, t].T
        r = sigmoid(W["r"] @ xt + R["r"] @ h + bW["r"] + bR["r"])
        u = sigmoid(W["z"] @ xt + R["z"] @ h + bW["z"] + bR["z"])
        hh = np.tanh(W["h"] @ xt + bW["h"] + r * (R["h"] @ h + bR["h"]))
        h = (1 - u) * hh + u * h
        outs.append(h.T)
    return np.stack(outs, 1) if return_sequences else h.T
