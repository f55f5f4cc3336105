"""GRU: the gated recurrent unit (Keras's gate order z, r, h), fused, both Keras variants.

reset_after=True (Keras's default; bias (2, 3H): input bias b_x, recurrent bias b_h):
    x_t' = (x_t m_x) W + b_x,   u_t = (h_{t-1} m_h) U + b_h                  W: (D, 3H), U: (H, 3H)
    z = ra(x'_z + u_z),  r = ra(x'_r + u_r),  hh = act(x'_h + r u_h)
reset_after=False (bias (3H,)):
    x_t' = (x_t m_x) W + b
    z = ra(x'_z + (h_{t-1} m_h) U_z),  r = ra(x'_r + (h_{t-1} m_h) U_r)
    hh = act(x'_h + (r h_{t-1} m_h) U_h)
both:
    h_t = z h_{t-1} + (1 - z) hh                       (masked step: h_t = h_{t-1})

Backward, with gh = dL/doutput_t + dL/dh_t|from t+1:
    dz_z = gh (h_{t-1} - hh) ra'(z),   dz_h = gh (1 - z) act'(hh)          (from h_t)
    after:  dz_r = dz_h u_h ra'(r);    du = [dz_z, dz_r, dz_h r]            (from hh, z, r)
            dh_{t-1} = gh z + (du U^T) m_h
    before: d(rh) = dz_h U_h^T;  dz_r = d(rh) h_{t-1} m_h ra'(r)
            dh_{t-1} = gh z + ([dz_z, dz_r] U_zr^T) m_h + d(rh) r m_h
    dW = sum (x_t m_x)^T [dz_z, dz_r, dz_h];  dU from the same products;  dx_t = (dz W^T) m_x
    (masked step: dz = 0 and dh_{t-1} = gh)

With the default activations the z and r columns are pre-scaled (see `sigmoid_prescale`) so that
one tanh call activates both sigmoid gates.
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.lstm import _check_gradients_known
from rnnkit.ops.sequence import (grad_to_time_major, hold_mask, masked_outputs, recurrent_kernel_grad,
                                 sigmoid_prescale, to_batch_major, to_time_major)


def _activate(block, name, fused):
    if fused:
        np.tanh(block, out=block)
        block *= 0.5
        block += 0.5
    else:
        block[...] = activations.apply(name, block.copy())


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None, go_backwards=False,
                activation="tanh", recurrent_activation="sigmoid", reset_after=True, return_sequences=True,
                zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                keep_cache=False):
    """Runs a GRU over a batch.

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel: (D, 3H), (H, 3H) in Keras's gate order z, r, h.
        bias: (2, 3H) when reset_after, else (3H,); or None.
        reset_after: apply the reset gate after the recurrent product (Keras 2's default, cuDNN's).
        h0, mask, go_backwards, activations, return_sequences, zero_output_for_mask, dropout masks,
        keep_cache: as for `lstm_forward`.

    Returns:
        (outputs or None, h_T, cache or None).
    """
    B, T, D = x.shape
    H = recurrent_kernel.shape[0]
    dtype = kernel.dtype
    fused = activation == "tanh" and recurrent_activation == "sigmoid"
    scale = sigmoid_prescale(H, 2, 1, dtype) if fused else np.ones(3 * H, dtype)
    W, U = kernel * scale, recurrent_kernel * scale
    b_x = b_h = None
    if bias is not None:
        b_x = (bias[0] if reset_after else bias) * scale
        if reset_after:
            b_h = bias[1] * scale
            b_x = b_x.copy()
            b_x[:2 * H] += b_h[:2 * H]   # z and r just add both biases: fold them into the projection
    xs = to_time_major(x, go_backwards, dtype)
    if input_dropout_mask is not None:
        xs *= input_dropout_mask
    gates = np.dot(xs.reshape(T * B, D), W).reshape(T, B, 3 * H)    # x' for every step, ONE product
    if b_x is not None:
        gates += b_x
    h0 = np.zeros((B, H), dtype) if h0 is None else np.asarray(h0, dtype)
    hold = hold_mask(mask, go_backwards)
    hs = np.empty((T, B, H), dtype)
    # reset_after keeps u_h per step; reset_before keeps r h_{t-1} m_h per step.
    kept = np.empty((T, B, H), dtype)
    recurrent = np.empty((B, 3 * H if reset_after else 2 * H), dtype)
    candidate = np.empty((B, H), dtype)
    dropped = np.empty((B, H), dtype) if recurrent_dropout_mask is not None else None
    U_zr, U_h = U[:, :2 * H], U[:, 2 * H:]
    h_prev = h0
    for t in range(T):
        g = gates[t]
        h_in = h_prev if dropped is None else np.multiply(h_prev, recurrent_dropout_mask, out=dropped)
        if reset_after:
            np.dot(h_in, U, out=recurrent)
            u_h = kept[t]
            if b_h is not None:
                np.add(recurrent[:, 2 * H:], b_h[2 * H:], out=u_h)
            else:
                np.copyto(u_h, recurrent[:, 2 * H:])
            g[:, :2 * H] += recurrent[:, :2 * H]
            _activate(g[:, :2 * H], recurrent_activation, fused)
            g[:, 2 * H:] += np.multiply(g[:, H:2 * H], u_h, out=candidate)
        else:
            np.dot(h_in, U_zr, out=recurrent)
            g[:, :2 * H] += recurrent
            _activate(g[:, :2 * H], recurrent_activation, fused)
            rh = np.multiply(g[:, H:2 * H], h_in, out=kept[t])
            g[:, 2 * H:] += np.dot(rh, U_h, out=candidate)
        hh = g[:, 2 * H:]
        if fused:
            np.tanh(hh, out=hh)
        else:
            hh[...] = activations.apply(activation, hh.copy())
        h = hs[t]
        np.subtract(h_prev, hh, out=candidate)     # h_t = hh + z (h_{t-1} - hh)
        candidate *= g[:, :H]
        np.add(hh, candidate, out=h)
        if hold is not None:
            np.copyto(h, h_prev, where=hold[t])
        h_prev = h
    last = hs[-1].copy() if T else h0.copy()
    outputs = to_batch_major(masked_outputs(hs, hold, zero_output_for_mask)) if return_sequences else None
    cache = None
    if keep_cache:
        cache = dict(xs=xs, gates=gates, hs=hs, kept=kept, h0=h0, hold=hold, kernel=kernel,
                     recurrent_kernel=recurrent_kernel, use_bias=bias is not None, reset_after=reset_after,
                     activation=activation, recurrent_activation=recurrent_activation,
                     go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
                     input_dropout_mask=input_dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask)
    return outputs, last, cache


def gru_backward(d_outputs, d_last, cache):
    """Backpropagation through time for `gru_forward`.

    Returns:
        (dx (B, T, D), dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's layout.
    """
    _check_gradients_known(cache["activation"], cache["recurrent_activation"])
    xs, gates, hs, kept, h0 = cache["xs"], cache["gates"], cache["hs"], cache["kept"], cache["h0"]
    hold, m_h, reset_after = cache["hold"], cache["recurrent_dropout_mask"], cache["reset_after"]
    kernel, recurrent_kernel = cache["kernel"], cache["recurrent_kernel"]
    T, B, H = hs.shape
    D = xs.shape[2]
    dtype = hs.dtype
    ra_prime = activations.DERIVATIVE_FROM_OUTPUT[cache["recurrent_activation"]]
    act_prime = activations.DERIVATIVE_FROM_OUTPUT[cache["activation"]]
    z, r, hh = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0) if T else hs
    # Every derivative factor for all steps at once (vectorised, before the loop).
    from_gh_to_dzz = (h_prev - hh) * ra_prime(z)
    from_gh_to_dzh = (1.0 - z) * act_prime(hh)
    if reset_after:
        from_dzh_to_dzr = kept * ra_prime(r)             # u_h ra'(r)
    else:
        h_in = h_prev if m_h is None else h_prev * m_h
        from_drh_to_dzr = h_in * ra_prime(r)
        r_dropped = r if m_h is None else r * m_h        # d(rh) reaches h_{t-1} through r m_h
    direct = z.copy()                                    # dh_{t-1} += gh * this
    if hold is not None:
        every = np.broadcast_to(hold, z.shape)
        from_gh_to_dzz[every] = 0.0
        from_gh_to_dzh[every] = 0.0
        direct[every] = 1.0
    if d_outputs is not None:
        gh_all = grad_to_time_major(d_outputs, dtype)
        if cache["zero_output_for_mask"] and hold is not None:
            gh_all[np.broadcast_to(hold, gh_all.shape)] = 0.0
    else:
        gh_all = np.zeros((T, B, H), dtype)
    if d_last is not None and T:
        gh_all[-1] += d_last
    dx_gates = np.empty((T, B, 3 * H), dtype)
    d_recurrent = np.empty((T, B, 3 * H), dtype) if reset_after else None
    dh_next = np.zeros((B, H), dtype)
    scratch = np.empty((B, H), dtype)
    U_t = recurrent_kernel.T
    U_zr_t, U_h_t = recurrent_kernel[:, :2 * H].T, recurrent_kernel[:, 2 * H:].T
    for t in range(T - 1, -1, -1):
        gh = gh_all[t]
        gh += dh_next
        d = dx_gates[t]
        np.multiply(gh, from_gh_to_dzz[t], out=d[:, :H])
        np.multiply(gh, from_gh_to_dzh[t], out=d[:, 2 * H:])
        if reset_after:
            np.multiply(d[:, 2 * H:], from_dzh_to_dzr[t], out=d[:, H:2 * H])
            du = d_recurrent[t]
            np.copyto(du[:, :2 * H], d[:, :2 * H])
            np.multiply(d[:, 2 * H:], r[t], out=du[:, 2 * H:])
            np.dot(du, U_t, out=dh_next)
            if m_h is not None:
                dh_next *= m_h
        else:
            d_rh = np.dot(d[:, 2 * H:], U_h_t)
            np.multiply(d_rh, from_drh_to_dzr[t], out=d[:, H:2 * H])
            np.dot(d[:, :2 * H], U_zr_t, out=dh_next)
            if m_h is not None:
                dh_next *= m_h
            dh_next += np.multiply(d_rh, r_dropped[t], out=scratch)
        dh_next += np.multiply(gh, direct[t], out=scratch)
    d2 = dx_gates.reshape(T * B, 3 * H)
    grads = {"kernel": np.dot(xs.reshape(T * B, D).T, d2)}
    if reset_after:
        grads["recurrent_kernel"] = recurrent_kernel_grad(h0, hs, d_recurrent, m_h)
    else:
        # U_z, U_r see h_{t-1} m_h; U_h sees r h_{t-1} m_h (kept per step).
        recurrent_grad = np.empty((H, 3 * H), dtype)
        recurrent_grad[:, :2 * H] = recurrent_kernel_grad(h0, hs, np.ascontiguousarray(dx_gates[..., :2 * H]), m_h)
        recurrent_grad[:, 2 * H:] = np.dot(kept.reshape(T * B, H).T, np.ascontiguousarray(dx_gates[..., 2 * H:]).reshape(T * B, H))
        grads["recurrent_kernel"] = recurrent_grad
    if cache["use_bias"]:
        if reset_after:
            grads["bias"] = np.stack([d2.sum(axis=0), d_recurrent.reshape(T * B, 3 * H).sum(axis=0)])
        else:
            grads["bias"] = d2.sum(axis=0)
    dxs = np.dot(d2, kernel.T).reshape(T, B, D)
    if cache["input_dropout_mask"] is not None:
        dxs *= cache["input_dropout_mask"]
    return to_batch_major(dxs, cache["go_backwards"]), dh_next, grads
