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

The scaffold (`ops.scaffold`) does the projection, masks, dropout, direction, states and the
weight-gradient products; this file is the cell. Inside, the gates are reordered i, f, o, c so
that the three sigmoid gates are contiguous rows of a step's (4H, B) block; with the default
activations the sigmoid rows are pre-scaled (see `sigmoid_prescale`) so that one tanh call
activates all four gates. Every derivative factor is formed for all steps at once before the
backward loop, which then does a handful of in-place products per step. States: [h, c].
Layouts as in `ops.sequence`. With the compiled kernels (`ops.kernels`) and the default
activations, each step's elementwise work is one kernel call between the BLAS products, and the
backward forms the derivative factors per step inside its kernel instead of before the loop.
"""

import functools

import numpy as np

from rnnkit.ops import activations, kernels, scaffold
from rnnkit.ops.activations import check_gradients_known
from rnnkit.ops.sequence import augmented_kernel_t, buffer, end_step, gates, sigmoid_prescale, zero_held


@functools.lru_cache(maxsize=64)
def _internal_order(H):
    """Row indices taking Keras's gates (i, f, c, o) to (i, f, o, c), and back."""
    order = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
    return order, np.argsort(order)


class LSTM:
    """The LSTM cell's math for `ops.scaffold`: four gate blocks, states [h, c]."""

    gate_count = 4
    state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid"):
        self.units, self.activation, self.recurrent_activation = units, activation, recurrent_activation
        self.fused = activation == "tanh" and recurrent_activation == "sigmoid"

    def weight_shapes(self, input_dim, use_bias=True):
        H = self.units
        shapes = {"kernel": (input_dim, 4 * H), "recurrent_kernel": (H, 4 * H)}
        if use_bias:
            shapes["bias"] = (4 * H,)
        return shapes

    def prepare(self, weights):
        kernel, recurrent_kernel, bias = weights["kernel"], weights["recurrent_kernel"], weights.get("bias")
        H, dtype = self.units, kernel.dtype
        order, inverse = _internal_order(H)
        scale = sigmoid_prescale(H, 3, 1, dtype) if self.fused else np.ones(4 * H, dtype)
        kernel_t = augmented_kernel_t(kernel[:, order], None if bias is None else bias[order], scale)
        # kernel (for dx) and recurrent_kernel in the internal order are made by the backward only
        return scaffold.Prepared(kernel_t, None, bias is not None, inverse=inverse, order=order, weights=weights,
                                 recurrent_t=np.ascontiguousarray(recurrent_kernel[:, order].T * scale[:, None]))

    def check_trainable(self):
        check_gradients_known(self.activation, self.recurrent_activation)

    def forward_loop(self, run, p):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_forward(compiled, run, p)
        H, T, slots, hold, outputs, m_h = run.H, run.T, run.slots, run.hold, run.outputs, run.m_h
        activation, recurrent_activation, fused = self.activation, self.recurrent_activation, self.fused
        I, F, O, C = gates(H, 4)                             # internal order: the sigmoid gates first
        SIGMOIDS = slice(I.start, O.stop)
        recurrent_t, all_gates = p.recurrent_t, run.z
        hs, cs, tcs = run.step_states("hs"), run.step_states("cs"), run.step_states("tcs")
        recurrent = buffer(run.workspace, "recurrent", (4 * H, run.B), run.dtype)
        ig = buffer(run.workspace, "ig", (H, run.B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (H, run.B), run.dtype) if m_h is not None else None
        h_prev, c_prev = run.states0
        zero_start = run.zero_start
        for t in range(T):
            z = all_gates[t]
            if t or not zero_start:                         # h_{-1} = 0 adds nothing at the first step
                np.dot(recurrent_t, h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped), out=recurrent)
                z += recurrent
            if fused:
                np.tanh(z, out=z)
                sig = z[SIGMOIDS]
                sig *= 0.5
                sig += 0.5
            else:
                activations.apply_to_columns(recurrent_activation, z[SIGMOIDS])
                activations.apply_to_columns(activation, z[C])
            i, f, o, g = z[I], z[F], z[O], z[C]
            c, tc, h = cs[t % slots], tcs[t % slots], hs[t % slots]
            np.multiply(f, c_prev, out=c)
            c += np.multiply(i, g, out=ig)
            activations.apply_to_columns(activation, c, out=tc)
            np.multiply(o, tc, out=h)
            if hold is not None:
                np.copyto(c, c_prev, where=hold[t])
            end_step(h, h_prev, hold, outputs, t)
            h_prev, c_prev = h, c
        return [h_prev, c_prev], {"hs": hs, "cs": cs, "tcs": tcs}

    def _compiled_forward(self, compiled, run, p):
        """The forward loop with one compiled kernel per step (see `ops.kernels`); with the BLAS's
        gemm found, the whole loop is one compiled call."""
        H, B, T, slots, hold, outputs = run.H, run.B, run.T, run.slots, run.hold, run.outputs
        recurrent_t, all_gates, m_h = p.recurrent_t, run.z, kernels.as_dtype(run.m_h, run.dtype)
        hs, cs, tcs = run.step_states("hs"), run.step_states("cs"), run.step_states("tcs")
        dropped = buffer(run.workspace, "dropped", (H, B), run.dtype) if m_h is not None else None
        h_prev, c_prev = run.states0
        threads = kernels.threads_for(4 * H * B)
        if kernels.gemm(run.dtype) is not None:
            compiled.lstm_forward_sequence(threads, T, B, H, len(hs), run.zero_start, all_gates,
                                           kernels.operand(recurrent_t, run.dtype), h_prev, c_prev, hold, hs, cs, tcs,
                                           m_h, dropped, outputs)
            last = [hs[(T - 1) % slots], cs[(T - 1) % slots]] if T else [h_prev, c_prev]
            return last, {"hs": hs, "cs": cs, "tcs": tcs}
        recurrent = buffer(run.workspace, "recurrent", (4 * H, B), run.dtype)
        h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
        step = compiled.lstm_forward
        for t in range(T):
            rec = None
            if t or not run.zero_start:                     # h_{-1} = 0 adds nothing at the first step
                rec = np.dot(recurrent_t, h_in, out=recurrent)
            h, c, tc = hs[t % slots], cs[t % slots], tcs[t % slots]
            step(threads, B, H, t, all_gates[t], rec, h_prev, c_prev, None if hold is None else hold[t], h, c, tc,
                 m_h, dropped, outputs)
            h_prev, c_prev, h_in = h, c, (h if m_h is None else dropped)
        return [h_prev, c_prev], {"hs": hs, "cs": cs, "tcs": tcs}

    def _compiled_backward(self, compiled, run, p, kept, gh_all, d_rest):
        """The backward loop with one compiled kernel per step: gh_t (written over g_t), dz_t and
        dc_{t-1} from the kept activations, then dh_{t-1}'s product."""
        z_all, cs, tcs = run.z, kept["cs"], kept["tcs"]
        h0t, c0t = run.states0
        T, H, B, hold, m_h = run.T, run.H, run.B, run.hold, kernels.as_dtype(run.m_h, run.dtype)
        p.kernel = np.ascontiguousarray(p.weights["kernel"][:, p.order])          # for dx, internal order
        recurrent_kernel = np.ascontiguousarray(p.weights["recurrent_kernel"][:, p.order])   # (H, 4H)
        dz = buffer(run.workspace, "dz", (T, 4 * H, B), run.dtype)
        prod = np.zeros((H, B), run.dtype)
        dc_next = d_rest[0]
        threads = kernels.threads_for(4 * H * B)
        if kernels.gemm(run.dtype) is not None:             # the whole loop in one call
            compiled.lstm_backward_sequence(threads, T, B, H, T, run.need_initial_grads, gh_all,
                                            kernels.operand(recurrent_kernel, run.dtype), z_all, c0t, cs, tcs, hold,
                                            m_h, dc_next, dz, prod)
        else:
            step = compiled.lstm_backward
            for t in range(T - 1, -1, -1):
                after = t != T - 1                          # nothing comes back from after the last step
                step(threads, B, H, gh_all[t], prod if after else None, m_h, gh_all[t + 1] if after else None,
                     hold[t + 1] if after and hold is not None else None, z_all[t], cs[t - 1] if t else c0t, tcs[t],
                     None if hold is None else hold[t], dc_next, dz[t])
                if t == 0 and not run.need_initial_grads:   # nothing asks for dL/dh_{-1} (a zero start)
                    break
                np.dot(recurrent_kernel, dz[t], out=prod)
        if not run.need_initial_grads:
            return dz, z_all, [None, None]
        return dz, z_all, [kernels.state_grad(prod, m_h, gh_all, hold), dc_next]

    def backward_loop(self, run, p, kept, gh_all, d_rest):
        compiled = kernels.compiled(run.dtype) if self.fused else None
        if compiled is not None:
            return self._compiled_backward(compiled, run, p, kept, gh_all, d_rest)
        gates_all, hs, cs, tcs = run.z, kept["hs"], kept["cs"], kept["tcs"]
        h0t, c0t = run.states0
        hold, m_ht, workspace = run.hold, run.m_h, run.workspace
        T, H, B, dtype = run.T, run.H, run.B, run.dtype
        need_initial_grads = run.need_initial_grads
        ra, act = self.recurrent_activation, self.activation
        I, F, O, C = gates(H, 4)
        i, f, o, g = gates_all[:, I], gates_all[:, F], gates_all[:, O], gates_all[:, C]
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
        p.kernel = np.ascontiguousarray(p.weights["kernel"][:, p.order])          # for dx, internal order
        recurrent_kernel = np.ascontiguousarray(p.weights["recurrent_kernel"][:, p.order])   # (H, 4H)
        dz = buffer(workspace, "dz", (T, 4 * H, B), dtype)
        dh_next = np.zeros((H, B), dtype)
        dc_next = d_rest[0]
        dc = np.empty((H, B), dtype)
        carry = np.empty((H, B), dtype) if hold is not None else None
        for t in range(T - 1, -1, -1):
            gh = gh_all[t]
            if t != T - 1:                                  # nothing comes back from after the last step
                gh += dh_next
            d = dz[t]
            np.multiply(gh, from_gh_to_dc[t], out=dc)
            dc += dc_next
            np.multiply(gh, from_gh_to_dzo[t], out=d[O])
            np.multiply(dc, from_dc_to_dzi[t], out=d[I])
            np.multiply(dc, from_dc_to_dzf[t], out=d[F])
            np.multiply(dc, from_dc_to_dzg[t], out=d[C])
            np.multiply(dc, forget[t], out=dc_next)
            if t == 0 and not need_initial_grads:           # nothing asks for dL/dh_{-1} (a zero start)
                break
            if hold is not None:
                np.multiply(gh, hold[t], out=carry)
            np.dot(recurrent_kernel, d, out=dh_next)
            if m_ht is not None:
                dh_next *= m_ht
            if hold is not None:
                dh_next += carry
        return dz, gates_all, ([dh_next, dc_next] if need_initial_grads else [None, None])

    def weight_grads(self, run, p, kept, dz, kernel_grad, bias_grad):
        inverse = p.inverse                                 # back to Keras's gate order
        grads = {"kernel": kernel_grad[:, inverse],
                 "recurrent_kernel": scaffold.recurrent_grad(run, kept, dz)[:, inverse]}
        if p.bias_in_projection:
            grads["bias"] = bias_grad[inverse]
        return grads


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None, go_backwards=False,
                 activation="tanh", recurrent_activation="sigmoid", return_sequences=True,
                 zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                 keep_cache=False, workspace=None):
    """Runs an LSTM over a batch (`ops.scaffold.forward` with this cell).

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel, bias: (D, 4H), (H, 4H), (4H,) or None, Keras's gate order.
        h0, c0: (B, H) initial states or None (zeros).
        activation, recurrent_activation: names of `ops.activations.FORWARD` or callables.
        mask, go_backwards, return_sequences, zero_output_for_mask, dropout masks, keep_cache,
        workspace: as for `ops.scaffold.forward`.

    Returns:
        (outputs or None, (h_T, c_T), cache or None).
    """
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel}
    if bias is not None:
        weights["bias"] = bias
    outputs, (h, c), cache = scaffold.forward(
        LSTM(recurrent_kernel.shape[0], activation, recurrent_activation), weights, x, [h0, c0], mask,
        go_backwards, return_sequences, zero_output_for_mask, input_dropout_mask, recurrent_dropout_mask,
        keep_cache, workspace)
    return outputs, (h, c), cache


def lstm_backward(d_outputs, d_last_h, d_last_c, cache, need_dx=True):
    """Backpropagation through time for `lstm_forward`.

    Returns:
        (dx (B, T, D), (dh0, dc0), grads {"kernel", "recurrent_kernel"[, "bias"]}) in Keras's order.
    """
    dx, (dh0, dc0), grads = scaffold.backward(d_outputs, [d_last_h, d_last_c], cache, need_dx)
    return dx, (dh0, dc0), grads
