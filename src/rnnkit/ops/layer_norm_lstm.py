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
    dc   = gc + LN'(c_t; g_c)^T dn;  dg_c += dn hat(c_t);  dbe_c += dn  (from n = LN(c_t))
    dz_i = dc g ra'(i),  dz_c = dc i act'(g),  dz_f = dc c_{t-1} ra'(f);  dc_{t-1} = dc f
    du   = LN'(u_t; g_h)^T dz;  dg_h += dz hat(u_t);  dbe_h += dz;  db += dz   (from z_t)
    dh_{t-1} = (du U^T) m_h                                           (from u_t)
    da   = LN'(a_t; g_x)^T dz;  dg_x += dz hat(a_t);  dbe_x += dz     (from z_t; all steps at once)
    with LN'(a; g)^T d = r (d g - mean(d g) - hat(a) mean(d g hat(a))),  hat(a) = (a - mean) r,
    r = 1 / sqrt(var(a) + eps).
The scaffold turns da into dW and dx (ONE product each) and du into dU (ONE product).

The input normalisation runs for all steps at once before the loop (it does not depend on h);
the loop normalises u_t and c_t per step. Readable before fast: no gate reordering or pre-scaling.
"""

import numpy as np

from rnnkit.ops import activations, scaffold
from rnnkit.ops.sequence import buffer, by_feature, end_step, gates


def normalise(a, eps, hat_out=None):
    """(hat(a), r) over axis -2 (the features of a feature-major block): hat = (a - mean) r."""
    mean = a.mean(axis=-2, keepdims=True)
    hat = np.subtract(a, mean, out=hat_out)
    r = 1.0 / np.sqrt((hat * hat).mean(axis=-2, keepdims=True) + eps)
    hat *= r
    return hat, r


def normalise_backward(d_normalised, gamma, hat, r):
    """dL/da from dL/dLN(a) (the line `LN'(a; g)^T d` above), features along axis -2."""
    d_hat = d_normalised * gamma
    return r * (d_hat - d_hat.mean(axis=-2, keepdims=True) - hat * (d_hat * hat).mean(axis=-2, keepdims=True))


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
        for name, value in (("activation", self.activation), ("recurrent_activation", self.recurrent_activation)):
            if value not in activations.DERIVATIVE_FROM_OUTPUT:
                raise ValueError(
                    f"Argument `{name}` has no elementwise hand-derived gradient, so this layer cannot be "
                    f"trained. Use one of {sorted(activations.DERIVATIVE_FROM_OUTPUT)}. Received: {value!r}")

    def forward_loop(self, run, p):
        H, T, slots, hold, outputs, m_h, eps = run.H, run.T, run.slots, run.hold, run.outputs, run.m_h, self.eps
        I, F, C, O = gates(H, 4)
        w = p.column
        act, ra = self.activation, self.recurrent_activation
        # the input normalisation of every step at once: z = LN(a) + b, over the projection's buffer
        a_hat, a_r = normalise(run.z, eps, buffer(run.workspace, "a_hat", run.z.shape, run.dtype))
        z = run.z
        np.multiply(a_hat, w["kernel_norm_gamma"], out=z)
        z += w["kernel_norm_beta"]
        if "bias" in w:
            z += w["bias"]
        u_hat, u_r = run.step_states("u_hat", 4 * H), run.step_states("u_r", 1)
        hs, cs, c_hat, tn = (run.step_states(name) for name in ("hs", "cs", "c_hat", "tn"))
        c_r = run.step_states("c_r", 1)
        h_prev, c_prev = run.states0
        for t in range(T):
            s = t % slots
            u = np.dot(p.recurrent_t, h_prev if m_h is None else h_prev * m_h)      # u_t, (4H, B)
            hat, r = normalise(u, eps, u_hat[s])
            u_r[s] = r
            zt = z[t]
            zt += hat * w["recurrent_norm_gamma"] + w["recurrent_norm_beta"]
            for gate in (I, F, O):
                activations.apply_to_columns(ra, zt[gate])
            activations.apply_to_columns(act, zt[C])
            c = cs[s]
            np.multiply(zt[F], c_prev, out=c)
            c += zt[I] * zt[C]                                                 # c_t = f c_{t-1} + i g
            hat, r = normalise(c, eps, c_hat[s])
            c_r[s] = r
            activations.apply_to_columns(act, hat * w["state_norm_gamma"] + w["state_norm_beta"], out=tn[s])
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
        T, H, B, dtype, hold, m_h = run.T, run.H, run.B, run.dtype, run.hold, run.m_h
        I, F, C, O = gates(H, 4)
        w = p.column
        act_d = activations.DERIVATIVE_FROM_OUTPUT[self.activation]
        ra_d = activations.DERIVATIVE_FROM_OUTPUT[self.recurrent_activation]
        z, hs, cs, tn = run.z, kept["hs"], kept["cs"], kept["tn"]
        keep = np.ones((T, 1, B), dtype) if hold is None else (~hold).astype(dtype)
        dz = buffer(run.workspace, "dz", (T, 4 * H, B), dtype)          # dL/dz_t, input side
        du = buffer(run.workspace, "du", (T, 4 * H, B), dtype)          # dL/du_t, recurrent side
        sums = {name: np.zeros((w[name].shape[0], 1), dtype) for name in
                ("recurrent_norm_gamma", "state_norm_gamma", "state_norm_beta")}
        dh_next = np.zeros((H, B), dtype)
        dc_next = d_rest[0]
        for t in range(T - 1, -1, -1):
            k = keep[t]
            c_prev = run.states0[1] if t == 0 else cs[t - 1]
            gh = gh_all[t] + dh_next
            ghr = gh * k                                                   # a masked step's own math gets 0
            i, f, g, o = z[t, I], z[t, F], z[t, C], z[t, O]
            dn = ghr * o * act_d(tn[t])                                    # from h_t = o act(n)
            sums["state_norm_gamma"] += (dn * kept["c_hat"][t]).sum(axis=1, keepdims=True)
            sums["state_norm_beta"] += dn.sum(axis=1, keepdims=True)
            dc = dc_next * k + normalise_backward(dn, w["state_norm_gamma"], kept["c_hat"][t], kept["c_r"][t])
            d = dz[t]
            d[O] = ghr * tn[t] * ra_d(o)
            d[I] = dc * g * ra_d(i)                                        # from c_t = f c_{t-1} + i g
            d[C] = dc * i * act_d(g)
            d[F] = dc * c_prev * ra_d(f)
            dc_next = dc * f + dc_next * (1.0 - k)                         # masked: c_{t-1} gets gc
            sums["recurrent_norm_gamma"] += (d * kept["u_hat"][t]).sum(axis=1, keepdims=True)
            du[t] = normalise_backward(d, w["recurrent_norm_gamma"], kept["u_hat"][t], kept["u_r"][t])
            dh_next = np.dot(p.recurrent_kernel, du[t])                     # from u_t = (h_{t-1} m_h) U
            if m_h is not None:
                dh_next *= m_h
            dh_next += gh * (1.0 - k)                                      # masked: h_{t-1} gets gh
        kept["sums"] = sums
        kept["dz_sum"] = dz.sum(axis=(0, 2))
        kept["dz_hat_sum"] = (dz * kept["a_hat"]).sum(axis=(0, 2))
        kept["du"] = du
        # The projection's gradient: da = LN'(a; g_x)^T dz, all steps at once, over the spent dz.
        da = normalise_backward(dz, w["kernel_norm_gamma"], kept["a_hat"], kept["a_r"])
        np.copyto(dz, da)
        return dz, None, [dh_next, dc_next]

    def weight_grads(self, run, p, kept, da, kernel_grad, bias_grad):
        sums = kept["sums"]
        du = by_feature(kept["du"], run.workspace, "du_by_feature")
        grads = {"kernel": kernel_grad, "recurrent_kernel": scaffold.recurrent_grad(run, kept, du)}
        if "bias" in p.column:
            grads["bias"] = kept["dz_sum"].copy()
        grads.update({"kernel_norm_gamma": kept["dz_hat_sum"], "kernel_norm_beta": kept["dz_sum"].copy(),
                      "recurrent_norm_gamma": sums["recurrent_norm_gamma"][:, 0],
                      "recurrent_norm_beta": kept["dz_sum"].copy(),
                      "state_norm_gamma": sums["state_norm_gamma"][:, 0],
                      "state_norm_beta": sums["state_norm_beta"][:, 0]})
        return grads
