"""SimpleRNN: the Elman recurrence, fused.

Forward, for steps t = 1..T in processing order (reversed input when go_backwards):
    z_t = (x_t * m_x) W + (h_{t-1} * m_h) U + b    W: kernel (D, H), U: recurrent_kernel (H, H), b: (H,)
    h_t = act(z_t)                                 (masked step: h_t = h_{t-1})
    output_t = h_t                                 (masked step with zero_output_for_mask: 0)
m_x (B, D) and m_h (B, H) are the dropout masks (1 when there is no dropout), the same at
every step.

Backward, from the last step to the first:
    g_t   = dL/doutput_t + dL/dh_t|from step t+1           (h_t feeds output_t and z_{t+1})
    dz_t  = act'(h_t) * g_t                                (from h_t = act(z_t))
    dh_{t-1} = (dz_t U^T) * m_h                            (from z_t = ... + (h_{t-1} m_h) U)
             + g_t on masked rows                          (from h_t = h_{t-1})
    dW = sum_t (x_t m_x)^T dz_t,  dU = sum_t (h_{t-1} m_h)^T dz_t,  db = sum_t dz_t   (from z_t)
    dx_t = (dz_t W^T) * m_x                                (from z_t = (x_t m_x) W + ...)

Speed (DESIGN.md): x_t W for all steps is ONE matrix product before the loop; the loop does
one (B, H) x (H, H) product and elementwise work in place into preallocated buffers; each
weight gradient is ONE matrix product after the loop.
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.sequence import (grad_to_time_major, hold_mask, masked_outputs, recurrent_kernel_grad,
                                 to_batch_major, to_time_major)


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
                       go_backwards=False, activation="tanh", return_sequences=True,
                       zero_output_for_mask=False, input_dropout_mask=None,
                       recurrent_dropout_mask=None, keep_cache=False):
    """Runs a SimpleRNN over a batch.

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel, bias: (D, H), (H, H), (H,) or None.
        h0: (B, H) initial state or None (zeros).
        mask: (B, T) bool or None; False steps leave the state unchanged.
        go_backwards: process the steps last to first (outputs stay in processing order).
        activation: a name of `ops.activations.FORWARD` or a callable.
        return_sequences: whether to return the (B, T, H) outputs.
        zero_output_for_mask: masked steps output zeros instead of the carried state.
        input_dropout_mask, recurrent_dropout_mask: (B, D) and (B, H) scaled keep-masks, or None.
        keep_cache: keep what `simple_rnn_backward` needs.

    Returns:
        (outputs or None, last_state (B, H), cache or None).
    """
    B, T, D = x.shape
    H = kernel.shape[1]
    dtype = kernel.dtype
    xs = to_time_major(x, go_backwards, dtype)
    if input_dropout_mask is not None:
        xs *= input_dropout_mask
    # z_t = x_t W + b for every step at once; the loop then turns hs[t] into h_t in place.
    hs = np.dot(xs.reshape(T * B, D), kernel).reshape(T, B, H)
    if bias is not None:
        hs += bias
    h0 = np.zeros((B, H), dtype) if h0 is None else np.asarray(h0, dtype)
    hold = hold_mask(mask, go_backwards)
    act = activations.FORWARD.get(activation) if isinstance(activation, str) else None
    recurrent = np.empty((B, H), dtype)
    dropped = np.empty((B, H), dtype) if recurrent_dropout_mask is not None else None
    h_prev = h0
    for t in range(T):
        h = hs[t]
        if dropped is not None:
            np.dot(np.multiply(h_prev, recurrent_dropout_mask, out=dropped), recurrent_kernel, out=recurrent)
        else:
            np.dot(h_prev, recurrent_kernel, out=recurrent)
        h += recurrent
        if act is not None:
            act(h)
        else:
            h[...] = activations.apply(activation, h)
        if hold is not None:
            np.copyto(h, h_prev, where=hold[t])
        h_prev = h
    last_state = hs[-1].copy() if T else h0.copy()
    outputs = to_batch_major(masked_outputs(hs, hold, zero_output_for_mask)) if return_sequences else None
    cache = None
    if keep_cache:
        cache = dict(xs=xs, hs=hs, h0=h0, hold=hold, kernel=kernel, recurrent_kernel=recurrent_kernel,
                     use_bias=bias is not None, activation=activation, go_backwards=go_backwards,
                     zero_output_for_mask=zero_output_for_mask, input_dropout_mask=input_dropout_mask,
                     recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, last_state, cache


def simple_rnn_backward(d_outputs, d_last, cache):
    """Backpropagation through time for `simple_rnn_forward`.

    Args:
        d_outputs: (B, T, H) gradient of the outputs, or None.
        d_last: (B, H) gradient of the last state, or None.
        cache: what the forward kept.

    Returns:
        (dx (B, T, D), dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}).
    """
    xs, hs, h0, hold = cache["xs"], cache["hs"], cache["h0"], cache["hold"]
    kernel, recurrent_kernel = cache["kernel"], cache["recurrent_kernel"]
    activation, m_h = cache["activation"], cache["recurrent_dropout_mask"]
    T, B, H = hs.shape
    D = xs.shape[2]
    dtype = hs.dtype
    if not activations.has_gradient(activation):
        raise ValueError(
            "Argument `activation` has no hand-derived gradient, so this layer cannot be trained. "
            f"Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT) + ['softmax']}. "
            f"Received: {activation!r}")
    # dz starts as dL/doutput_t and becomes dL/dz_t in place, step by step.
    if d_outputs is not None:
        dz = grad_to_time_major(d_outputs, dtype)
        if cache["zero_output_for_mask"] and hold is not None:
            dz[np.broadcast_to(hold, dz.shape)] = 0.0
    else:
        dz = np.zeros((T, B, H), dtype)
    if d_last is not None and T:
        dz[-1] += d_last
    derivative_of = activations.DERIVATIVE_FROM_OUTPUT.get(activation)
    deriv = derivative_of(hs) if derivative_of is not None else None  # all steps, ONE call
    if deriv is not None and hold is not None:
        deriv[np.broadcast_to(hold, deriv.shape)] = 0.0
    recurrent_t = recurrent_kernel.T
    dh_next = np.zeros((B, H), dtype)
    carry = np.empty((B, H), dtype) if hold is not None else None
    for t in range(T - 1, -1, -1):
        g = dz[t]
        g += dh_next                                   # g_t
        if hold is not None:
            np.multiply(g, hold[t], out=carry)         # masked rows pass g_t straight to h_{t-1}
        if deriv is not None:
            g *= deriv[t]                              # dz_t = act'(h_t) g_t
        else:
            g[...] = activations.backward_from_output(activation, hs[t], g)
            if hold is not None:
                g[hold[t][:, 0]] = 0.0
        np.dot(g, recurrent_t, out=dh_next)            # dz_t U^T
        if m_h is not None:
            dh_next *= m_h
        if hold is not None:
            dh_next += carry
    dz2 = dz.reshape(T * B, H)
    grads = {"kernel": np.dot(xs.reshape(T * B, D).T, dz2)}
    grads["recurrent_kernel"] = recurrent_kernel_grad(h0, hs, dz, m_h)
    if cache["use_bias"]:
        grads["bias"] = dz2.sum(axis=0)
    dxs = np.dot(dz2, kernel.T).reshape(T, B, D)
    if cache["input_dropout_mask"] is not None:
        dxs *= cache["input_dropout_mask"]
    dx = to_batch_major(dxs, cache["go_backwards"])
    return dx, dh_next, grads
