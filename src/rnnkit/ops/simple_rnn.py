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

The cell supplies only the loop lines (z_t += (h_{t-1} m_h) U; h_t = act(z_t); dz_t; dh_{t-1});
the projection, masks, dropout, direction, states and the weight-gradient products are the
scaffold's (`ops.scaffold`). Speed (DESIGN.md): the loop does one (H, H) x (H, B) product and
elementwise work in place into preallocated buffers: 3 NumPy calls per step each way; with the
compiled kernels (`ops.kernels`) and tanh, the product and ONE kernel call per step each way.
"""

import numpy as np

from rnnkit.ops import activations, kernels, scaffold
from rnnkit.ops.sequence import augmented_kernel_t, buffer, end_step, zero_held


class SimpleRNN:
    """The Elman cell's math for `ops.scaffold`: one gate block, states [h]."""

    gate_count = 1
    state_count = 1

    def __init__(self, units, activation="tanh"):
        self.units, self.activation = units, activation

    def weight_shapes(self, input_dim, use_bias=True):
        H = self.units
        shapes = {"kernel": (input_dim, H), "recurrent_kernel": (H, H)}
        if use_bias:
            shapes["bias"] = (H,)
        return shapes

    def prepare(self, weights):
        kernel, bias = weights["kernel"], weights.get("bias")
        return scaffold.Prepared(augmented_kernel_t(kernel, bias), kernel, bias is not None,
                                 recurrent_t=np.ascontiguousarray(weights["recurrent_kernel"].T),
                                 recurrent_kernel=weights["recurrent_kernel"])

    def check_trainable(self):
        if not activations.has_gradient(self.activation):
            raise ValueError(
                "Argument `activation` has no hand-derived gradient, so this layer cannot be trained. "
                f"Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT) + ['softmax']}. "
                f"Received: {self.activation!r}")

    def forward_loop(self, run, p):
        compiled = kernels.compiled(run.dtype) if self.activation == "tanh" else None
        if compiled is not None:
            return self._compiled_forward(compiled, run, p)
        activation, z, hold, outputs, slots, m_h = self.activation, run.z, run.hold, run.outputs, run.slots, run.m_h
        recurrent_t = p.recurrent_t
        hs = run.step_states("hs")
        recurrent = buffer(run.workspace, "recurrent", (run.H, run.B), run.dtype)
        dropped = buffer(run.workspace, "dropped", (run.H, run.B), run.dtype) if m_h is not None else None
        h_prev, zero_start = run.states0[0], run.zero_start
        for t in range(run.T):
            zt = z[t]
            if t or not zero_start:                        # h_{-1} = 0 adds nothing at the first step
                np.dot(recurrent_t, h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped), out=recurrent)
                zt += recurrent
            h = hs[t % slots]
            activations.apply_to_columns(activation, zt, out=h)
            end_step(h, h_prev, hold, outputs, t)
            h_prev = h
        return [h_prev], {"hs": hs}

    def _compiled_forward(self, compiled, run, p):
        """The forward loop with one compiled kernel per step (see `ops.kernels`); with the BLAS's
        gemm found, the whole loop is one compiled call."""
        H, B, hold, outputs, slots = run.H, run.B, run.hold, run.outputs, run.slots
        z, recurrent_t, m_h = run.z, p.recurrent_t, kernels.as_dtype(run.m_h, run.dtype)
        hs = run.step_states("hs")
        dropped = buffer(run.workspace, "dropped", (H, B), run.dtype) if m_h is not None else None
        h_prev = run.states0[0]
        threads = kernels.threads_for(H * B)
        if kernels.gemm(run.dtype) is not None:
            compiled.simple_forward_sequence(threads, run.T, B, H, len(hs), run.zero_start, z,
                                             kernels.operand(recurrent_t, run.dtype), h_prev, hold, hs, m_h, dropped,
                                             outputs)
            return [hs[(run.T - 1) % slots] if run.T else h_prev], {"hs": hs}
        recurrent = buffer(run.workspace, "recurrent", (H, B), run.dtype)
        h_in = h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped)
        step = compiled.simple_forward
        for t in range(run.T):
            rec = None
            if t or not run.zero_start:                    # h_{-1} = 0 adds nothing at the first step
                rec = np.dot(recurrent_t, h_in, out=recurrent)
            h = hs[t % slots]
            step(threads, B, H, t, z[t], rec, h_prev, None if hold is None else hold[t], h, m_h, dropped, outputs)
            h_prev, h_in = h, (h if m_h is None else dropped)
        return [h_prev], {"hs": hs}

    def _compiled_backward(self, compiled, run, p, kept, g_all, d_rest):
        """One kernel per step: g_t (+ the product and the masked columns' carry), overwritten
        by dz_t; then dh_{t-1}'s product."""
        T, H, B, hold, hs = run.T, run.H, run.B, run.hold, kept["hs"]
        m_h = kernels.as_dtype(run.m_h, run.dtype)
        prod = np.zeros((H, B), run.dtype)
        carry = np.zeros((H, B), run.dtype) if hold is not None else None
        threads = kernels.threads_for(H * B)
        if kernels.gemm(run.dtype) is not None:             # the whole loop in one call
            compiled.simple_backward_sequence(threads, T, B, H, T, run.need_initial_grads, g_all,
                                              kernels.operand(p.recurrent_kernel, run.dtype), hs, hold, m_h, prod,
                                              carry)
        else:
            step = compiled.simple_backward
            for t in range(T - 1, -1, -1):
                step(threads, B, H, g_all[t], prod if t != T - 1 else None, m_h, carry, hs[t],
                     None if hold is None else hold[t])
                if t == 0 and not run.need_initial_grads:      # nothing asks for dL/dh_{-1} (a zero start)
                    break
                np.dot(p.recurrent_kernel, g_all[t], out=prod)  # U dz_t
        if not run.need_initial_grads:
            return g_all, run.z, [None]
        d = prod if m_h is None else prod * m_h
        return g_all, run.z, [d if carry is None else d + carry]

    def backward_loop(self, run, p, kept, g_all, d_rest):
        compiled = kernels.compiled(run.dtype) if self.activation == "tanh" else None
        if compiled is not None:
            return self._compiled_backward(compiled, run, p, kept, g_all, d_rest)
        activation, hold, m_ht, hs = self.activation, run.hold, run.m_h, kept["hs"]
        need_initial_grads = run.need_initial_grads
        T, H, B, dtype = run.T, run.H, run.B, run.dtype
        deriv = None
        if activation in activations.DERIVATIVE_FROM_OUTPUT:       # all steps at once, (T, H, B)
            # The pre-activations are spent: their buffer holds act'(h), and after the loop dz's copy.
            deriv = activations.derivative_into(activation, hs, run.z)
            zero_held(deriv, hold)
        recurrent_kernel = p.recurrent_kernel
        dz = g_all                                         # dz_t overwrites g_t, step by step
        dh_next = np.zeros((H, B), dtype)
        carry = np.empty((H, B), dtype) if hold is not None else None
        for t in range(T - 1, -1, -1):
            g = g_all[t]
            if t != T - 1:                                 # nothing comes back from after the last step
                g += dh_next                               # g_t
            if hold is not None:
                np.multiply(g, hold[t], out=carry)         # masked columns pass g_t straight to h_{t-1}
            d = g
            if deriv is not None:
                d *= deriv[t]                              # dz_t = act'(h_t) g_t
            else:
                d[...] = activations.backward_from_output(activation, hs[t].T, g.T).T
                if hold is not None:
                    d[:, hold[t][0]] = 0.0
            if t == 0 and not need_initial_grads:          # nothing asks for dL/dh_{-1} (a zero start)
                break
            np.dot(recurrent_kernel, d, out=dh_next)       # U dz_t
            if m_ht is not None:
                dh_next *= m_ht
            if hold is not None:
                dh_next += carry
        return dz, run.z, [dh_next if need_initial_grads else None]

    def weight_grads(self, run, p, kept, dz, kernel_grad, bias_grad):
        grads = {"kernel": kernel_grad, "recurrent_kernel": scaffold.recurrent_grad(run, kept, dz)}
        if p.bias_in_projection:
            grads["bias"] = bias_grad
        return grads


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
                       go_backwards=False, activation="tanh", return_sequences=True,
                       zero_output_for_mask=False, input_dropout_mask=None,
                       recurrent_dropout_mask=None, keep_cache=False, workspace=None):
    """Runs a SimpleRNN over a batch (`ops.scaffold.forward` with this cell).

    Args:
        x: (B, T, D) input, batch-major.
        kernel, recurrent_kernel, bias: (D, H), (H, H), (H,) or None.
        h0: (B, H) initial state or None (zeros).
        mask, go_backwards, return_sequences, zero_output_for_mask, input_dropout_mask,
        recurrent_dropout_mask, keep_cache, workspace: as for `ops.scaffold.forward`.
        activation: a name of `ops.activations.FORWARD` or a callable.

    Returns:
        (outputs or None, last_state (B, H), cache or None).
    """
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel}
    if bias is not None:
        weights["bias"] = bias
    outputs, (last,), cache = scaffold.forward(
        SimpleRNN(kernel.shape[1], activation), weights, x, [h0], mask, go_backwards, return_sequences,
        zero_output_for_mask, input_dropout_mask, recurrent_dropout_mask, keep_cache, workspace)
    return outputs, last, cache


def simple_rnn_backward(d_outputs, d_last, cache, need_dx=True):
    """Backpropagation through time for `simple_rnn_forward`.

    Returns:
        (dx (B, T, D) or None, dh0 (B, H), grads {"kernel", "recurrent_kernel"[, "bias"]}).
    """
    dx, (dh0,), grads = scaffold.backward(d_outputs, [d_last], cache, need_dx)
    return dx, dh0, grads
