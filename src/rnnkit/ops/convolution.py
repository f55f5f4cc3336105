"""N-d convolution, channels last, as ONE matrix product over im2col patches (strided views).

    x: (B, n_1..n_N, C)    W: (k_1..k_N, C, F)    per axis a: stride s_a, dilation d_a
    padding per axis as `padding_amounts` (valid / same / causal): xp = pad(x), L_a outputs
    P[b, l_1..l_N, j_1..j_N, :] = xp[b, l_1 s_1 + j_1 d_1, ..., l_N s_N + j_N d_N, :]
                                                         (B, L.., k.., C): strided view, one copy
    z = P2 W2 (+ b)       P2 (B prod L, prod k C) rows, W2 (prod k C, F)      ONE matrix product

    dW2 = P2^T dz                                 (from z = P2 W2)
    dP2 = dz W2^T                                 (from z = P2 W2)
    dxp[b, l s + j d, :] += dP[b, l, j, :]        (from P = view of xp: one strided add per tap
                                                   j = (j_1..j_N), prod k of them, never per position)
    dx = dxp without the padding                  (from xp = pad(x))

`im2col` and `col2im` are the two halves every convolution here shares (Conv1D, ConvLSTM's input
and recurrent convolutions, Conv1DTranspose, which is col2im forward and im2col backward).
"""

import itertools
import math

import numpy as np


def padding_amounts(n, kernel_size, strides, padding, dilation_rate):
    """(left, right, output length) along one axis of n steps:
    valid: none; causal: (k - 1) d zeros on the left; same: L = ceil(n / s) outputs,
    total = max((L - 1) s + (k - 1) d + 1 - n, 0) zeros, total // 2 of them on the left."""
    span = (kernel_size - 1) * dilation_rate + 1
    if padding == "causal":
        left, right = (kernel_size - 1) * dilation_rate, 0
    elif padding == "same":
        length = math.ceil(n / strides)
        total = max((length - 1) * strides + span - n, 0)
        left, right = total // 2, total - total // 2
    else:
        left, right = 0, 0
    length = (n + left + right - span) // strides + 1
    return left, right, max(length, 0)


class Geometry:
    """Where one convolution reads: per axis (left pad, right pad, output length), kernel sizes,
    strides and dilations; `padded` and `out` are the padded input's and output's spatial shapes."""

    __slots__ = ("spatial", "kernel_size", "strides", "dilation_rate", "pads", "out", "padded")

    def __init__(self, spatial, kernel_size, strides, padding, dilation_rate):
        self.spatial, self.kernel_size = tuple(spatial), tuple(kernel_size)
        self.strides, self.dilation_rate = tuple(strides), tuple(dilation_rate)
        amounts = [padding_amounts(n, k, s, padding, d)
                   for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]
        self.pads = tuple((left, right) for left, right, _ in amounts)
        self.out = tuple(length for _, _, length in amounts)
        self.padded = tuple(n + left + right for n, (left, right) in zip(spatial, self.pads))

    @property
    def positions(self):
        return int(np.prod(self.out))

    @property
    def taps(self):
        return int(np.prod(self.kernel_size))


def output_shape(spatial, kernel_size, strides, padding, dilation_rate):
    """The output's spatial shape (None stays None)."""
    return tuple(None if n is None else padding_amounts(n, k, s, padding, d)[2]
                 for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate))


def pad_input(x, geometry):
    """xp: x (B, n.., C) with the geometry's zeros around its spatial axes (x itself without)."""
    if all(pads == (0, 0) for pads in geometry.pads):
        return x
    return np.pad(x, ((0, 0),) + geometry.pads + ((0, 0),))


def im2col(x, geometry):
    """(B prod L, prod k C) contiguous patch rows of x (B, n.., C): P2 above."""
    batch, channels = x.shape[0], x.shape[-1]
    x = pad_input(x, geometry)
    step = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, shape=(batch,) + geometry.out + geometry.kernel_size + (channels,),
        strides=(step[0],) + tuple(step[1 + a] * s for a, s in enumerate(geometry.strides))
        + tuple(step[1 + a] * d for a, d in enumerate(geometry.dilation_rate)) + (step[-1],),
        writeable=False)
    return np.ascontiguousarray(view).reshape(batch * geometry.positions, geometry.taps * channels)


def col2im(d_rows, batch, geometry):
    """dx (B, n.., C) from the patch rows' gradient (B prod L, prod k C): the adjoint of `im2col`."""
    channels = d_rows.shape[1] // geometry.taps
    d_patches = d_rows.reshape((batch,) + geometry.out + geometry.kernel_size + (channels,))
    dxp = np.zeros((batch,) + geometry.padded + (channels,), dtype=d_rows.dtype)
    rank = len(geometry.out)
    spatial_all = (slice(None),) * rank
    for tap in itertools.product(*(range(k) for k in geometry.kernel_size)):
        target = tuple(slice(j * d, j * d + (length - 1) * s + 1, s) for j, d, length, s in
                       zip(tap, geometry.dilation_rate, geometry.out, geometry.strides))
        dxp[(slice(None),) + target] += d_patches[(slice(None),) + spatial_all + tap]
    inside = tuple(slice(left, left + n) for (left, _), n in zip(geometry.pads, geometry.spatial))
    return dxp[(slice(None),) + inside]
