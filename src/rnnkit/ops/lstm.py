"""LSTM: the long short-term memory recurrence (Keras's gate order i, f, c, o), fused.

Forward, for each step t in processing order:
    z_t = (x_t m_x) W + (h_{t-1} m_h) U + b              W: (D, 4H), U: (H, 4H), b: (4H,)
    i = ra(z_i),  f = ra(z_f),  o = ra(z_o),  g = act(z_c)     (ra: recurrent_activation)
    c_t = f c_{t-1} + i g
    h_t = o act(c_t)                                     (masked step: h_t = h_{t-1}, c_t = c_{t-1})

Backward, with gh_t = dL/doutput_t + dL/dh_t|from t+1 and gc_t = dL/dc_t|from t+1:
    dz_o = gh act(c_t) ra'(o)                            (from h_t = o act(c_t))
    dc   = gc + gh o act'(c_t)                           (from h_t = o act(c_t))
    dz_i = dc g ra'(i),   dz_c = dc i act'(g),   dz_f = dc c_{t-1} ra'(f)   (from c_t = f c_{t-1} + i g)
    dc_{t-1} = dc f                                      (masked step: dc_{t-1} = gc)
    dh_{t-1} = (dz U^T) m_h                              (masked step: + gh)
    dW = sum (x_t m_x)^T dz,  dU = sum (h_{t-1} m_h)^T dz,  db = sum dz,  dx_t = (dz W^T) m_x

Inside, the gates are reordered i, f, o, c so that the three sigmoid gates are contiguous rows
of a step's (4H, B) block; with the default activations the sigmoid rows are pre-scaled (see
`sigmoid_prescale`) so that one tanh call activates all four gates. Every derivative factor is
formed for all steps at once before the backward loop, which then does a handful of in-place
products per step. Layouts as in `ops.sequence`.
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.sequence import (augmented_kernel_t, buffer, by_feature, drop_inputs, hold_mask, input_grads,
                                 new_outputs, output_grads, project, recurrent_kernel_grad, sigmoid_prescale,
                                 step_states, to_steps, end_step, zero_held, zero_masked_outputs)


def _internal_order(H):
    """Row indices taking Keras's gates (i, f, c, o) to (i, f, o, c), and back."""
    order = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
    return order, np.argsort(order)


def check_gradients_known(activation, recurrent_activation):
    for name, value in (("activation", activation), ("recurrent_activation", recurrent_activation)):
        if value not in activations.DERIVATIVE_FROM_OUTPUT:
            raise ValueError(
                f"Argument `{name}` has no elementwise hand-derived gradient, so this layer cannot be "
                f"trained. Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT)}. Received: {value!r}")


def as_columns(state, shape, dtype):
    """A (B, H) state as a fresh (H, B) block, or zeros."""
    return np.zeros(shape, dtype) if state is None else np.array(np.asarray(state, dtype).T, order="C")


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None, go_backwards=False,
                 activation="tanh", recurrent_activation="sigmoid", return_sequences=True,
                 zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                 keep_cache=False, workspace=None):
    """Runs an LSTM over a batch.

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel, bias: (D, 4H), (H, 4H), (4H,) or None, Keras's gate order.
        h0, c0: (B, H) initial states or None (zeros).
        mask, go_backwards, return_sequences, zero_output_for_mask: as for `simple_rnn_forward`.
        activation, recurrent_activation: names of `ops.activations.FORWARD` or callables.
        input_dropout_mask, recurrent_dropout_mask: (B, D) and (B, H) scaled keep-masks, or None.
        keep_cache: keep what `lstm_backward` needs.
        workspace: a dict of buffers the caller keeps between calls (see `ops.sequence.buffer`).

    Returns:
        (outputs or None, (h_T, c_T), cache or None).
    """
    B, T, D = x.shape
    H = recurrent_kernel.shape[0]
    dtype = kernel.dtype
    order, _ = _internal_order(H)
    fused = activation == "tanh" and recurrent_activation == "sigmoid"
    scale = sigmoid_prescale(H, 3, 1, dtype) if fused else np.ones(4 * H, dtype)
    kernel_t = augmented_kernel_t(kernel[:, order], None if bias is None else bias[order], scale)
    recurrent_t = np.ascontiguousarray(recurrent_kernel[:, order].T * scale[:, None])
    xs = to_steps(x, go_backwards, dtype, workspace, with_bias=bias is not None)
    drop_inputs(xs, input_dropout_mask)
    gates = project(xs, kernel_t, workspace)                # (T, 4H, B), every step at once
    h0t, c0t = as_columns(h0, (H, B), dtype), as_columns(c0, (H, B), dtype)
    hold = hold_mask(mask, go_backwards)
    hs, cs, tcs = (step_states(workspace, name, T, (H, B), dtype, keep_cache) for name in ("hs", "cs", "tcs"))
    slots = T if keep_cache else 2
    recurrent = buffer(workspace, "recurrent", (4 * H, B), dtype)
    ig = buffer(workspace, "ig", (H, B), dtype)
    m_h = None if recurrent_dropout_mask is None else np.ascontiguousarray(recurrent_dropout_mask.T)
    dropped = buffer(workspace, "dropped", (H, B), dtype) if m_h is not None else None
    outputs = new_outputs(B, T, H, dtype) if return_sequences else None
    h_prev, c_prev = h0t, c0t
    for t in range(T):
        z = gates[t]
        np.dot(recurrent_t, h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped), out=recurrent)
        z += recurrent
        if fused:
            np.tanh(z, out=z)
            sig = z[:3 * H]
            sig *= 0.5
            sig += 0.5
        else:
            activations.apply_to_columns(recurrent_activation, z[:3 * H])
            activations.apply_to_columns(activation, z[3 * H:])
        i, f, o, g = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
        c, tc, h = cs[t % slots], tcs[t % slots], hs[t % slots]
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=ig)
        activations.apply_to_columns(activation, c, out=tc)
        np.multiply(o, tc, out=h)
        if hold is not None:
            np.copyto(c, c_prev, where=hold[t])
        end_step(h, h_prev, hold, outputs, t)
        h_prev, c_prev = h, c
    last = (np.array(h_prev.T, order="C"), np.array(c_prev.T, order="C"))
    zero_masked_outputs(outputs, hold, zero_output_for_mask)
    cache = None
    if keep_cache:
        cache = dict(xs=xs, gates=gates, hs=hs, cs=cs, tcs=tcs, h0t=h0t, c0t=c0t, hold=hold, kernel=kernel,
                     recurrent_kernel=recurrent_kernel, use_bias=bias is not None, activation=activation,
                     recurrent_activation=recurrent_activation, go_backwards=go_backwards,
                     zero_output_for_mask=zero_output_for_mask, input_dropout_mask=input_dropout_mask,
                     recurrent_dropout_mask=recurrent_dropout_mask, workspace=workspace)
    return outputs, last, cache


