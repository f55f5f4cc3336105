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

Inside, the gates are reordered i, f, o, c so that the three sigmoid gates are contiguous; with
the default activations the sigmoid columns are pre-scaled (see `sigmoid_prescale`) so that one
tanh call activates all four gates. Every derivative factor is formed for all steps at once
before the backward loop, which then does a handful of in-place products per step.
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.sequence import (grad_to_time_major, hold_mask, masked_outputs, recurrent_kernel_grad,
                                 sigmoid_prescale, to_batch_major, to_time_major)


def _internal_order(H):
    """Column indices taking Keras's (i, f, c, o) to (i, f, o, c), and back."""
    order = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
    return order, np.argsort(order)


def _check_gradients_known(activation, recurrent_activation):
    for name, value in (("activation", activation), ("recurrent_activation", recurrent_activation)):
        if value not in activations.DERIVATIVE_FROM_OUTPUT:
            raise ValueError(
                f"Argument `{name}` has no elementwise hand-derived gradient, so this layer cannot be "
                f"trained. Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT)}. Received: {value!r}")


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None, go_backwards=False,
                 activation="tanh", recurrent_activation="sigmoid", return_sequences=True,
                 zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                 keep_cache=False):
    """Runs an LSTM over a batch.

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel, bias: (D, 4H), (H, 4H), (4H,) or None, Keras's gate order.
        h0, c0: (B, H) initial states or None (zeros).
        mask, go_backwards, return_sequences, zero_output_for_mask: as for `simple_rnn_forward`.
        activation, recurrent_activation: names of `ops.activations.FORWARD` or callables.
        input_dropout_mask, recurrent_dropout_mask: (B, D) and (B, H) scaled keep-masks, or None.
        keep_cache: keep what `lstm_backward` needs.

    Returns:
        (outputs or None, (h_T, c_T), cache or None).
    """
    B, T, D = x.shape
    H = recurrent_kernel.shape[0]
    dtype = kernel.dtype
    order, _ = _internal_order(H)
    fused = activation == "tanh" and recurrent_activation == "sigmoid"
    W, U = kernel[:, order], recurrent_kernel[:, order]
    b = bias[order] if bias is not None else None
    if fused:
        scale = sigmoid_prescale(H, 3, 1, dtype)
        W, U = W * scale, U * scale
        b = b * scale if b is not None else None
    xs = to_time_major(x, go_backwards, dtype)
    if input_dropout_mask is not None:
        xs *= input_dropout_mask
    gates = np.dot(xs.reshape(T * B, D), W).reshape(T, B, 4 * H)   # z for every step, ONE product
    if b is not None:
        gates += b
    h0 = np.zeros((B, H), dtype) if h0 is None else np.asarray(h0, dtype)
    c0 = np.zeros((B, H), dtype) if c0 is None else np.asarray(c0, dtype)
    hold = hold_mask(mask, go_backwards)
    hs, cs, tcs = (np.empty((T, B, H), dtype) for _ in range(3))
    recurrent = np.empty((B, 4 * H), dtype)
    ig = np.empty((B, H), dtype)
    dropped = np.empty((B, H), dtype) if recurrent_dropout_mask is not None else None
    h_prev, c_prev = h0, c0
    for t in range(T):
        z = gates[t]
        if dropped is not None:
            np.dot(np.multiply(h_prev, recurrent_dropout_mask, out=dropped), U, out=recurrent)
        else:
            np.dot(h_prev, U, out=recurrent)
        z += recurrent
        if fused:
            np.tanh(z, out=z)
            sig = z[:, :3 * H]
            sig *= 0.5
            sig += 0.5
        else:
            z[:, :3 * H] = activations.apply(recurrent_activation, z[:, :3 * H].copy())
            z[:, 3 * H:] = activations.apply(activation, z[:, 3 * H:].copy())
        i, f, o, g = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        c, tc, h = cs[t], tcs[t], hs[t]
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=ig)
        if fused:
            np.tanh(c, out=tc)
        else:
            tc[...] = activations.apply(activation, c.copy())
        np.multiply(o, tc, out=h)
        if hold is not None:
            np.copyto(h, h_prev, where=hold[t])
            np.copyto(c, c_prev, where=hold[t])
        h_prev, c_prev = h, c
    last = (hs[-1].copy(), cs[-1].copy()) if T else (h0.copy(), c0.copy())
    outputs = to_batch_major(masked_outputs(hs, hold, zero_output_for_mask)) if return_sequences else None
    cache = None
    if keep_cache:
        cache = dict(xs=xs, gates=gates, hs=hs, cs=cs, tcs=tcs, h0=h0, c0=c0, hold=hold, kernel=kernel,
                     recurrent_kernel=recurrent_kernel, use_bias=bias is not None, activation=activation,
                     recurrent_activation=recurrent_activation, go_backwards=go_backwards,
                     zero_output_for_mask=zero_output_for_mask, input_dropout_mask=input_dropout_mask,
                     recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, last, cache


def lstm_backward(d_outputs, d_last_h, d_last_c, cache):
    """Backpropagation through time for `lstm_forward`.

    Returns:
        (dx (B, T, D), (dh0, dc0), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's order.
    """
    _check_gradients_known(cache["activation"], cache["recurrent_activation"])
    xs, gates, hs, cs, tcs = cache["xs"], cache["gates"], cache["hs"], cache["cs"], cache["tcs"]
    h0, c0, hold, m_h = cache["h0"], cache["c0"], cache["hold"], cache["recurrent_dropout_mask"]
    T, B, H = hs.shape
    D = xs.shape[2]
    dtype = hs.dtype
    order, inverse = _internal_order(H)
    ra_prime = activations.DERIVATIVE_FROM_OUTPUT[cache["recurrent_activation"]]
    act_prime = activations.DERIVATIVE_FROM_OUTPUT[cache["activation"]]
    i, f, o, g = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
    c_prev = np.concatenate([c0[None], cs[:-1]], axis=0) if T else cs
    # Every derivative factor for all steps at once (vectorised, before the loop).
    from_gh_to_dc = o * act_prime(tcs)                  # dc   += gh * this
    from_gh_to_dzo = tcs * ra_prime(o)                  # dz_o  = gh * this
    from_dc_to_dzi = g * ra_prime(i)                    # dz_i  = dc * this
    from_dc_to_dzg = i * act_prime(g)                   # dz_c  = dc * this
    from_dc_to_dzf = c_prev * ra_prime(f)               # dz_f  = dc * this
    forget = f.copy()                                   # dc_{t-1} = dc * this
    if hold is not None:
        for factor in (from_gh_to_dc, from_gh_to_dzo, from_dc_to_dzi, from_dc_to_dzg, from_dc_to_dzf):
            factor[np.broadcast_to(hold, factor.shape)] = 0.0
        np.copyto(forget, 1.0, where=np.broadcast_to(hold, forget.shape))
    if d_outputs is not None:
        gh_all = grad_to_time_major(d_outputs, dtype)
        if cache["zero_output_for_mask"] and hold is not None:
            gh_all[np.broadcast_to(hold, gh_all.shape)] = 0.0
    else:
        gh_all = np.zeros((T, B, H), dtype)
    if d_last_h is not None and T:
        gh_all[-1] += d_last_h
    dz = np.empty((T, B, 4 * H), dtype)
    dh_next = np.zeros((B, H), dtype)
    dc_next = np.zeros((B, H), dtype) if d_last_c is None else np.array(d_last_c, dtype)
    dc = np.empty((B, H), dtype)
    carry = np.empty((B, H), dtype) if hold is not None else None
    U_t = cache["recurrent_kernel"][:, order].T
    for t in range(T - 1, -1, -1):
        gh = gh_all[t]
        gh += dh_next
        d = dz[t]
        np.multiply(gh, from_gh_to_dc[t], out=dc)
        dc += dc_next
        np.multiply(gh, from_gh_to_dzo[t], out=d[:, 2 * H:3 * H])
        np.multiply(dc, from_dc_to_dzi[t], out=d[:, :H])
        np.multiply(dc, from_dc_to_dzf[t], out=d[:, H:2 * H])
        np.multiply(dc, from_dc_to_dzg[t], out=d[:, 3 * H:])
        np.multiply(dc, forget[t], out=dc_next)
        if hold is not None:
            np.multiply(gh, hold[t], out=carry)
        np.dot(d, U_t, out=dh_next)
        if m_h is not None:
            dh_next *= m_h
        if hold is not None:
            dh_next += carry
    dz2 = dz.reshape(T * B, 4 * H)
    grads = {"kernel": np.dot(xs.reshape(T * B, D).T, dz2)[:, inverse],
             "recurrent_kernel": recurrent_kernel_grad(h0, hs, dz, m_h)[:, inverse]}
    if cache["use_bias"]:
        grads["bias"] = dz2.sum(axis=0)[inverse]
    dxs = np.dot(dz2, cache["kernel"][:, order].T).reshape(T, B, D)
    if cache["input_dropout_mask"] is not None:
        dxs *= cache["input_dropout_mask"]
    return to_batch_major(dxs, cache["go_backwards"]), (dh_next, dc_next), grads
