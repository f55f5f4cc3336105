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

With the default activations the z and r rows are pre-scaled (see `sigmoid_prescale`) so that one
tanh call activates both sigmoid gates. Layouts as in `ops.sequence`.
"""

import numpy as np

from rnnkit.ops import activations
from rnnkit.ops.lstm import as_columns, check_gradients_known
from rnnkit.ops.sequence import (augmented_kernel_t, buffer, by_feature, drop_inputs, hold_mask, input_grads,
                                 new_outputs, output_grads, project, recurrent_kernel_grad, sigmoid_prescale,
                                 states_by_step, step_states, to_steps, end_step, zero_held, zero_masked_outputs)


def _activate_gates(block, name, fused):
    if fused:
        np.tanh(block, out=block)
        block *= 0.5
        block += 0.5
    else:
        activations.apply_to_columns(name, block)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None, go_backwards=False,
                activation="tanh", recurrent_activation="sigmoid", reset_after=True, return_sequences=True,
                zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                keep_cache=False, workspace=None):
    """Runs a GRU over a batch.

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel: (D, 3H), (H, 3H) in Keras's gate order z, r, h.
        bias: (2, 3H) when reset_after, else (3H,); or None.
        reset_after: apply the reset gate after the recurrent product (Keras 2's default, cuDNN's).
        h0, mask, go_backwards, activations, return_sequences, zero_output_for_mask, dropout masks,
        keep_cache, workspace: as for `lstm_forward`.

    Returns:
        (outputs or None, h_T, cache or None).
    """
    B, T, D = x.shape
    H = recurrent_kernel.shape[0]
    dtype = kernel.dtype
    fused = activation == "tanh" and recurrent_activation == "sigmoid"
    scale = sigmoid_prescale(H, 2, 1, dtype) if fused else np.ones(3 * H, dtype)
    recurrent_t = np.ascontiguousarray(recurrent_kernel.T * scale[:, None])
    b_x = b_hh = None
    if bias is not None:
        b_x = np.array(bias[0] if reset_after else bias, dtype)
        if reset_after:
            b_x[:2 * H] += bias[1, :2 * H]                    # z and r just add both biases
            b_hh = np.array(bias[1, 2 * H:], dtype)[:, None]
    xs = to_steps(x, go_backwards, dtype, workspace, with_bias=bias is not None)
    drop_inputs(xs, input_dropout_mask)
    gates = project(xs, augmented_kernel_t(kernel, b_x, scale), workspace)   # (T, 3H, B), every step at once
    h0t = as_columns(h0, (H, B), dtype)
    hold = hold_mask(mask, go_backwards)
    hs = step_states(workspace, "hs", T, (H, B), dtype, keep_cache)
    slots = T if keep_cache else 2
    # reset_after keeps u_h = U_h^T h + b_hh per step; reset_before keeps r h m_h per step.
    kept = step_states(workspace, "kept", T, (H, B), dtype, keep_cache)
    recurrent = buffer(workspace, "recurrent", (3 * H if reset_after else 2 * H, B), dtype)
    candidate = buffer(workspace, "candidate", (H, B), dtype)
    m_h = None if recurrent_dropout_mask is None else np.ascontiguousarray(recurrent_dropout_mask.T)
    dropped = buffer(workspace, "dropped", (H, B), dtype) if m_h is not None else None
    outputs = new_outputs(B, T, H, dtype) if return_sequences else None
    recurrent_zr_t, recurrent_h_t = recurrent_t[:2 * H], recurrent_t[2 * H:]
    h_prev = h0t
    for t in range(T):
        g = gates[t]
        h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
        if reset_after:
            np.dot(recurrent_t, h_in, out=recurrent)
            u_h = kept[t % slots]
            if b_hh is not None:
                np.add(recurrent[2 * H:], b_hh, out=u_h)
            else:
                np.copyto(u_h, recurrent[2 * H:])
            g[:2 * H] += recurrent[:2 * H]
            _activate_gates(g[:2 * H], recurrent_activation, fused)
            g[2 * H:] += np.multiply(g[H:2 * H], u_h, out=candidate)
        else:
            np.dot(recurrent_zr_t, h_in, out=recurrent)
            g[:2 * H] += recurrent
            _activate_gates(g[:2 * H], recurrent_activation, fused)
            rh = np.multiply(g[H:2 * H], h_in, out=kept[t % slots])
            g[2 * H:] += np.dot(recurrent_h_t, rh, out=candidate)
        hh = g[2 * H:]
        activations.apply_to_columns(activation, hh)
        h = hs[t % slots]
        np.subtract(h_prev, hh, out=candidate)     # h_t = hh + z (h_{t-1} - hh)
        candidate *= g[:H]
        np.add(hh, candidate, out=h)
        end_step(h, h_prev, hold, outputs, t)
        h_prev = h
    last = np.array(h_prev.T, order="C")
    zero_masked_outputs(outputs, hold, zero_output_for_mask)
    cache = None
    if keep_cache:
        cache = dict(xs=xs, gates=gates, hs=hs, kept=kept, h0t=h0t, hold=hold, kernel=kernel,
                     recurrent_kernel=recurrent_kernel, use_bias=bias is not None, reset_after=reset_after,
                     activation=activation, recurrent_activation=recurrent_activation,
                     go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
                     input_dropout_mask=input_dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
                     workspace=workspace)
    return outputs, last, cache


def gru_backward(d_outputs, d_last, cache, need_dx=True):
    """Backpropagation through time for `gru_forward`.

    Returns:
        (dx (B, T, D), dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's layout.
    """
    check_gradients_known(cache["activation"], cache["recurrent_activation"])
    xs, gates, hs, kept, h0t = cache["xs"], cache["gates"], cache["hs"], cache["kept"], cache["h0t"]
    hold, m_h, reset_after = cache["hold"], cache["recurrent_dropout_mask"], cache["reset_after"]
    recurrent_kernel, workspace = cache["recurrent_kernel"], cache["workspace"]
    T, H, B = hs.shape
    dtype = hs.dtype
    ra, act = cache["recurrent_activation"], cache["activation"]
    z, r, hh = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    h_prev = states_by_step(h0t, hs, workspace)
    m_ht = None if m_h is None else np.ascontiguousarray(m_h.T)

    spare = buffer(workspace, "spare", (T, H, B), dtype)
    # Every derivative factor for all steps at once (vectorised, before the loop), (T, H, B). The
    # gates, u_h and h_{t-1} are spent after this, so the factors overwrite them in place; the
    # order matters: each is read in its original form before it is overwritten.
    if reset_after:
        from_dzh_to_dzr = kept                           # u_h ra'(r), over u_h
        from_dzh_to_dzr *= activations.derivative_into(ra, r, spare)
    else:
        from_drh_to_dzr = activations.derivative_into(ra, r, buffer(workspace, "drh_dzr", (T, H, B), dtype))
        from_drh_to_dzr *= h_prev                        # h_{t-1} m_h ra'(r)
        if m_ht is not None:
            from_drh_to_dzr *= m_ht
        r_dropped = r if m_ht is None else r * m_ht      # d(rh) reaches h_{t-1} through r m_h
    from_gh_to_dzz = h_prev                              # (h_{t-1} - hh) ra'(z), over h_{t-1}
    from_gh_to_dzz -= hh
    from_gh_to_dzz *= activations.derivative_into(ra, z, spare)
    from_gh_to_dzh = activations.derivative_into(act, hh, hh, spare)   # (1 - z) act'(hh), over hh
    from_gh_to_dzh *= np.subtract(1.0, z, out=spare)
    direct = z                                           # dh_{t-1} += gh * z, over z
    if hold is not None:
        zero_held(from_gh_to_dzz, hold)
        zero_held(from_gh_to_dzh, hold)
        np.copyto(direct, 1.0, where=np.broadcast_to(hold, direct.shape))
    gh_all = output_grads(d_outputs, d_last, hold, cache["zero_output_for_mask"], (T, H, B), dtype, workspace)
    dz = buffer(workspace, "dz", (T, 3 * H, B), dtype)                # input-side gate gradients
    du = buffer(workspace, "du", (3 * H, B), dtype) if reset_after else None   # recurrent side, one step
    dh_next = np.zeros((H, B), dtype)
    scratch = np.empty((H, B), dtype)
    d_rh = np.empty((H, B), dtype)
    recurrent_zr, recurrent_h = recurrent_kernel[:, :2 * H], recurrent_kernel[:, 2 * H:]
    for t in range(T - 1, -1, -1):
        gh = gh_all[t]
        gh += dh_next
        d = dz[t]
        np.multiply(gh, from_gh_to_dzz[t], out=d[:H])
        np.multiply(gh, from_gh_to_dzh[t], out=d[2 * H:])
        if reset_after:
            np.multiply(d[2 * H:], from_dzh_to_dzr[t], out=d[H:2 * H])
            np.copyto(du[:2 * H], d[:2 * H])
            np.multiply(d[2 * H:], r[t], out=du[2 * H:])
            np.dot(recurrent_kernel, du, out=dh_next)
            if m_ht is not None:
                dh_next *= m_ht
        else:
            np.dot(recurrent_h, d[2 * H:], out=d_rh)
            np.multiply(d_rh, from_drh_to_dzr[t], out=d[H:2 * H])
            np.dot(recurrent_zr, d[:2 * H], out=dh_next)
            if m_ht is not None:
                dh_next *= m_ht
            dh_next += np.multiply(d_rh, r_dropped[t], out=scratch)
        dh_next += np.multiply(gh, direct[t], out=scratch)
    if reset_after:   # the recurrent side's candidate gradient, dz_h r, before r's buffer is reused
        dzh_r = np.multiply(dz[:, 2 * H:], r, out=spare)
    # The gates are spent: their buffer takes dz's (G, T, B) copy.
    dz = by_feature(dz, into=gates)
    kernel_grad, bias_grad, dx = input_grads(xs, dz, cache["kernel"], cache["input_dropout_mask"],
                                             cache["go_backwards"], workspace, need_dx)
    grads = {"kernel": kernel_grad}
    # U_z, U_r see h_{t-1} m_h on both variants; U_h sees h_{t-1} m_h against dz_h r (after) or
    # r h_{t-1} m_h (kept per step) against dz_h (before).
    recurrent_grad = np.empty((H, 3 * H), dtype)
    recurrent_grad[:, :2 * H] = recurrent_kernel_grad(h0t, hs, dz[:2 * H], m_h, workspace)
    if reset_after:
        dzh_r_by_feature = by_feature(dzh_r, into=from_gh_to_dzz)
        recurrent_grad[:, 2 * H:] = recurrent_kernel_grad(h0t, hs, dzh_r_by_feature, m_h, workspace)
    else:
        kept_by_feature = by_feature(kept, into=from_gh_to_dzz)
        recurrent_grad[:, 2 * H:] = np.dot(kept_by_feature.reshape(H, T * B), dz[2 * H:].reshape(H, T * B).T)
    grads["recurrent_kernel"] = recurrent_grad
    if cache["use_bias"]:
        if reset_after:
            recurrent_bias_grad = np.concatenate([bias_grad[:2 * H], dzh_r_by_feature.sum(axis=(1, 2))])
            grads["bias"] = np.stack([bias_grad, recurrent_bias_grad])
        else:
            grads["bias"] = bias_grad
    return dx, np.array(dh_next.T, order="C"), grads