def lstm_backward(d_outputs, d_last_h, d_last_c, cache, need_dx=True):
    """Backpropagation through time for `lstm_forward`.

    Returns:
        (dx (B, T, D), (dh0, dc0), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's order.
    """
    check_gradients_known(cache["activation"], cache["recurrent_activation"])
    xs, gates, hs, cs, tcs = cache["xs"], cache["gates"], cache["hs"], cache["cs"], cache["tcs"]
    h0t, c0t, hold, m_h = cache["h0t"], cache["c0t"], cache["hold"], cache["recurrent_dropout_mask"]
    workspace = cache["workspace"]
    T, H, B = hs.shape
    dtype = hs.dtype
    order, inverse = _internal_order(H)
    ra, act = cache["recurrent_activation"], cache["activation"]
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # Every derivative factor for all steps at once (vectorised, before the loop), (T, H, B).
    # The gates, c and act(c) are spent after this, so the factors overwrite them; the order
    # matters: each array is read in its original form before it is overwritten.
    from_dc_to_dzf = activations.derivative_into(ra, f, buffer(workspace, "dc_dzf", (T, H, B), dtype))
    if T:                                               # dz_f  = dc * c_{t-1} ra'(f)
        from_dc_to_dzf[0] *= c0t
        from_dc_to_dzf[1:] *= cs[:-1]
    forget = f                                          # dc_{t-1} = dc * f (f stays intact)
    from_gh_to_dc = activations.derivative_into(act, tcs, cs)
    from_gh_to_dc *= o                                  # dc   += gh * o act'(c), over c
    from_dc_to_dzg = buffer(workspace, "dc_dzg", (T, H, B), dtype)
    from_gh_to_dzo = activations.derivative_into(ra, o, o, from_dc_to_dzg)
    from_gh_to_dzo *= tcs                               # dz_o  = gh * act(c) ra'(o), over o
    activations.derivative_into(act, g, from_dc_to_dzg)
    from_dc_to_dzg *= i                                 # dz_c  = dc * i act'(g)
    from_dc_to_dzi = activations.derivative_into(ra, i, i, tcs)
    from_dc_to_dzi *= g                                 # dz_i  = dc * g ra'(i), over i
    if hold is not None:
        for factor in (from_gh_to_dc, from_gh_to_dzo, from_dc_to_dzi, from_dc_to_dzg, from_dc_to_dzf):
            zero_held(factor, hold)
        np.copyto(forget, 1.0, where=np.broadcast_to(hold, forget.shape))
    gh_all = output_grads(d_outputs, d_last_h, hold, cache["zero_output_for_mask"], (T, H, B), dtype, workspace)
    recurrent_kernel = np.ascontiguousarray(cache["recurrent_kernel"][:, order])   # (H, 4H)
    m_ht = None if m_h is None else np.ascontiguousarray(m_h.T)
    dz = buffer(workspace, "dz", (T, 4 * H, B), dtype)
    dh_next = np.zeros((H, B), dtype)
    dc_next = as_columns(d_last_c, (H, B), dtype)
    dc = np.empty((H, B), dtype)
    carry = np.empty((H, B), dtype) if hold is not None else None
    for t in range(T - 1, -1, -1):
        gh = gh_all[t]
        gh += dh_next
        d = dz[t]
        np.multiply(gh, from_gh_to_dc[t], out=dc)
        dc += dc_next
        np.multiply(gh, from_gh_to_dzo[t], out=d[2 * H:3 * H])
        np.multiply(dc, from_dc_to_dzi[t], out=d[:H])
        np.multiply(dc, from_dc_to_dzf[t], out=d[H:2 * H])
        np.multiply(dc, from_dc_to_dzg[t], out=d[3 * H:])
        np.multiply(dc, forget[t], out=dc_next)
        if hold is not None:
            np.multiply(gh, hold[t], out=carry)
        np.dot(recurrent_kernel, d, out=dh_next)
        if m_ht is not None:
            dh_next *= m_ht
        if hold is not None:
            dh_next += carry
    dz = by_feature(dz, into=gates)
    kernel_grad, bias_grad, dx = input_grads(xs, dz, np.ascontiguousarray(cache["kernel"][:, order]),
                                             cache["input_dropout_mask"], cache["go_backwards"], workspace, need_dx)
    grads = {"kernel": kernel_grad[:, inverse],
             "recurrent_kernel": recurrent_kernel_grad(h0t, hs, dz, m_h, workspace)[:, inverse]}
    if cache["use_bias"]:
        grads["bias"] = bias_grad[inverse]
    return dx, (np.array(dh_next.T, order="C"), np.array(dc_next.T, order="C")), grads
