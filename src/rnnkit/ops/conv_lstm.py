"""ConvLSTM (Shi et al. 2015): the LSTM of ops/lstm.py with both of its products made convolutions.

Shapes: x (B, T, n.., C); kernel W (k.., C, 4F); recurrent kernel U (k.., F, 4F); b (4F,); the
states h, c (B, L.., F) where L.. is the input convolution's output grid. Gates i, f, c, o along
the last axis, as Keras. A step's rows r = (b, l..) are its R = B prod L grid positions.

Forward, for each step t in processing order:
    Zx_t = im2col(x_t m_x) W2 + b          ONE product for all steps (T R rows)              [x]
           (strides, padding, dilation_rate of the layer; `ops.convolution`)
    Zh_t = im2col_same(h_{t-1} m_h) U2      stride 1, 'same' padding, no dilation (Keras's)   [h]
    z_t  = Zx_t + Zh_t
    i = ra(z_i),  f = ra(z_f),  o = ra(z_o),  g = act(z_c)           (ra: recurrent_activation)
    c_t = f c_{t-1} + i g
    h_t = o act(c_t)                        (a masked sample keeps h_{t-1}, c_{t-1})
    output_t = h_t                          (masked: h_{t-1}, or 0 with zero_output_for_mask)

Backward, with gh = dL/doutput_t + dL/dh_t (from step t+1) and gc = dL/dc_t (from step t+1):
    dz_o = gh act(c_t) ra'(o)                                     (from h_t = o act(c_t))
    dc   = gc + gh o act'(c_t)                                    (from h_t = o act(c_t))
    dz_i = dc g ra'(i),  dz_c = dc i act'(g),  dz_f = dc c_{t-1} ra'(f)  (from c_t = f c_{t-1} + i g)
    dc_{t-1} = dc f                                               (masked sample: gc, dz = 0)
    dh_{t-1} = col2im_same(dz U2^T) m_h                           (from [h]; masked sample: gh)
    dU2 = sum_t im2col_same(h_{t-1} m_h)^T dz_t    ONE product after the loop     (from [h])
    dW2 = im2col(x m_x)^T dz,  db = sum dz          ONE product                    (from [x])
    dx  = col2im(dz W2^T) m_x                       ONE product, one scatter        (from [x])

Why not `ops.scaffold`: its steps are feature-major (F, B) blocks and its recurrent term the
product U^T h; here the recurrent term is a convolution over the grid, so the loop is its own,
kept to the scaffold's rules (one input projection; per step the recurrent product and the
elementwise work; each weight gradient one product after the loop).
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.activations import check_gradients_known
from rnnkit.ops.convolution import Geometry, col2im, im2col


class ConvLSTMCache:
    """What one forward keeps for its backward; used once."""

    __slots__ = ("x_shape", "geometry", "recurrent_geometry", "rows_x", "rows_h", "gates", "cells", "cell_acts",
                 "c0", "hold", "kernel", "recurrent_kernel", "activation", "recurrent_activation", "go_backwards",
                 "return_sequences", "zero_output_for_mask", "input_dropout_mask", "recurrent_dropout_mask",
                 "use_bias", "used")


def geometries(spatial, kernel_size, strides, padding, dilation_rate):
    """(input convolution's Geometry, recurrent convolution's Geometry) for an input grid `spatial`."""
    rank = len(spatial)
    geometry = Geometry(spatial, kernel_size, strides, padding, dilation_rate)
    recurrent = Geometry(geometry.out, kernel_size, (1,) * rank, "same", (1,) * rank)
    return geometry, recurrent


def _rows(state, positions):
    """(B, L.., F) -> (R, F) rows, R = B prod L."""
    return state.reshape(state.shape[0] * positions, state.shape[-1])


def _activate(z, F, activation, recurrent_activation):
    """Into z (R, 4F), Keras's gate order i, f, c, o: ra on i, f, o and act on c. Each gate block
    is activated as a contiguous copy: NumPy 2.4's in-place unary ufuncs (`np.negative(v, out=v)`)
    give wrong numbers on some strided column views (float32 with 4 columns, float64 with 8)."""
    for columns, function in ((slice(0, 2 * F), recurrent_activation), (slice(3 * F, 4 * F), recurrent_activation),
                              (slice(2 * F, 3 * F), activation)):
        z[:, columns] = activations.apply(function, z[:, columns].copy())
    return z


def conv_lstm_forward(x, kernel, recurrent_kernel, bias=None, strides=None, padding="valid", dilation_rate=None,
                      activation="tanh", recurrent_activation="sigmoid", states=None, mask=None, go_backwards=False,
                      return_sequences=True, zero_output_for_mask=False, input_dropout_mask=None,
                      recurrent_dropout_mask=None, keep_cache=False):
    """Runs the ConvLSTM over x (B, T, n.., C).

    Args:
        kernel: (k.., C, 4F); recurrent_kernel: (k.., F, 4F); bias: (4F,) or None.
        strides, dilation_rate: per spatial axis (default 1); padding: "valid" or "same".
        states: [h0, c0], each (B, L.., F) or None (zeros).
        mask: (B, T) bool or None: False steps keep the states.
        input_dropout_mask: (B, n.., C) scaled keep-mask or None; recurrent_dropout_mask: (B, L.., F).

    Returns:
        (outputs (B, T, L.., F) in processing order or None, [h_T, c_T], cache or None).
    """
    B, T = x.shape[:2]
    rank = x.ndim - 3
    F = kernel.shape[-1] // 4
    kernel_size = kernel.shape[:rank]
    strides = strides or (1,) * rank
    dilation_rate = dilation_rate or (1,) * rank
    geometry, recurrent = geometries(x.shape[2:-1], kernel_size, strides, padding, dilation_rate)
    if min(geometry.out) <= 0:
        raise ValueError(f"ConvLSTM: the input grid {x.shape[2:-1]} is too small for kernel_size={kernel_size}, "
                         f"dilation_rate={dilation_rate} with padding {padding!r}. Received: input shape {x.shape}")
    P = geometry.positions
    R = B * P
    grid = (B,) + geometry.out + (F,)
    dtype = x.dtype
    xs = x[:, ::-1] if go_backwards else x
    if input_dropout_mask is not None:
        xs = xs * input_dropout_mask[:, None]
    steps = np.ascontiguousarray(xs.swapaxes(0, 1)).reshape((T * B,) + x.shape[2:])
    rows_x = im2col(steps, geometry)                                             # (T R, K C)
    z_all = np.dot(rows_x, kernel.reshape(-1, 4 * F)).reshape(T, R, 4 * F)       # [x], all steps
    if bias is not None:
        z_all += bias
    U2 = recurrent_kernel.reshape(-1, 4 * F)
    states = list(states) if states is not None else [None, None]
    h = np.zeros((R, F), dtype) if states[0] is None else _rows(np.asarray(states[0], dtype), P)
    c = np.zeros((R, F), dtype) if states[1] is None else _rows(np.asarray(states[1], dtype), P)
    c0 = c
    m_h = None if recurrent_dropout_mask is None else _rows(recurrent_dropout_mask, P)
    hold = None
    if mask is not None:
        if np.shape(mask) != (B, T):
            raise ValueError(f"ConvLSTM: the mask must have shape (batch, timesteps) = {(B, T)}. "
                             f"Received: shape {np.shape(mask)}")
        processing = mask[:, ::-1] if go_backwards else mask
        hold = np.repeat(~processing.T.astype(bool), P, axis=1)[:, :, None]      # (T, R, 1)
    outputs = np.empty((T, R, F), dtype) if return_sequences else None
    if keep_cache:
        rows_h = np.empty((T, R, recurrent.taps * F), dtype)
        cells, cell_acts = np.empty((T, R, F), dtype), np.empty((T, R, F), dtype)
    for t in range(T):
        h_in = h if m_h is None else h * m_h
        rh = im2col(h_in.reshape(grid), recurrent)                               # (R, Kr F)
        z = z_all[t]
        z += np.dot(rh, U2)                                                      # [h]
        _activate(z, F, activation, recurrent_activation)
        i, f, g, o = z[:, :F], z[:, F:2 * F], z[:, 2 * F:3 * F], z[:, 3 * F:]
        c_new = f * c + i * g
        ac = activations.apply(activation, c_new.copy())
        h_new = o * ac
        if hold is not None:
            h_new = np.where(hold[t], h, h_new)
            c_new = np.where(hold[t], c, c_new)
        if outputs is not None:
            outputs[t] = h_new
            if zero_output_for_mask and hold is not None:
                outputs[t][hold[t][:, 0]] = 0.0
        if keep_cache:
            rows_h[t], cells[t], cell_acts[t] = rh, c_new, ac
        h, c = h_new, c_new
    if outputs is not None:
        outputs = np.ascontiguousarray(outputs.reshape((T,) + grid).swapaxes(0, 1))
    last = [h.reshape(grid), c.reshape(grid)]
    if not keep_cache:
        return outputs, last, None
    cache = ConvLSTMCache()
    cache.x_shape, cache.geometry, cache.recurrent_geometry = x.shape, geometry, recurrent
    cache.rows_x, cache.rows_h, cache.gates, cache.cells, cache.cell_acts = rows_x, rows_h, z_all, cells, cell_acts
    cache.c0, cache.hold, cache.kernel, cache.recurrent_kernel = c0, hold, kernel, recurrent_kernel
    cache.activation, cache.recurrent_activation = activation, recurrent_activation
    cache.go_backwards, cache.return_sequences, cache.zero_output_for_mask = go_backwards, return_sequences, \
        zero_output_for_mask
    cache.input_dropout_mask, cache.recurrent_dropout_mask = input_dropout_mask, m_h
    cache.use_bias, cache.used = bias is not None, False
    return outputs, last, cache


def conv_lstm_backward(d_outputs, d_states, cache, need_dx=True):
    """Returns (dx or None, [dL/dh0, dL/dc0], {"kernel", "recurrent_kernel"[, "bias"]: gradient}).

    Args:
        d_outputs: dL/d outputs (B, T, L.., F) in processing order, or None.
        d_states: [dL/dh_T, dL/dc_T] (entries may be None), or None.
    """
    if cache.used:
        raise RuntimeError("ConvLSTM: this cache was already used by a backward pass. Received: a used cache")
    cache.used = True
    check_gradients_known(cache.activation, cache.recurrent_activation)
    T, R, F4 = cache.gates.shape
    F = F4 // 4
    B = cache.x_shape[0]
    recurrent, P = cache.recurrent_geometry, cache.geometry.positions
    grid = (B,) + cache.geometry.out + (F,)
    ra_prime = activations.DERIVATIVE_FROM_OUTPUT[cache.recurrent_activation]
    act_prime = activations.DERIVATIVE_FROM_OUTPUT[cache.activation]
    d_states = list(d_states) if d_states is not None else [None, None]
    dtype = cache.gates.dtype
    gh = np.zeros((R, F), dtype) if d_states[0] is None else _rows(np.asarray(d_states[0], dtype), P).copy()
    gc = np.zeros((R, F), dtype) if d_states[1] is None else _rows(np.asarray(d_states[1], dtype), P).copy()
    d_steps = None
    if d_outputs is not None:
        d_steps = np.ascontiguousarray(np.asarray(d_outputs, dtype).swapaxes(0, 1)).reshape(T, R, F)
        if cache.zero_output_for_mask and cache.hold is not None:
            d_steps = np.where(cache.hold, 0.0, d_steps)                 # those outputs were constants
    U2 = cache.recurrent_kernel.reshape(-1, F4)
    dz_all = np.empty((T, R, F4), dtype)
    for t in range(T - 1, -1, -1):
        if d_steps is not None:
            gh = gh + d_steps[t]
        a = cache.gates[t]
        i, f, g, o = a[:, :F], a[:, F:2 * F], a[:, 2 * F:3 * F], a[:, 3 * F:]
        ac = cache.cell_acts[t]
        c_prev = cache.cells[t - 1] if t > 0 else cache.c0
        dz = dz_all[t]
        dz[:, 3 * F:] = gh * ac * ra_prime(o)                           # from h_t = o act(c_t)
        dc = gc + gh * o * act_prime(ac)                                 # from h_t = o act(c_t)
        dz[:, :F] = dc * g * ra_prime(i)                                 # from c_t = f c_{t-1} + i g
        dz[:, 2 * F:3 * F] = dc * i * act_prime(g)
        dz[:, F:2 * F] = dc * c_prev * ra_prime(f)
        dc_prev = dc * f
        if cache.hold is not None:
            dz[...] = np.where(cache.hold[t], 0.0, dz)                   # a masked step kept its states
        dh_prev = col2im(np.dot(dz, U2.T), B, recurrent).reshape(R, F)   # from [h]
        if cache.recurrent_dropout_mask is not None:
            dh_prev *= cache.recurrent_dropout_mask
        if cache.hold is not None:
            dh_prev = np.where(cache.hold[t], gh, dh_prev)
            dc_prev = np.where(cache.hold[t], gc, dc_prev)
        gh, gc = dh_prev, dc_prev
    dz2 = dz_all.reshape(T * R, F4)
    grads = {"kernel": np.dot(cache.rows_x.T, dz2).reshape(cache.kernel.shape),                      # from [x]
             "recurrent_kernel": np.dot(cache.rows_h.reshape(T * R, -1).T, dz2).reshape(cache.recurrent_kernel.shape)}
    if cache.use_bias:
        grads["bias"] = dz2.sum(axis=0)
    dx = None
    if need_dx:
        d_rows = np.dot(dz2, cache.kernel.reshape(-1, F4).T)                                         # from [x]
        d_steps_x = col2im(d_rows, T * B, cache.geometry).reshape((T, B) + cache.x_shape[2:])
        dx = d_steps_x.swapaxes(0, 1)
        if cache.input_dropout_mask is not None:
            dx = dx * cache.input_dropout_mask[:, None]
        if cache.go_backwards:
            dx = dx[:, ::-1]
        dx = np.ascontiguousarray(dx)
    return dx, [gh.reshape(grid), gc.reshape(grid)], grads
