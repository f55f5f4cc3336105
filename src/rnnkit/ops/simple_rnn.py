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

Speed (DESIGN.md): x_t W for all steps is ONE (batched) product before the loop; the loop does
one (H, H) x (H, B) product and elementwise work in place into preallocated buffers; each
weight gradient is ONE matrix product after the loop. Steps are feature-major (F, B) blocks
(see `ops.sequence`).
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.sequence import (augmented_kernel_t, buffer, by_feature, drop_inputs, hold_mask, input_grads,
                                 new_outputs, output_grads, project, recurrent_kernel_grad, step_states, to_steps,
                                 end_step, zero_held, zero_masked_outputs)


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
                       go_backwards=False, activation="tanh", return_sequences=True,
                       zero_output_for_mask=False, input_dropout_mask=None,
                       recurrent_dropout_mask=None, keep_cache=False, workspace=None):
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
        workspace: a dict of buffers the caller keeps between calls (see `ops.sequence.buffer`).

    Returns:
        (outputs or None, last_state (B, H), cache or None).
    """
    B, T, D = x.shape
    H = kernel.shape[1]
    dtype = kernel.dtype
    xs = to_steps(x, go_backwards, dtype, workspace, with_bias=bias is not None)
    drop_inputs(xs, input_dropout_mask)
    z = project(xs, augmented_kernel_t(kernel, bias), workspace)   # W^T x_t + b, every step at once
    h0t = np.zeros((H, B), dtype) if h0 is None else np.array(np.asarray(h0, dtype).T, order="C")
    hold = hold_mask(mask, go_backwards)
    recurrent_t = np.ascontiguousarray(recurrent_kernel.T)
    hs = step_states(workspace, "hs", T, (H, B), dtype, keep_cache)
    slots = T if keep_cache else 2
    recurrent = buffer(workspace, "recurrent", (H, B), dtype)
    m_h = None if recurrent_dropout_mask is None else np.ascontiguousarray(recurrent_dropout_mask.T)
    dropped = buffer(workspace, "dropped", (H, B), dtype) if m_h is not None else None
    outputs = new_outputs(B, T, H, dtype) if return_sequences else None
    h_prev = h0t
    for t in range(T):
        zt = z[t]
        np.dot(recurrent_t, h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped), out=recurrent)
        zt += recurrent
        h = hs[t % slots]
        activations.apply_to_columns(activation, zt, out=h)
        end_step(h, h_prev, hold, outputs, t)
        h_prev = h
    last_state = np.array(h_prev.T, order="C")
    zero_masked_outputs(outputs, hold, zero_output_for_mask)
    cache = None
    if keep_cache:
        cache = dict(xs=xs, hs=hs, spent=z, h0t=h0t, hold=hold, kernel=kernel, recurrent_kernel=recurrent_kernel,
                     use_bias=bias is not None, activation=activation, go_backwards=go_backwards,
                     zero_output_for_mask=zero_output_for_mask, input_dropout_mask=input_dropout_mask,
                     recurrent_dropout_mask=recurrent_dropout_mask, workspace=workspace)
    return outputs, last_state, cache


def simple_rnn_backward(d_outputs, d_last, cache, need_dx=True):
    """Backpropagation through time for `simple_rnn_forward`.

    Args:
        d_outputs: (B, T, H) gradient of the outputs, or None.
        d_last: (B, H) gradient of the last state, or None.
        cache: what the forward kept.
        need_dx: whether to compute dx (not for a model's first layer: it saves one product).

    Returns:
        (dx (B, T, D) or None, dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}).
    """
    xs, hs, h0t, hold = cache["xs"], cache["hs"], cache["h0t"], cache["hold"]
    activation, m_h, workspace = cache["activation"], cache["recurrent_dropout_mask"], cache["workspace"]
    T, H, B = hs.shape
    dtype = hs.dtype
    if not activations.has_gradient(activation):
        raise ValueError(
            "Argument `activation` has no hand-derived gradient, so this layer cannot be trained. "
            f"Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT) + ['softmax']}. "
            f"Received: {activation!r}")
    # g starts as dL/doutput_t per step (T, H, B); dz_t is written into dz (T, H, B).
    g_all = output_grads(d_outputs, d_last, hold, cache["zero_output_for_mask"], (T, H, B), dtype, workspace)
    deriv = None
    if activation in activations.DERIVATIVE_FROM_OUTPUT:       # all steps at once, (T, H, B)
        # The pre-activations are spent: their buffer holds act'(h), and after the loop dz's copy.
        deriv = activations.derivative_into(activation, hs, cache["spent"])
        zero_held(deriv, hold)
    recurrent_kernel = cache["recurrent_kernel"]
    m_ht = None if m_h is None else np.ascontiguousarray(m_h.T)
    dz = g_all                                         # dz_t overwrites g_t, step by step
    dh_next = np.zeros((H, B), dtype)
    carry = np.empty((H, B), dtype) if hold is not None else None
    for t in range(T - 1, -1, -1):
        g = g_all[t]
        g += dh_next                                   # g_t
        if hold is not None:
            np.multiply(g, hold[t], out=carry)         # masked columns pass g_t straight to h_{t-1}
        d = g
        if deriv is not None:
            d *= deriv[t]                              # dz_t = act'(h_t) g_t
        else:
            d[...] = activations.backward_from_output(activation, hs[t].T, g.T).T
            if hold is not None:
                d[:, hold[t][0]] = 0.0
        np.dot(recurrent_kernel, d, out=dh_next)       # U dz_t
        if m_ht is not None:
            dh_next *= m_ht
        if hold is not None:
            dh_next += carry
    dz = by_feature(dz, into=cache["spent"])
    kernel_grad, bias_grad, dx = input_grads(xs, dz, cache["kernel"], cache["input_dropout_mask"],
                                             cache["go_backwards"], workspace, need_dx)
    grads = {"kernel": kernel_grad, "recurrent_kernel": recurrent_kernel_grad(h0t, hs, dz, m_h, workspace)}
    if cache["use_bias"]:
        grads["bias"] = bias_grad
    return dx, np.array(dh_next.T, order="C"), grads
