"""Conv1D: a filter bank slid along the time axis, as ONE matrix product over im2col patches.

    x: (B, n, C)    W: (k, C/g, F)    b: (F,)    stride s, dilation d, g groups
    padding: valid none; causal (k - 1) d zeros on the left; same: L = ceil(n / s) outputs,
             total = max((L - 1) s + (k - 1) d + 1 - n, 0) zeros, total // 2 of them on the left
    xp = pad(x)                                            (B, N, C)
    P[b, l, j, :] = xp[b, l s + j d, :]                    (B, L, k, C): `convolution.im2col`
    z[b, l, f] = sum_{j, c in group(f)} P[b, l, j, c] W[j, c, f] + b[f]
               = P2 W2 + b   with P2 (B L, k C), W2 (k C, F)            (per group for g > 1)
    y = act(z)

    dz = act'(z or y) * dy
    dW2 = P2^T dz                       (from z = P2 W2: ONE matrix product over all B L rows)
    db = sum dz                         (from z = ... + b)
    dP2 = dz W2^T                       (from z = P2 W2)
    dxp[b, l s + j d, :] += dP[b, l, j, :]   (`convolution.col2im`: k strided adds)
    dx = dxp without the padding        (from xp = pad(x))
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.convolution import Geometry, col2im, im2col, padding_amounts


def output_length(n, kernel_size, strides, padding, dilation_rate):
    """The output length for n input steps (None stays None)."""
    if n is None:
        return None
    return padding_amounts(n, kernel_size, strides, padding, dilation_rate)[2]


def _grouped(matrix_rows, kernel, groups):
    """P2 (R, k, C) and W (k, C/g, F) -> per-group operands (g, R, k C/g) and (g, k C/g, F/g)."""
    rows, k, channels = matrix_rows.shape
    cg, filters = channels // groups, kernel.shape[2]
    p = matrix_rows.reshape(rows, k, groups, cg).transpose(2, 0, 1, 3).reshape(groups, rows, k * cg)
    fg = filters // groups
    w = kernel.reshape(k, cg, groups, fg).transpose(2, 0, 1, 3).reshape(groups, k * cg, fg)
    return p, w


def conv1d_forward(x, kernel, bias, strides=1, padding="valid", dilation_rate=1, groups=1, activation="linear",
                   training=False):
    """Returns (y, cache or None). x: (B, n, C), kernel: (k, C/groups, F), bias: (F,) or None."""
    batch, n, channels = x.shape
    k, _, filters = kernel.shape
    geometry = Geometry((n,), (k,), (strides,), padding, (dilation_rate,))
    length = geometry.out[0]
    if length <= 0:
        raise ValueError(f"Conv1D needs at least {(k - 1) * dilation_rate + 1} input steps with padding "
                         f"{padding!r}. Received: an input of {n} steps")
    rows = im2col(x, geometry).reshape(batch * length, k, channels)
    if groups == 1:
        z = np.dot(rows.reshape(batch * length, k * channels), kernel.reshape(k * channels, filters))
    else:
        p, w = _grouped(rows, kernel, groups)
        z = np.matmul(p, w).transpose(1, 0, 2).reshape(batch * length, filters)
    if bias is not None:
        z += bias
    y, kept = activations.forward_for_training(activation, z) if training else (activations.apply(activation, z), None)
    y = y.reshape(batch, length, filters)
    if not training:
        return y, None
    return y, (rows, kept, y, geometry)


def conv1d_backward(dy, cache, kernel, strides=1, dilation_rate=1, groups=1, activation="linear", use_bias=True,
                    need_dx=True):
    """Returns (dx or None, {"kernel": dW, "bias": db}) for the forward above."""
    rows, kept, y, geometry = cache
    batch, length, filters = y.shape
    _, k, channels = rows.shape
    dz = activations.backward(activation, y.reshape(-1, filters), dy.reshape(-1, filters), kept)
    if groups == 1:
        grads = {"kernel": np.dot(rows.reshape(-1, k * channels).T, dz).reshape(kernel.shape)}
    else:
        p, w = _grouped(rows, kernel, groups)
        dzg = dz.reshape(-1, groups, filters // groups).transpose(1, 0, 2)           # (g, R, F/g)
        dw = np.matmul(p.transpose(0, 2, 1), dzg)                                     # (g, k C/g, F/g)
        cg = channels // groups
        grads = {"kernel": dw.reshape(groups, k, cg, filters // groups).transpose(1, 2, 0, 3).reshape(kernel.shape)}
    if use_bias:
        grads["bias"] = dz.sum(axis=0)
    if not need_dx:
        return None, grads
    if groups == 1:
        d_rows = np.dot(dz, kernel.reshape(k * channels, filters).T).reshape(batch, length, k, channels)
    else:
        d_rows = np.matmul(dzg, w.transpose(0, 2, 1))                                # (g, R, k C/g)
        cg = channels // groups
        d_rows = d_rows.reshape(groups, batch, length, k, cg).transpose(1, 2, 3, 0, 4)
    return col2im(d_rows.reshape(batch * length, k * channels), batch, geometry), grads
