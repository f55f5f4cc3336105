"""1-D pooling along the time axis of (B, n, C) sequences, and global pooling over it.

    windows: p cells every s steps; padding valid: none; same: L = ceil(n / s) outputs and
             total = max((L - 1) s + p - n, 0) padding cells, total // 2 on the left
    W[b, l, c, j] = xp[b, l s + j, c]        (strided view of the padded input)
    max:     y = max_j W  over real cells (padding is -inf)     dW = dy [j = first j attaining the max]
    average: y = sum_j W / count_l, count_l = real cells under window l (padding not counted)
                                                                dW = dy / count_l
    dx[b, l s + j] += dW[b, l, :, j]         (from the strided view: p strided adds, one per cell)

    global max:     y[b, c] = max_t x[b, t, c]  (every step; a mask is ignored)   dx = dy [t = argmax]
    global average: y[b, c] = sum_t m[b, t] x[b, t, c] / sum_t m[b, t]   (m = 1 without a mask)
                    dx[b, t, c] = dy[b, c] m[b, t] / sum_t m[b, t]
"""

import math

import numpy as np


def padding_amounts(n, pool_size, strides, padding):
    """(left, right, output length) for n input steps."""
    if padding == "same":
        length = math.ceil(n / strides)
        total = max((length - 1) * strides + pool_size - n, 0)
        return total // 2, total - total // 2, length
    return 0, 0, max((n - pool_size) // strides + 1, 0)


def output_length(n, pool_size, strides, padding):
    return None if n is None else padding_amounts(n, pool_size, strides, padding)[2]


def _windows(xp, pool_size, strides, length):
    """(B, L, C, p) view: W[b, l, :, j] = xp[b, l s + j]."""
    sb, sn, sc = xp.strides
    return np.lib.stride_tricks.as_strided(xp, shape=(xp.shape[0], length, xp.shape[2], pool_size),
                                           strides=(sb, sn * strides, sc, sn), writeable=False)


def pool1d_forward(x, pool_size, strides, padding, mode, training=False):
    """Returns (y, cache or None); mode "max" or "average"."""
    batch, n, channels = x.shape
    left, right, length = padding_amounts(n, pool_size, strides, padding)
    if length <= 0:
        raise ValueError(f"Pooling needs at least {pool_size} input steps with padding {padding!r}. "
                         f"Received: an input of {n} steps")
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill) if left or right else x
    if mode == "max":
        # One pass per window cell over (B, L, C) strided slices: an argmax along the window axis
        # of the strided view walks it element by element (7 ms of a 21 ms CNN-LSTM forward).
        end = (length - 1) * strides + 1
        y = xp[:, 0:end:strides].copy()
        where = np.zeros(y.shape, np.int8 if pool_size <= 127 else np.int32) if training else None
        for j in range(1, pool_size):
            cell = xp[:, j:j + end:strides]
            if training:
                np.copyto(where, j, where=cell > y)      # strictly greater: the first maximum wins
            np.maximum(y, cell, out=y)
        return y, ((where, xp.shape, left, n) if training else None)
    windows = _windows(xp, pool_size, strides, length)
    real = np.zeros(n + left + right, dtype=x.dtype)
    real[left:left + n] = 1.0
    count = _windows(real.reshape(1, -1, 1), pool_size, strides, length).sum(axis=-1)  # (1, L, 1)
    y = windows.sum(axis=-1) / count
    return y, ((count, xp.shape, left, n) if training else None)


def pool1d_backward(dy, cache, pool_size, strides, mode):
    """dx for the forward above."""
    info, padded_shape, left, n = cache
    length = dy.shape[1]
    dxp = np.zeros(padded_shape, dtype=dy.dtype)
    end = (length - 1) * strides + 1
    if mode == "max":
        for j in range(pool_size):
            dxp[:, j:j + end:strides] += np.where(info == j, dy, 0.0)
    else:
        share = dy / info
        for j in range(pool_size):
            dxp[:, j:j + end:strides] += share
    return dxp[:, left:left + n]


def global_max_forward(x, training=False):
    where = x.argmax(axis=1)                                                 # (B, C)
    y = np.take_along_axis(x, where[:, None, :], axis=1)[:, 0]
    return y, ((where, x.shape) if training else None)


def global_max_backward(dy, cache):
    where, shape = cache
    dx = np.zeros(shape, dtype=dy.dtype)
    np.put_along_axis(dx, where[:, None, :], dy[:, None, :], axis=1)
    return dx


def global_average_forward(x, mask=None, training=False):
    if mask is None:
        weights = np.full(x.shape[:2], 1.0 / x.shape[1], dtype=x.dtype)
    else:
        m = np.asarray(mask, dtype=x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):    # an all-masked row gives NaN, as in Keras
            weights = m / m.sum(axis=1, keepdims=True)
    y = np.einsum("btc,bt->bc", x, weights)
    return y, (weights if training else None)


def global_average_backward(dy, weights):
    return weights[:, :, None] * dy[:, None, :]
