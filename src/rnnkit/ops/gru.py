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

The two variants are two cells (`GRUResetAfter`, `GRUResetBefore`), each with its own readable
loops; the scaffold (`ops.scaffold`) does the projection, masks, dropout, direction, states and
the weight-gradient products. With the default activations the z and r rows are pre-scaled (see
`sigmoid_prescale`) so that one tanh call activates both sigmoid gates. States: [h]. With the
compiled kernels (`ops.kernels`) and the default activations, each step's elementwise work is
one kernel call between the BLAS products (two for reset_before, whose candidate product sits
in the middle of the step), and the backward forms its factors per step inside the kernels.
"""

import numpy as np

from rnnkit.ops import activations, kernels, scaffold
from rnnkit.ops.activations import check_gradients_known
from rnnkit.ops.sequence import (augmented_kernel_t, buffer, by_feature, end_step, gates, scaled_transpose,
                                 sigmoid_prescale, states_by_step, zero_held)


def _activate_gates(block, name, fused):
    if fused:
        np.tanh(block, out=block)
        block *= 0.5
        block += 0.5
    else:
        activations.apply_to_columns(name, block)


class _GRU:
    """What both GRU variants share: three gate blocks (z, r, h), states [h], the weights."""

    gate_count = 3
    state_count = 1
    reset_after = None

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid"):
        self.units, self.activation, self.recurrent_activation = units, activation, recurrent_activation
        self.fused = activation == "tanh" and recurrent_activation == "sigmoid"

    def weight_shapes(self, input_dim, use_bias=True):
        H = self.units
        shapes = {"kernel": (input_dim, 3 * H), "recurrent_kernel": (H, 3 * H)}
        if use_bias:
            shapes["bias"] = (2, 3 * H) if self.reset_after else (3 * H,)
        return shapes

    def check_trainable(self):
        check_gradients_known(self.activation, self.recurrent_activation)

    def _prepare(self, weights, input_bias, **extra):
        kernel, recurrent_kernel = weights["kernel"], weights["recurrent_kernel"]
        H, dtype = self.units, kernel.dtype
        scale = sigmoid_prescale(H, 2, 1, dtype) if self.fused else np.ones(3 * H, dtype)
        return scaffold.Prepared(augmented_kernel_t(kernel, input_bias, scale), kernel, input_bias is not None,
                                 recurrent_t=scaled_transpose(recurrent_kernel, scale),
                                 recurrent_kernel=recurrent_kernel, **extra)

    def _factors(self, run, kept, h_prev, spare):
        """The derivative factors both variants share, for all steps at once, (T, H, B):
        (h_{t-1} - hh) ra'(z) over h_{t-1}; (1 - z) act'(hh) over hh; z (the direct path)."""
        H, hold = run.H, run.hold
        Z, R, HH = gates(H, 3)
        z, hh = run.z[:, Z], run.z[:, HH]
        from_gh_to_dzz = h_prev                              # (h_{t-1} - hh) ra'(z), over h_{t-1}
        from_gh_to_dzz -= hh
        from_gh_to_dzz *= activations.derivative_into(self.recurrent_activation, z, spare)
        from_gh_to_dzh = activations.derivative_into(self.activation, hh, hh, spare)   # (1 - z) act'(hh)
        from_gh_to_dzh *= np.subtract(1.0, z, out=spare)
        direct = z                                           # dh_{t-1} += gh * z, over z
        if hold is not None:
            zero_held(from_gh_to_dzz, hold)
            zero_held(from_gh_to_dzh, hold)
            np.copyto(direct, 1.0, where=np.broadcast_to(hold, direct.shape))
        return from_gh_to_dzz, from_gh_to_dzh, direct


class GRUResetAfter(_GRU):
    """reset_after=True (Keras 2's default, cuDNN's): hh = act(x'_h + r (h_{t-1} m_h U_h + b_h))."""

    reset_after = True

    def prepare(self, weights):
        bias, H = weights.get("bias"), self.units
        b_x = b_hh = None
        if bias is not None:
            b_x = np.array(bias[0], weights["kernel"].dtype)
            b_x[:2 * H] += bias[1, :2 * H]                    # z and r just add both biases
            b_hh = np.array(bias[1, 2 * H:], weights["kernel"].dtype)[:, None]
        return self._prepare(weights, b_x, b_hh=b_hh)

    def forward_loop(self, run, p):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_forward(compiled, run, p)
        H, T, slots, hold, outputs, m_h = run.H, run.T, run.slots, run.hold, run.outputs, run.m_h
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        recurrent_t, b_hh, all_gates, fused = p.recurrent_t, p.b_hh, run.z, self.fused
        hs = run.step_states("hs")
        kept = run.step_states("kept")                      # u_h = U_h^T h + b_hh per step
        recurrent = buffer(run.workspace, "recurrent", (3 * H, run.B), run.dtype)
        candidate = buffer(run.workspace, "candidate", (H, run.B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (H, run.B), run.dtype) if m_h is not None else None
        h_prev = run.states0[0]
        for t in range(T):
            g = all_gates[t]
            h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
            np.dot(recurrent_t, h_in, out=recurrent)
            u_h = kept[t % slots]
            if b_hh is not None:
                np.add(recurrent[HH], b_hh, out=u_h)
            else:
                np.copyto(u_h, recurrent[HH])
            g[ZR] += recurrent[ZR]
            _activate_gates(g[ZR], self.recurrent_activation, fused)
            g[HH] += np.multiply(g[R], u_h, out=candidate)
            hh = g[HH]
            activations.apply_to_columns(self.activation, hh)
            h = hs[t % slots]
            np.subtract(h_prev, hh, out=candidate)     # h_t = hh + z (h_{t-1} - hh)
            candidate *= g[Z]
            np.add(hh, candidate, out=h)
            end_step(h, h_prev, hold, outputs, t)
            h_prev = h
        return [h_prev], {"hs": hs, "kept": kept}

    def _compiled_forward(self, compiled, run, p):
        """The forward loop with one compiled kernel per step (see `ops.kernels`); with the BLAS's
        gemm found, the whole loop is one compiled call."""
        H, B, T, slots, hold, outputs = run.H, run.B, run.T, run.slots, run.hold, run.outputs
        m_h, all_gates = kernels.as_dtype(run.m_h, run.dtype), run.z
        b_hh = None if p.b_hh is None else np.ascontiguousarray(p.b_hh[:, 0])
        hs, kept = run.step_states("hs"), run.step_states("kept")       # kept: u_h per step
        recurrent = buffer(run.workspace, "recurrent", (3 * H, B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (H, B), run.dtype) if m_h is not None else None
        h_prev = run.states0[0]
        threads = kernels.threads_for(3 * H * B)
        if kernels.gemm(run.dtype) is not None:
            compiled.gru_after_forward_sequence(threads, T, B, H, len(hs), run.zero_start, all_gates,
                                                kernels.operand(p.recurrent_t, run.dtype), h_prev, hold, hs, kept,
                                                b_hh, m_h, dropped, outputs, recurrent)
            return [hs[(T - 1) % slots] if T else h_prev], {"hs": hs, "kept": kept}
        h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
        step = compiled.gru_after_forward
        for t in range(T):
            np.dot(p.recurrent_t, h_in, out=recurrent)
            h = hs[t % slots]
            step(threads, B, H, t, all_gates[t], recurrent, b_hh, h_prev, None if hold is None else hold[t],
                 kept[t % slots], h, m_h, dropped, outputs)
            h_prev, h_in = h, (h if m_h is None else dropped)
        return [h_prev], {"hs": hs, "kept": kept}

    def _compiled_backward(self, compiled, run, p, kept, gh_all, d_rest):
        """One kernel per step (gh_t over g_t; dz_t; du_t, the recurrent product's operand; dz_h r
        for dU_h), then dh_{t-1}'s product."""
        T, H, B, hold, z_all = run.T, run.H, run.B, run.hold, run.z
        m_h, hs, h0t = kernels.as_dtype(run.m_h, run.dtype), kept["hs"], run.states0[0]
        dz = buffer(run.workspace, "dz", (T, 3 * H, B), run.dtype)
        du = buffer(run.workspace, "du", (3 * H, B), run.dtype)
        dzh_r = buffer(run.workspace, "spare", (T, H, B), run.dtype)
        prod = np.zeros((H, B), run.dtype)
        threads = kernels.threads_for(3 * H * B)
        if kernels.gemm(run.dtype) is not None:             # the whole loop in one call
            compiled.gru_after_backward_sequence(threads, T, B, H, T, True, gh_all,
                                                 kernels.operand(p.recurrent_kernel, run.dtype), z_all, kept["kept"],
                                                 h0t, hs, hold, m_h, dz, du, dzh_r, prod)
        else:
            step = compiled.gru_after_backward
            for t in range(T - 1, -1, -1):
                after = t != T - 1                          # nothing comes back from after the last step
                step(threads, B, H, gh_all[t], prod if after else None, m_h, gh_all[t + 1] if after else None,
                     z_all[t + 1, :H] if after else None, hold[t + 1] if after and hold is not None else None,
                     z_all[t], kept["kept"][t], hs[t - 1] if t else h0t, None if hold is None else hold[t], dz[t],
                     du, dzh_r[t])
                np.dot(p.recurrent_kernel, du, out=prod)
        dh0 = kernels.state_grad(prod, m_h, gh_all, hold, direct=z_all[0, :H] if T else None)
        kept["dzh_r"], kept["spare_by_feature"] = dzh_r, kept["kept"]    # u_h is spent
        return dz, z_all, [dh0]

    def backward_loop(self, run, p, kept, gh_all, d_rest):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_backward(compiled, run, p, kept, gh_all, d_rest)
        T, H, B, dtype, workspace, m_ht = run.T, run.H, run.B, run.dtype, run.workspace, run.m_h
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        r = run.z[:, R]
        h_prev = states_by_step(run.states0[0], kept["hs"], workspace)
        spare = buffer(workspace, "spare", (T, H, B), dtype)
        # Every derivative factor for all steps at once, (T, H, B), over spent buffers: each is
        # read in its original form before it is overwritten.
        from_dzh_to_dzr = kept["kept"]                       # u_h ra'(r), over u_h
        from_dzh_to_dzr *= activations.derivative_into(self.recurrent_activation, r, spare)
        from_gh_to_dzz, from_gh_to_dzh, direct = self._factors(run, kept, h_prev, spare)
        dz = buffer(workspace, "dz", (T, 3 * H, B), dtype)                # input-side gate gradients
        du = buffer(workspace, "du", (3 * H, B), dtype)                  # recurrent side, one step
        dh_next = np.zeros((H, B), dtype)
        scratch = np.empty((H, B), dtype)
        recurrent_kernel = p.recurrent_kernel
        for t in range(T - 1, -1, -1):
            gh = gh_all[t]
            if t != T - 1:                                  # nothing comes back from after the last step
                gh += dh_next
            d = dz[t]
            np.multiply(gh, from_gh_to_dzz[t], out=d[Z])
            np.multiply(gh, from_gh_to_dzh[t], out=d[HH])
            np.multiply(d[HH], from_dzh_to_dzr[t], out=d[R])
            np.copyto(du[ZR], d[ZR])
            np.multiply(d[HH], r[t], out=du[HH])
            np.dot(recurrent_kernel, du, out=dh_next)
            if m_ht is not None:
                dh_next *= m_ht
            dh_next += np.multiply(gh, direct[t], out=scratch)
        # the recurrent side's candidate gradient, dz_h r, before r's buffer is reused
        kept["dzh_r"] = np.multiply(dz[:, HH], r, out=spare)
        kept["spare_by_feature"] = from_gh_to_dzz
        return dz, run.z, [dh_next]

    def weight_grads(self, run, p, kept, dz, kernel_grad, bias_grad):
        # U_z, U_r see h_{t-1} m_h against dz_z, dz_r; U_h sees h_{t-1} m_h against dz_h r.
        H = run.H
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        T, B = run.T, run.B
        recurrent_grad = np.empty((H, 3 * H), run.dtype)
        h_prev = scaffold.previous_states(run, kept)       # (H, T B), one operand for both products
        recurrent_grad[:, ZR] = np.dot(h_prev, dz[ZR].reshape(2 * H, T * B).T)
        dzh_r_by_feature = by_feature(kept["dzh_r"], into=kept["spare_by_feature"])
        recurrent_grad[:, HH] = np.dot(h_prev, dzh_r_by_feature.reshape(H, T * B).T)
        grads = {"kernel": kernel_grad, "recurrent_kernel": recurrent_grad}
        if p.bias_in_projection:
            recurrent_bias_grad = np.concatenate([bias_grad[ZR], dzh_r_by_feature.sum(axis=(1, 2))])
            grads["bias"] = np.stack([bias_grad, recurrent_bias_grad])
        return grads


class GRUResetBefore(_GRU):
    """reset_after=False: hh = act(x'_h + (r h_{t-1} m_h) U_h)."""

    reset_after = False

    def prepare(self, weights):
        bias = weights.get("bias")
        return self._prepare(weights, None if bias is None else np.array(bias, weights["kernel"].dtype))

    def forward_loop(self, run, p):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_forward(compiled, run, p)
        H, T, slots, hold, outputs, m_h = run.H, run.T, run.slots, run.hold, run.outputs, run.m_h
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        all_gates, fused = run.z, self.fused
        recurrent_zr_t, recurrent_h_t = p.recurrent_t[ZR], p.recurrent_t[HH]
        hs = run.step_states("hs")
        kept = run.step_states("kept")                      # r h_{t-1} m_h per step
        recurrent = buffer(run.workspace, "recurrent", (2 * H, run.B), run.dtype)
        candidate = buffer(run.workspace, "candidate", (H, run.B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (H, run.B), run.dtype) if m_h is not None else None
        h_prev = run.states0[0]
        for t in range(T):
            g = all_gates[t]
            h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
            np.dot(recurrent_zr_t, h_in, out=recurrent)
            g[ZR] += recurrent
            _activate_gates(g[ZR], self.recurrent_activation, fused)
            rh = np.multiply(g[R], h_in, out=kept[t % slots])
            g[HH] += np.dot(recurrent_h_t, rh, out=candidate)
            hh = g[HH]
            activations.apply_to_columns(self.activation, hh)
            h = hs[t % slots]
            np.subtract(h_prev, hh, out=candidate)     # h_t = hh + z (h_{t-1} - hh)
            candidate *= g[Z]
            np.add(hh, candidate, out=h)
            end_step(h, h_prev, hold, outputs, t)
            h_prev = h
        return [h_prev], {"hs": hs, "kept": kept}

    def _compiled_forward(self, compiled, run, p):
        """Two compiled kernels per step, around the candidate's product (see `ops.kernels`); with
        the BLAS's gemm found, the whole loop is one compiled call."""
        H, B, T, slots, hold, outputs = run.H, run.B, run.T, run.slots, run.hold, run.outputs
        m_h, all_gates = kernels.as_dtype(run.m_h, run.dtype), run.z
        Z, R, HH = gates(H, 3)
        recurrent_zr_t, recurrent_h_t = p.recurrent_t[Z.start:R.stop], p.recurrent_t[HH]
        hs, kept = run.step_states("hs"), run.step_states("kept")       # kept: r h_{t-1} m_h per step
        recurrent = buffer(run.workspace, "recurrent", (2 * H, B), run.dtype)
        candidate = buffer(run.workspace, "candidate", (H, B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (H, B), run.dtype) if m_h is not None else None
        h_prev = run.states0[0]
        threads = kernels.threads_for(3 * H * B)
        if kernels.gemm(run.dtype) is not None:             # the whole loop in one call
            compiled.gru_before_forward_sequence(threads, T, B, H, len(hs), run.zero_start, all_gates,
                                                 kernels.operand(p.recurrent_t, run.dtype), h_prev, hold, hs, kept,
                                                 m_h, dropped, outputs)
            return [hs[(T - 1) % slots] if T else h_prev], {"hs": hs, "kept": kept}
        h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
        for t in range(T):
            np.dot(recurrent_zr_t, h_in, out=recurrent)
            rh = kept[t % slots]
            compiled.gru_before_gates(threads, B, H, all_gates[t], recurrent, h_in, rh)
            np.dot(recurrent_h_t, rh, out=candidate)
            h = hs[t % slots]
            compiled.gru_before_out(threads, B, H, t, all_gates[t], candidate, h_prev,
                                    None if hold is None else hold[t], h, m_h, dropped, outputs)
            h_prev, h_in = h, (h if m_h is None else dropped)
        return [h_prev], {"hs": hs, "kept": kept}

    def _compiled_backward(self, compiled, run, p, kept, gh_all, d_rest):
        """Per step: a kernel (gh_t over g_t; dz_z, dz_h), d(rh) = U_h dz_h, a kernel (dz_r), then
        the z and r gates' product towards dh_{t-1}."""
        T, H, B, hold, z_all = run.T, run.H, run.B, run.hold, run.z
        m_h, hs, h0t = kernels.as_dtype(run.m_h, run.dtype), kept["hs"], run.states0[0]
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        recurrent_zr, recurrent_h = p.recurrent_kernel[:, ZR], p.recurrent_kernel[:, HH]
        dz = buffer(run.workspace, "dz", (T, 3 * H, B), run.dtype)
        prod, d_rh = np.zeros((H, B), run.dtype), np.zeros((H, B), run.dtype)
        threads = kernels.threads_for(3 * H * B)
        if kernels.gemm(run.dtype) is not None:             # the whole loop in one call
            compiled.gru_before_backward_sequence(threads, T, B, H, T, True, gh_all,
                                                  kernels.operand(p.recurrent_kernel, run.dtype), z_all, h0t, hs,
                                                  hold, m_h, dz, d_rh, prod)
        else:
            first_step, reset_step = compiled.gru_before_backward, compiled.gru_before_reset
            for t in range(T - 1, -1, -1):
                after = t != T - 1                          # nothing comes back from after the last step
                h_prev = hs[t - 1] if t else h0t
                first_step(threads, B, H, gh_all[t], prod if after else None, d_rh if after else None,
                           z_all[t + 1, R] if after else None, m_h, gh_all[t + 1] if after else None,
                           z_all[t + 1, Z] if after else None, hold[t + 1] if after and hold is not None else None,
                           z_all[t], h_prev, None if hold is None else hold[t], dz[t])
                np.dot(recurrent_h, dz[t, HH], out=d_rh)
                reset_step(threads, B, H, d_rh, z_all[t], h_prev, m_h, dz[t])
                np.dot(recurrent_zr, dz[t, ZR], out=prod)
        if T:
            prod += d_rh * z_all[0, R]                     # d(rh) reaches h_{-1} m_h through r
        dh0 = kernels.state_grad(prod, m_h, gh_all, hold, direct=z_all[0, Z] if T else None)
        kept["spare_by_feature"] = buffer(run.workspace, "spare", (T, H, B), run.dtype)
        return dz, z_all, [dh0]

    def backward_loop(self, run, p, kept, gh_all, d_rest):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_backward(compiled, run, p, kept, gh_all, d_rest)
        T, H, B, dtype, workspace, m_ht = run.T, run.H, run.B, run.dtype, run.workspace, run.m_h
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        r = run.z[:, R]
        h_prev = states_by_step(run.states0[0], kept["hs"], workspace)
        spare = buffer(workspace, "spare", (T, H, B), dtype)
        from_drh_to_dzr = activations.derivative_into(self.recurrent_activation, r,
                                                      buffer(workspace, "drh_dzr", (T, H, B), dtype))
        from_drh_to_dzr *= h_prev                            # h_{t-1} m_h ra'(r)
        if m_ht is not None:
            from_drh_to_dzr *= m_ht
        from_gh_to_dzz, from_gh_to_dzh, direct = self._factors(run, kept, h_prev, spare)
        dz = buffer(workspace, "dz", (T, 3 * H, B), dtype)
        dh_next = np.zeros((H, B), dtype)
        scratch = np.empty((H, B), dtype)
        d_rh = np.empty((H, B), dtype)
        recurrent_zr, recurrent_h = p.recurrent_kernel[:, ZR], p.recurrent_kernel[:, HH]
        for t in range(T - 1, -1, -1):
            gh = gh_all[t]
            if t != T - 1:                                  # nothing comes back from after the last step
                gh += dh_next
            d = dz[t]
            np.multiply(gh, from_gh_to_dzz[t], out=d[Z])
            np.multiply(gh, from_gh_to_dzh[t], out=d[HH])
            np.dot(recurrent_h, d[HH], out=d_rh)
            np.multiply(d_rh, from_drh_to_dzr[t], out=d[R])
            np.dot(recurrent_zr, d[ZR], out=dh_next)
            dh_next += np.multiply(d_rh, r[t], out=scratch)   # d(rh) reaches h_{t-1} m_h through r
            if m_ht is not None:
                dh_next *= m_ht                             # (U_zr dzr + r d_rh) m_h
            dh_next += np.multiply(gh, direct[t], out=scratch)
        kept["spare_by_feature"] = from_gh_to_dzz
        return dz, run.z, [dh_next]

    def weight_grads(self, run, p, kept, dz, kernel_grad, bias_grad):
        # U_z, U_r see h_{t-1} m_h against dz_z, dz_r; U_h sees r h_{t-1} m_h (kept) against dz_h.
        H, T, B = run.H, run.T, run.B
        Z, R, HH = gates(H, 3)
        ZR = slice(Z.start, R.stop)
        recurrent_grad = np.empty((H, 3 * H), run.dtype)
        recurrent_grad[:, ZR] = scaffold.recurrent_grad(run, kept, dz[ZR])
        kept_by_feature = by_feature(kept["kept"], into=kept["spare_by_feature"])
        recurrent_grad[:, HH] = np.dot(kept_by_feature.reshape(H, T * B), dz[HH].reshape(H, T * B).T)
        grads = {"kernel": kernel_grad, "recurrent_kernel": recurrent_grad}
        if p.bias_in_projection:
            grads["bias"] = bias_grad
        return grads


def gru_cell(units, activation="tanh", recurrent_activation="sigmoid", reset_after=True):
    """The GRU cell of the variant `reset_after` picks."""
    return (GRUResetAfter if reset_after else GRUResetBefore)(units, activation, recurrent_activation)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None, go_backwards=False,
                activation="tanh", recurrent_activation="sigmoid", reset_after=True, return_sequences=True,
                zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                keep_cache=False, workspace=None):
    """Runs a GRU over a batch (`ops.scaffold.forward` with the variant's cell).

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
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel}
    if bias is not None:
        weights["bias"] = bias
    cell = gru_cell(recurrent_kernel.shape[0], activation, recurrent_activation, reset_after)
    outputs, (h,), cache = scaffold.forward(cell, weights, x, [h0], mask, go_backwards, return_sequences,
                                            zero_output_for_mask, input_dropout_mask, recurrent_dropout_mask,
                                            keep_cache, workspace)
    return outputs, h, cache


def gru_backward(d_outputs, d_last, cache, need_dx=True):
    """Backpropagation through time for `gru_forward`.

    Returns:
        (dx (B, T, D), dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's layout.
    """
    dx, (dh0,), grads = scaffold.backward(d_outputs, [d_last], cache, need_dx)
    return dx, dh0, grads
