"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, eqs. 20-22), gates in Keras's order i, f, c, o.

Forward, for each step t in processing order (LN over the features of one sample):
    LN(a; g, be) = g (a - mean(a)) / sqrt(var(a) + eps) + be
    a_t = (x_t m_x) W                 u_t = (h_{t-1} m_h) U            W: (D, 4H), U: (H, 4H)
    z_t = LN(a_t; g_x, be_x) + LN(u_t; g_h, be_h) + b                 (4H,) gammas and betas
    i = ra(z_i),  f = ra(z_f),  o = ra(z_o),  g = act(z_c)            (ra: recurrent_activation)
    c_t = f c_{t-1} + i g
    h_t = o act(LN(c_t; g_c, be_c))                                   (H,) gamma and beta
    (masked step: h_t = h_{t-1}, c_t = c_{t-1})

Backward, with gh = dL/doutput_t + dL/dh_t|from t+1, gc = dL/dc_t|from t+1 (both 0 on a masked
step's own math, which passes them to h_{t-1}, c_{t-1} unchanged):
    dz_o = gh act(n) ra'(o);  dn = gh o act'(n)                       (from h_t = o act(n), n = LN(c_t))
    dc   = gc + LN'(c_t; g_c)^T dn                                    (from n = LN(c_t))
    dz_i = dc g ra'(i),  dz_c = dc i act'(g),  dz_f = dc c_{t-1} ra'(f);  dc_{t-1} = dc f
    du   = LN'(u_t; g_h)^T dz                                         (from z_t)
    dh_{t-1} = (du U^T) m_h                                           (from u_t)
    da   = LN'(a_t; g_x)^T dz                                         (from z_t; all steps at once)
    dg_c = sum dn hat(c_t),  dbe_c = sum dn,  dg_h = sum dz hat(u_t),  dbe_h = db = sum dz,
    dg_x = sum dz hat(a_t),  dbe_x = sum dz                           (sums over steps and samples)
    with LN'(a; g)^T d = r (d g - mean(d g) - hat(a) mean(d g hat(a))),  hat(a) = (a - mean) r,
    r = 1 / sqrt(var(a) + eps).
The scaffold turns da into dW and dx (ONE product each) and du into dU (ONE product).

The input normalisation runs for all steps at once before the loop (it does not depend on h);
the loop normalises u_t and c_t per step. Every derivative factor (the `ra'`, `act'` products
above) is formed for all steps at once before the backward loop, and every gamma and beta
gradient is one reduction over all steps after it; the loop then does only the normalisation
backwards, a handful of in-place products and the recurrent product per step, into reused
buffers. Readable before fast: no gate reordering or pre-scaling.
"""

import numpy as np

from rnnkit.ops import activations, scaffold
from rnnkit.ops.activations import check_gradients_known
from rnnkit.ops.sequence import buffer, by_feature, end_step, gates, zero_held


def normalise(a, eps, hat, r, square):
    """hat(a) into `hat` and r into `r`, over axis -2 (the features of a feature-major block):
    hat = (a - mean) r, r = 1 / sqrt(var + eps). `square` (a's shape) is scratch and may be `a`."""
    mean = np.mean(a, axis=-2, keepdims=True, out=r)
    np.subtract(a, mean, out=hat)
    np.multiply(hat, hat, out=square)
    np.mean(square, axis=-2, keepdims=True, out=r)
    r += eps
    np.sqrt(r, out=r)
    np.divide(1.0, r, out=r)
    hat *= r
    return hat, r


def normalise_backward(d_normalised, gamma, hat, r, out, d_hat, means):
    """out = dL/da from d_normalised = dL/dLN(a) (the line `LN'(a; g)^T d` above), features along
    axis -2. `d_hat` (d's shape) and the two `means` (r's shape) are scratch; `out` may be
    `d_normalised`."""
    mean_d, mean_d_hat = means
    np.multiply(d_normalised, gamma, out=d_hat)
    np.mean(d_hat, axis=-2, keepdims=True, out=mean_d)
    np.multiply(d_hat, hat, out=out)
    np.mean(out, axis=-2, keepdims=True, out=mean_d_hat)
    np.multiply(hat, mean_d_hat, out=out)
    d_hat -= mean_d
    d_hat -= out
    return np.multiply(d_hat, r, out=out)


def _sum_of_product(a, b, scratch):
    """sum over steps and samples of a b, (F,) from two (T, F, B) arrays: one product, one sum."""
    return np.multiply(a, b, out=scratch).sum(axis=(0, 2))


class LayerNormLSTM:
    """The layer-normalised LSTM cell's math for `ops.scaffold`: four gate blocks, states [h, c]."""

    gate_count = 4
    state_count = 2
    options = {"recurrent_activation": "sigmoid", "norm_epsilon": 1e-3}
    weight_initializers = {"kernel_norm_gamma": "ones", "kernel_norm_beta": "zeros",
                           "recurrent_norm_gamma": "ones", "recurrent_norm_beta": "zeros",
                           "state_norm_gamma": "ones", "state_norm_beta": "zeros"}

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", norm_epsilon=1e-3):
        self.units, self.activation, self.recurrent_activation = units, activation, recurrent_activation
        self.eps = float(norm_epsilon)

    def weight_shapes(self, input_dim, use_bias=True):
        H = self.units
        shapes = {"kernel": (input_dim, 4 * H), "recurrent_kernel": (H, 4 * H)}
        if use_bias:
            shapes["bias"] = (4 * H,)
        shapes.update({"kernel_norm_gamma": (4 * H,), "kernel_norm_beta": (4 * H,),
                       "recurrent_norm_gamma": (4 * H,), "recurrent_norm_beta": (4 * H,),
                       "state_norm_gamma": (H,), "state_norm_beta": (H,)})
        return shapes

    def prepare(self, weights):
        kernel = weights["kernel"]
        column = {name: np.asarray(w)[:, None] for name, w in weights.items() if w.ndim == 1}   # (F, 1)
        return scaffold.Prepared(np.ascontiguousarray(kernel.T), kernel, False, column=column,
                                 recurrent_t=np.ascontiguousarray(weights["recurrent_kernel"].T),
                                 recurrent_kernel=weights["recurrent_kernel"])

    def check_trainable(self):
        check_gradients_known(self.activation, self.recurrent_activation)

    def forward_loop(self, run, p):
        H, T, B, slots, hold, outputs, m_h, eps = run.H, run.T, run.B, run.slots, run.hold, run.outputs, run.m_h, \
            self.eps
        workspace, dtype = run.workspace, run.dtype
        I, F, C, O = gates(H, 4)
        w = p.column
        act, ra = self.activation, self.recurrent_activation
        # the input normalisation of every step at once: z = LN(a) + b, over the projection's buffer
        z = run.z
        a_hat, a_r = buffer(workspace, "a_hat", z.shape, dtype), buffer(workspace, "a_r", (T, 1, B), dtype)
        normalise(z, eps, a_hat, a_r, z)                                   # a is spent once centred
        np.multiply(a_hat, w["kernel_norm_gamma"], out=z)
        z += w["kernel_norm_beta"]
        if "bias" in w:
            z += w["bias"]
        u_hat, u_r = run.step_states("u_hat", 4 * H), run.step_states("u_r", 1)
        hs, cs, c_hat, tn = (run.step_states(name) for name in ("hs", "cs", "c_hat", "tn"))
        c_r = run.step_states("c_r", 1)
        u = buffer(workspace, "u", (4 * H, B), dtype)
        square = buffer(workspace, "square", (4 * H, B), dtype)
        ig = buffer(workspace, "ig", (H, B), dtype)
        dropped = buffer(workspace, "dropped", (H, B), dtype) if m_h is not None else None
        h_prev, c_prev = run.states0
        for t in range(T):
            s = t % slots
            np.dot(p.recurrent_t, h_prev if m_h is None else np.multiply(h_prev, m_h, out=dropped), out=u)   # u_t
            normalise(u, eps, u_hat[s], u_r[s], square)
            zt = z[t]
            np.multiply(u_hat[s], w["recurrent_norm_gamma"], out=u)        # u is spent: LN(u_t) over it
            u += w["recurrent_norm_beta"]
            zt += u
            for gate in (I, F, O):
                activations.apply_to_columns(ra, zt[gate])
            activations.apply_to_columns(act, zt[C])
            c = cs[s]
            np.multiply(zt[F], c_prev, out=c)
            c += np.multiply(zt[I], zt[C], out=ig)                           # c_t = f c_{t-1} + i g
            normalise(c, eps, c_hat[s], c_r[s], square[:H])
            n = np.multiply(c_hat[s], w["state_norm_gamma"], out=tn[s])
            n += w["state_norm_beta"]
            activations.apply_to_columns(act, n)
            h = hs[s]
            np.multiply(zt[O], tn[s], out=h)                                   # h_t = o act(LN(c_t))
            if hold is not None:
                np.copyto(c, c_prev, where=hold[t])
            end_step(h, h_prev, hold, outputs, t)
            h_prev, c_prev = h, c
        kept = {"hs": hs, "cs": cs, "a_hat": a_hat, "a_r": a_r, "u_hat": u_hat, "u_r": u_r, "c_hat": c_hat,
                "c_r": c_r, "tn": tn}
        return [h_prev, c_prev], kept

    def backward_loop(self, run, p, kept, gh_all, d_rest):
        T, H, B, dtype, hold, m_h, workspace = run.T, run.H, run.B, run.dtype, run.hold, run.m_h, run.workspace
        need_initial_grads = run.need_initial_grads
        I, F, C, O = gates(H, 4)
        w = p.column
        act, ra = self.activation, self.recurrent_activation
        all_gates, cs, tn = run.z, kept["cs"], kept["tn"]
        c_hat, c_r, u_hat, u_r = kept["c_hat"], kept["c_r"], kept["u_hat"], kept["u_r"]
        i, f, g, o = all_gates[:, I], all_gates[:, F], all_gates[:, C], all_gates[:, O]
        # Every derivative factor for all steps at once (vectorised, before the loop), (T, H, B).
        # The gates and act(n) are spent after this, so factors overwrite them; the order matters:
        # each array is read in its original form before it is overwritten.
        from_dc_to_dzf = activations.derivative_into(ra, f, buffer(workspace, "dc_dzf", (T, H, B), dtype))
        if T:                                               # dz_f = dc c_{t-1} ra'(f)
            from_dc_to_dzf[0] *= run.states0[1]
            from_dc_to_dzf[1:] *= cs[:-1]
        forget = f                                          # dc_{t-1} = dc f (f stays intact)
        from_gh_to_dn = activations.derivative_into(act, tn, buffer(workspace, "gh_dn", (T, H, B), dtype))
        from_gh_to_dn *= o                                  # dn   = gh o act'(n)
        from_dc_to_dzg = buffer(workspace, "dc_dzg", (T, H, B), dtype)
        from_gh_to_dzo = activations.derivative_into(ra, o, o, from_dc_to_dzg)
        from_gh_to_dzo *= tn                                # dz_o = gh act(n) ra'(o), over o
        activations.derivative_into(act, g, from_dc_to_dzg)
        from_dc_to_dzg *= i                                 # dz_c = dc i act'(g)
        from_dc_to_dzi = activations.derivative_into(ra, i, i, tn)
        from_dc_to_dzi *= g                                 # dz_i = dc g ra'(i), over i
        if hold is not None:                                # a masked step's own math gets 0 ...
            for factor in (from_gh_to_dn, from_gh_to_dzo, from_dc_to_dzi, from_dc_to_dzg, from_dc_to_dzf):
                zero_held(factor, hold)
            np.copyto(forget, 1.0, where=np.broadcast_to(hold, forget.shape))   # ... and passes gc on
        dz = buffer(workspace, "dz", (T, 4 * H, B), dtype)          # dL/dz_t, input side
        du = buffer(workspace, "du", (T, 4 * H, B), dtype)          # dL/du_t, recurrent side
        d_hat, d_hat_c = buffer(workspace, "d_hat", (4 * H, B), dtype), buffer(workspace, "d_hat_c", (H, B), dtype)
        dn, dc = buffer(workspace, "dn", (H, B), dtype), buffer(workspace, "dc", (H, B), dtype)
        means = (buffer(workspace, "mean_d", (1, B), dtype), buffer(workspace, "mean_d_hat", (1, B), dtype))
        carry = buffer(workspace, "carry", (H, B), dtype) if hold is not None else None
        dh_next = np.zeros((H, B), dtype)
        dc_next = d_rest[0]
        for t in range(T - 1, -1, -1):
            gh = gh_all[t]
            if t != T - 1:                                  # nothing comes back from after the last step
                gh += dh_next                               # gh_all keeps gh for the sums below
            np.multiply(gh, from_gh_to_dn[t], out=dn)
            normalise_backward(dn, w["state_norm_gamma"], c_hat[t], c_r[t], dc, d_hat_c, means)
            dc += dc_next
            d = dz[t]
            np.multiply(gh, from_gh_to_dzo[t], out=d[O])
            np.multiply(dc, from_dc_to_dzi[t], out=d[I])    # from c_t = f c_{t-1} + i g
            np.multiply(dc, from_dc_to_dzg[t], out=d[C])
            np.multiply(dc, from_dc_to_dzf[t], out=d[F])
            np.multiply(dc, forget[t], out=dc_next)
            normalise_backward(d, w["recurrent_norm_gamma"], u_hat[t], u_r[t], du[t], d_hat, means)
            if t == 0 and not need_initial_grads:           # nothing asks for dL/dh_{-1} (a zero start)
                break
            if hold is not None:
                np.multiply(gh, hold[t], out=carry)         # masked: h_{t-1} gets gh
            np.dot(p.recurrent_kernel, du[t], out=dh_next)  # from u_t = (h_{t-1} m_h) U
            if m_h is not None:
                dh_next *= m_h
            if hold is not None:
                dh_next += carry
        # the gamma and beta gradients: one reduction over all steps each, over spent buffers
        dn_all = np.multiply(gh_all, from_gh_to_dn, out=from_gh_to_dn)
        sums = {"state_norm_beta": dn_all.sum(axis=(0, 2)),
                "state_norm_gamma": _sum_of_product(dn_all, c_hat, from_dc_to_dzf),
                "dz": dz.sum(axis=(0, 2)),
                "recurrent_norm_gamma": _sum_of_product(dz, u_hat, all_gates),
                "kernel_norm_gamma": _sum_of_product(dz, kept["a_hat"], all_gates)}
        kept["sums"], kept["du"] = sums, du
        # The projection's gradient: da = LN'(a; g_x)^T dz, all steps at once, over the spent dz.
        normalise_backward(dz, w["kernel_norm_gamma"], kept["a_hat"], kept["a_r"], dz, all_gates,
                           (buffer(workspace, "mean_da", (T, 1, B), dtype),
                            buffer(workspace, "mean_da_hat", (T, 1, B), dtype)))
        d_initial = [dh_next, dc_next] if need_initial_grads else [None, None]
        return dz, all_gates, d_initial

    def weight_grads(self, run, p, kept, da, kernel_grad, bias_grad):
        sums = kept["sums"]
        du = by_feature(kept["du"], run.workspace, "du_by_feature")
        grads = {"kernel": kernel_grad, "recurrent_kernel": scaffold.recurrent_grad(run, kept, du)}
        if "bias" in p.column:
            grads["bias"] = sums["dz"].copy()
        grads.update({"kernel_norm_gamma": sums["kernel_norm_gamma"], "kernel_norm_beta": sums["dz"].copy(),
                      "recurrent_norm_gamma": sums["recurrent_norm_gamma"],
                      "recurrent_norm_beta": sums["dz"].copy(),
                      "state_norm_gamma": sums["state_norm_gamma"], "state_norm_beta": sums["state_norm_beta"]})
        return grads
