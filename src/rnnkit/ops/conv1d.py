"""Conv1D: a filter bank slid along the time axis, as ONE matrix product over im2col patches.

    x: (B, n, C)    W: (k, C/g, F)    b: (F,)    stride s, dilation d, g groups
    padding: valid none; causal (k - 1) d zeros on the left; same: L = ceil(n / s) outputs,
             total = max((L - 1) s + (k - 1) d + 1 - n, 0) zeros, total // 2 of them on the left
    xp = pad(x)                                            (B, N, C)
    P[b, l, j, :] = xp[b, l s + j d, :]                    (B, L, k, C): `convolution.im2col`
    z[b, l, f] = sum_{j, c in group(f)} P[b, l, j, c] W[j, c, f] + b[f]
               = P2 W2 + b   with P2 (B L, k C), W2 (k C, F)            (per group for g > 1)
    y = act(z)

    stride 1: z = sum_j (xp W[j])[b, l + j d]  (`_by_taps`: ONE product with every tap's weights,
              k shifted adds), and the backward per tap (`_backward_by_taps`): P2 is never built

    dz = act'(z or y) * dy
    dW2 = P2^T dz                       (from z = P2 W2: ONE matrix product over all B L rows)
    db = sum dz                         (from z = ... + b)
    dP2 = dz W2^T                       (from z = P2 W2)
    dxp[b, l s + j d, :] += dP[b, l, j, :]   (`convolution.col2im`: k strided adds)
    dx = dxp without the padding        (from xp = pad(x))

SeparableConv1D: a depthwise convolution (each input channel c through its own dm filters
D[:, c, m], output channel c dm + m: Conv1D with groups = C and kernel D reshaped (k, 1, C dm)),
then a pointwise (1 x 1) one, P (1, C dm, F):
    u = conv(x, D)               z = u P + b         y = act(z)
    dP = u^T dz,  db = sum dz,  du = dz P^T          (from z = u P + b)
    dD, dx = the grouped Conv1D backward of du       (from u = conv(x, D))

Conv1DTranspose: the adjoint of a Conv1D from the output's length n_out to the input's n:
kernel K (k, F, C) maps F channels to C in that Conv1D, whose geometry (padding_amounts(n_out,
...)) must give n outputs; then (with x2 = x as (B n, C) rows)
    y = col2im(x2 K2^T) + b      K2 = K as (k F, C)          (the Conv1D's dx line, forward)
    n_out = n s + max(k_eff - s, 0) ('valid'), n s ('same'), or
            (n - 1) s + k_eff - 2 pad + output_padding,  pad = 0 ('valid') or k_eff // 2 ('same')
    dx2 = im2col(dz) K2,  dK2 = im2col(dz)^T x2,  db = sum dz     (from y = col2im(x2 K2^T) + b)
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.convolution import Geometry, col2im, im2col, pad_input, padding_amounts


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
    rows = xp = None            # stride 1 sums taps over the padded input, forward and backward
    if groups == 1 and strides == 1:
        xp = pad_input(x, geometry)
        z = _by_taps(xp, kernel, geometry)
    else:
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
    return y, (rows, xp, kept, y, geometry)


def _by_taps(xp, kernel, geometry):
    """z = P2 W2 for stride 1 without P2 (k copies of the input): Y = xp W_all, ONE product of the
    padded input with every tap's weights side by side ((B N, C) x (C, k F)), then
    z[b, l] = sum_j Y[b, l + j d, j]: k shifted adds. Same sums, other order (float rounding)."""
    k, channels, filters = kernel.shape
    batch, padded = xp.shape[0], xp.shape[1]
    length, dilation = geometry.out[0], geometry.dilation_rate[0]
    taps = np.dot(xp.reshape(batch * padded, channels), kernel.transpose(1, 0, 2).reshape(channels, k * filters))
    taps = taps.reshape(batch, padded, k, filters)
    z = taps[:, 0:length, 0].copy()
    for j in range(1, k):
        z += taps[:, j * dilation:j * dilation + length, j]
    return z.reshape(batch * length, filters)


def _backward_by_taps(dz, xp, kernel, geometry, need_dx):
    """dW and dx of `_by_taps`, one tap at a time, so that no (B L, k C) array is ever held (the
    patch rows are 5x the input of a 5-tap kernel: 18 MiB of a CNN-LSTM's training step):
    dW[j] = xp[:, j d : j d + L]^T dz  and  dxp[:, j d : j d + L] += dz W[j]^T."""
    k, channels, filters = kernel.shape
    batch, length, dilation = xp.shape[0], geometry.out[0], geometry.dilation_rate[0]
    d_kernel = np.empty_like(kernel)
    dxp = np.zeros(xp.shape, dz.dtype) if need_dx else None
    rows = np.empty((batch, length, channels), xp.dtype)     # one tap's rows at a time (tensordot: 2.5x slower)
    for j in range(k):
        window = slice(j * dilation, j * dilation + length)
        np.copyto(rows, xp[:, window])
        d_kernel[j] = np.dot(rows.reshape(batch * length, channels).T, dz)
        if need_dx:
            dxp[:, window] += np.dot(dz, kernel[j].T).reshape(batch, length, channels)
    (left, _), = geometry.pads
    dx = dxp[:, left:left + geometry.spatial[0]] if need_dx else None
    return dx, {"kernel": d_kernel}


def conv1d_backward(dy, cache, kernel, strides=1, dilation_rate=1, groups=1, activation="linear", use_bias=True,
                    need_dx=True):
    """Returns (dx or None, {"kernel": dW, "bias": db}) for the forward above."""
    rows, xp, kept, y, geometry = cache
    batch, length, filters = y.shape
    dz = activations.backward(activation, y.reshape(-1, filters), dy.reshape(-1, filters), kept)
    if rows is None:            # the forward summed taps (stride 1): so does the backward
        dx, grads = _backward_by_taps(dz, xp, kernel, geometry, need_dx)
        if use_bias:
            grads["bias"] = dz.sum(axis=0)
        return dx, grads
    _, k, channels = rows.shape
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


def separable_conv1d_forward(x, depthwise_kernel, pointwise_kernel, bias, strides=1, padding="valid",
                             dilation_rate=1, activation="linear", training=False):
    """Returns (y, cache or None). depthwise_kernel (k, C, dm), pointwise_kernel (1, C dm, F)."""
    k, channels, multiplier = depthwise_kernel.shape
    depthwise = depthwise_kernel.reshape(k, 1, channels * multiplier)
    u, u_cache = conv1d_forward(x, depthwise, None, strides, padding, dilation_rate, channels, "linear", training)
    batch, length, width = u.shape
    pointwise = pointwise_kernel.reshape(width, -1)
    z = np.dot(u.reshape(-1, width), pointwise)
    if bias is not None:
        z += bias
    y, kept = activations.forward_for_training(activation, z) if training else (activations.apply(activation, z), None)
    y = y.reshape(batch, length, -1)
    return y, ((u, u_cache, kept, y) if training else None)


def separable_conv1d_backward(dy, cache, depthwise_kernel, pointwise_kernel, strides=1, dilation_rate=1,
                              activation="linear", use_bias=True, need_dx=True):
    """Returns (dx or None, {"depthwise_kernel", "pointwise_kernel"[, "bias"]: gradient})."""
    u, u_cache, kept, y = cache
    k, channels, multiplier = depthwise_kernel.shape
    width, filters = u.shape[-1], y.shape[-1]
    dz = activations.backward(activation, y.reshape(-1, filters), dy.reshape(-1, filters), kept)
    u2 = u.reshape(-1, width)
    grads = {"pointwise_kernel": np.dot(u2.T, dz).reshape(pointwise_kernel.shape)}
    du = np.dot(dz, pointwise_kernel.reshape(width, filters).T).reshape(u.shape)
    dx, depthwise_grads = conv1d_backward(du, u_cache, depthwise_kernel.reshape(k, 1, width), strides,
                                          dilation_rate, channels, "linear", False, need_dx)
    grads = {"depthwise_kernel": depthwise_grads["kernel"].reshape(depthwise_kernel.shape), **grads}
    if use_bias:
        grads["bias"] = dz.sum(axis=0)
    return dx, grads


def transposed_length(n, kernel_size, strides, padding, dilation_rate, output_padding=None):
    """Keras's output length of Conv1DTranspose for n input steps (None stays None)."""
    if n is None:
        return None
    span = (kernel_size - 1) * dilation_rate + 1
    if output_padding is None:
        return n * strides + max(span - strides, 0) if padding == "valid" else n * strides
    pad = 0 if padding == "valid" else span // 2
    return (n - 1) * strides + span - 2 * pad + output_padding


def conv1d_transpose_forward(x, kernel, bias, strides=1, padding="valid", dilation_rate=1, output_padding=None,
                             activation="linear", training=False):
    """Returns (y, cache or None). x: (B, n, C), kernel: (k, F, C), bias: (F,) or None."""
    batch, n, channels = x.shape
    k, filters, _ = kernel.shape
    n_out = transposed_length(n, k, strides, padding, dilation_rate, output_padding)
    geometry = Geometry((n_out,), (k,), (strides,), padding, (dilation_rate,))
    if geometry.out[0] != n:
        raise ValueError(f"Conv1DTranspose: output_padding={output_padding} gives {n_out} output steps, whose "
                         f"convolution does not come back to {n}. Received: strides={strides}, padding={padding!r}")
    x2 = x.reshape(batch * n, channels)
    z = col2im(np.dot(x2, kernel.reshape(k * filters, channels).T), batch, geometry).reshape(-1, filters)
    if bias is not None:
        z += bias
    y, kept = activations.forward_for_training(activation, z) if training else (activations.apply(activation, z), None)
    y = y.reshape(batch, n_out, filters)
    return y, ((x2, geometry, kept, y) if training else None)


def conv1d_transpose_backward(dy, cache, kernel, activation="linear", use_bias=True, need_dx=True):
    """Returns (dx or None, {"kernel": dK, "bias": db})."""
    x2, geometry, kept, y = cache
    batch, n_out, filters = y.shape
    k, _, channels = kernel.shape
    dz = activations.backward(activation, y.reshape(-1, filters), dy.reshape(-1, filters), kept)
    rows = im2col(dz.reshape(batch, n_out, filters), geometry)                       # (B n, k F)
    grads = {"kernel": np.dot(rows.T, x2).reshape(kernel.shape)}
    if use_bias:
        grads["bias"] = dz.sum(axis=0)
    dx = np.dot(rows, kernel.reshape(k * filters, channels)).reshape(batch, -1, channels) if need_dx else None
    return dx, grads
