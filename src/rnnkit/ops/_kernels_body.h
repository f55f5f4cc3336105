/* The fused step kernels, written once for a real type: included by _kernels.c with REAL (float or
 * double) and NAME(x) (a suffix per type) defined. Each kernel does ALL the elementwise work of one
 * step between the BLAS products, over hidden units [j0, j1) of the (F, B) step blocks (row j of a
 * block is unit j, B contiguous numbers): rows are split between threads, and every number is
 * computed by one thread from the same inputs in the same order, so the result does not depend on
 * the thread count. The math is the NumPy path's (see ops/lstm.py, ops/gru.py, ops/simple_rnn.py);
 * the sigmoid rows arrive pre-scaled by 1/2, so sigmoid(z) = 0.5 tanh(z') + 0.5 there too.
 */

/* The step's output goes into the batch-major (B, T, H) outputs, out_t pointing at outputs[0, t]. */
static inline void NAME(write_output)(const REAL *h, REAL *out_t, Py_ssize_t out_stride, Py_ssize_t B,
                                      Py_ssize_t j0, Py_ssize_t j1) {
    /* In tiles of 16 units: the 16 rows of h being read stay in L1 while each sample's 16
     * outputs (one cache line) are written; untiled, every read of h touched a new line. */
    for (Py_ssize_t jb = j0; jb < j1; jb += 16) {
        const Py_ssize_t je = jb + 16 < j1 ? jb + 16 : j1;
        for (Py_ssize_t b = 0; b < B; b++)
            for (Py_ssize_t j = jb; j < je; j++)
                out_t[b * out_stride + j] = h[j * B + b];
    }
}

/* ---- SimpleRNN (tanh) ----------------------------------------------------------------------- */
/* h = tanh(z + rec); masked columns keep h_prev; dropped = h m_h for the next step's product. */
VECTOR_CLONES static void NAME(simple_forward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, const REAL *z, const REAL *rec,
                                 const REAL *h_prev, const unsigned char *hold, REAL *h, const REAL *m_h,
                                 REAL *dropped, REAL *out_t, Py_ssize_t out_stride) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        if (rec) for (Py_ssize_t b = 0; b < B; b++) h[r + b] = NAME(tanh_)(z[r + b] + rec[r + b]);
        else for (Py_ssize_t b = 0; b < B; b++) h[r + b] = NAME(tanh_)(z[r + b]);
        if (hold) for (Py_ssize_t b = 0; b < B; b++) h[r + b] = hold[b] ? h_prev[r + b] : h[r + b];
        if (dropped) for (Py_ssize_t b = 0; b < B; b++) dropped[r + b] = h[r + b] * m_h[r + b];
    }
    if (out_t) NAME(write_output)(h, out_t, out_stride, B, j0, j1);
}

/* g = g_all_t (+ prod m_h + carry): the gradient reaching h_t, overwritten by dz = g (1 - h^2), 0 on
 * masked columns. carry (in and out, NULL without a mask): g on the columns masked at the step
 * after, which passes straight to h_t; then this step's. */
VECTOR_CLONES static void NAME(simple_backward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, REAL *g, const REAL *prod,
                                  const REAL *m_h, REAL *carry, const REAL *h, const unsigned char *hold) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        if (prod) {
            if (m_h) for (Py_ssize_t b = 0; b < B; b++) g[r + b] += prod[r + b] * m_h[r + b];
            else for (Py_ssize_t b = 0; b < B; b++) g[r + b] += prod[r + b];
            if (carry) for (Py_ssize_t b = 0; b < B; b++) g[r + b] += carry[r + b];
        }
        if (hold) for (Py_ssize_t b = 0; b < B; b++) {
            const REAL y = h[r + b], gb = g[r + b];
            carry[r + b] = hold[b] ? gb : 0;
            g[r + b] = hold[b] ? 0 : gb * (1 - y * y);
        } else for (Py_ssize_t b = 0; b < B; b++) {
            const REAL y = h[r + b];
            g[r + b] = g[r + b] * (1 - y * y);
        }
    }
}

/* ---- LSTM, internal gate order i, f, o, c ------------------------------------------------------ */
/* z (4H, B): the projection, activated in place (i, f, o sigmoid; c tanh); c = f c_prev + i g;
 * tc = tanh(c); h = o tc; masked columns keep c_prev and h_prev. */
VECTOR_CLONES static void NAME(lstm_forward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *z,
                               const REAL *rec, const REAL *h_prev, const REAL *c_prev, const unsigned char *hold,
                               REAL *h, REAL *c, REAL *tc, const REAL *m_h, REAL *dropped, REAL *out_t,
                               Py_ssize_t out_stride) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        REAL *zi = z + r, *zf = z + H * B + r, *zo = z + 2 * H * B + r, *zc = z + 3 * H * B + r;
        const REAL *ri = rec ? rec + r : NULL, *rf = rec ? rec + H * B + r : NULL;
        const REAL *ro = rec ? rec + 2 * H * B + r : NULL, *rc = rec ? rec + 3 * H * B + r : NULL;
        if (rec) for (Py_ssize_t b = 0; b < B; b++) {
            zi[b] = NAME(tanh_)(zi[b] + ri[b]) * (REAL)0.5 + (REAL)0.5;
            zf[b] = NAME(tanh_)(zf[b] + rf[b]) * (REAL)0.5 + (REAL)0.5;
            zo[b] = NAME(tanh_)(zo[b] + ro[b]) * (REAL)0.5 + (REAL)0.5;
            zc[b] = NAME(tanh_)(zc[b] + rc[b]);
        } else for (Py_ssize_t b = 0; b < B; b++) {
            zi[b] = NAME(tanh_)(zi[b]) * (REAL)0.5 + (REAL)0.5;
            zf[b] = NAME(tanh_)(zf[b]) * (REAL)0.5 + (REAL)0.5;
            zo[b] = NAME(tanh_)(zo[b]) * (REAL)0.5 + (REAL)0.5;
            zc[b] = NAME(tanh_)(zc[b]);
        }
        for (Py_ssize_t b = 0; b < B; b++) {
            const REAL cn = zf[b] * c_prev[r + b] + zi[b] * zc[b];
            const REAL t = NAME(tanh_)(cn);
            c[r + b] = cn;
            tc[r + b] = t;
            h[r + b] = zo[b] * t;
        }
        if (hold) for (Py_ssize_t b = 0; b < B; b++) {
            c[r + b] = hold[b] ? c_prev[r + b] : c[r + b];
            h[r + b] = hold[b] ? h_prev[r + b] : h[r + b];
        }
        if (dropped) for (Py_ssize_t b = 0; b < B; b++) dropped[r + b] = h[r + b] * m_h[r + b];
    }
    if (out_t) NAME(write_output)(h, out_t, out_stride, B, j0, j1);
}

/* gh = g_all_t (+ prod m_h + carry) (written back into g: the next step's carry reads it);
 * dc = gh o (1 - tc^2) + dc_next;  dz_o = gh tc o(1-o);  dz_i = dc g i(1-i);  dz_f = dc c_prev f(1-f);
 * dz_c = dc i (1 - g^2);  dc_next = dc f.  Masked columns: dz = 0, dc_next unchanged. */
VECTOR_CLONES static void NAME(lstm_backward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *g,
                                const REAL *prod, const REAL *m_h, const REAL *g_next,
                                const unsigned char *hold_next, const REAL *z, const REAL *c_prev,
                                const REAL *tc, const unsigned char *hold, REAL *dc_next, REAL *dz) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        const REAL *i = z + r, *f = z + H * B + r, *o = z + 2 * H * B + r, *gg = z + 3 * H * B + r;
        REAL *di = dz + r, *df = dz + H * B + r, *dout = dz + 2 * H * B + r, *dg = dz + 3 * H * B + r;
        REAL *gh = g + r, *dcn = dc_next + r;
        if (prod) {
            if (m_h) for (Py_ssize_t b = 0; b < B; b++) gh[b] += prod[r + b] * m_h[r + b];
            else for (Py_ssize_t b = 0; b < B; b++) gh[b] += prod[r + b];
            if (hold_next) for (Py_ssize_t b = 0; b < B; b++) gh[b] += hold_next[b] ? g_next[r + b] : 0;
        }
        for (Py_ssize_t b = 0; b < B; b++) {
            const REAL t = tc[r + b];
            const REAL dc = gh[b] * (o[b] * (1 - t * t)) + dcn[b];
            const int held = hold ? hold[b] : 0;       /* masked: dz = 0, dc_next passes unchanged */
            dout[b] = held ? 0 : gh[b] * (t * (o[b] * (1 - o[b])));
            di[b] = held ? 0 : dc * (gg[b] * (i[b] * (1 - i[b])));
            df[b] = held ? 0 : dc * (c_prev[r + b] * (f[b] * (1 - f[b])));
            dg[b] = held ? 0 : dc * (i[b] * (1 - gg[b] * gg[b]));
            dcn[b] = held ? dcn[b] : dc * f[b];
        }
    }
}

/* ---- GRU, gates z, r, h ----------------------------------------------------------------------- */
/* reset_after: rec (3H, B) = U^T h_in (without b_hh); u_h = rec_h + b_hh (kept);
 * z, r = sigmoid(x'_zr + rec_zr);  hh = tanh(x'_h + r u_h);  h = hh + z (h_prev - hh).
 * The activated z, r, hh overwrite the projection (kept for the backward). */
VECTOR_CLONES static void NAME(gru_after_forward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *x,
                                    const REAL *rec, const REAL *b_hh, const REAL *h_prev,
                                    const unsigned char *hold, REAL *u_h, REAL *h, const REAL *m_h,
                                    REAL *dropped, REAL *out_t, Py_ssize_t out_stride) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        REAL *xz = x + r, *xr = x + H * B + r, *xh = x + 2 * H * B + r;
        const REAL *rz = rec + r, *rr = rec + H * B + r, *rh = rec + 2 * H * B + r;
        const REAL bias = b_hh ? b_hh[j] : 0;
        for (Py_ssize_t b = 0; b < B; b++) {
            const REAL u = rh[b] + bias;
            const REAL zg = NAME(tanh_)(xz[b] + rz[b]) * (REAL)0.5 + (REAL)0.5;
            const REAL rg = NAME(tanh_)(xr[b] + rr[b]) * (REAL)0.5 + (REAL)0.5;
            const REAL hh = NAME(tanh_)(xh[b] + rg * u);
            u_h[r + b] = u;
            xz[b] = zg;
            xr[b] = rg;
            xh[b] = hh;
            h[r + b] = hh + zg * (h_prev[r + b] - hh);
        }
        if (hold) for (Py_ssize_t b = 0; b < B; b++) h[r + b] = hold[b] ? h_prev[r + b] : h[r + b];
        if (dropped) for (Py_ssize_t b = 0; b < B; b++) dropped[r + b] = h[r + b] * m_h[r + b];
    }
    if (out_t) NAME(write_output)(h, out_t, out_stride, B, j0, j1);
}

/* reset_before, first half: z, r = sigmoid(x'_zr + rec_zr) in place; rh = r h_in (kept, the
 * operand of the candidate's product). rec NULL: the product is already in x (the sequence loop
 * accumulates it there). */
VECTOR_CLONES static void NAME(gru_before_gates)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *x,
                                   const REAL *rec, const REAL *h_in, REAL *rh) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        REAL *xz = x + r, *xr = x + H * B + r;
        if (rec) {
            const REAL *rz = rec + r, *rr = rec + H * B + r;
            for (Py_ssize_t b = 0; b < B; b++) {
                xz[b] += rz[b];
                xr[b] += rr[b];
            }
        }
        for (Py_ssize_t b = 0; b < B; b++) {
            xz[b] = NAME(tanh_)(xz[b]) * (REAL)0.5 + (REAL)0.5;
            const REAL rg = NAME(tanh_)(xr[b]) * (REAL)0.5 + (REAL)0.5;
            xr[b] = rg;
            rh[r + b] = rg * h_in[r + b];
        }
    }
}

/* reset_before, second half: hh = tanh(x'_h + cand); h = hh + z (h_prev - hh); hold; output.
 * cand NULL: already in x'_h (the sequence loop). */
VECTOR_CLONES static void NAME(gru_before_out)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *x,
                                 const REAL *cand, const REAL *h_prev, const unsigned char *hold, REAL *h,
                                 const REAL *m_h, REAL *dropped, REAL *out_t, Py_ssize_t out_stride) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        const REAL *xz = x + r;
        REAL *xh = x + 2 * H * B + r;
        if (cand) for (Py_ssize_t b = 0; b < B; b++) xh[b] += cand[r + b];
        for (Py_ssize_t b = 0; b < B; b++) {
            const REAL hh = NAME(tanh_)(xh[b]);
            xh[b] = hh;
            h[r + b] = hh + xz[b] * (h_prev[r + b] - hh);
        }
        if (hold) for (Py_ssize_t b = 0; b < B; b++) h[r + b] = hold[b] ? h_prev[r + b] : h[r + b];
        if (dropped) for (Py_ssize_t b = 0; b < B; b++) dropped[r + b] = h[r + b] * m_h[r + b];
    }
    if (out_t) NAME(write_output)(h, out_t, out_stride, B, j0, j1);
}

/* The gradient reaching h_t for both GRU variants, written back into g:
 * gh = g_all_t + (prod (+ d_rh r_next)) m_h + gh_next direct_next, direct = z, or 1 where masked.
 * Then dz_z = gh (h_prev - hh) z(1-z), dz_h = gh (1 - z)(1 - hh^2) (0 on masked columns). */
static inline void NAME(gru_common)(Py_ssize_t r, Py_ssize_t B, REAL *gh, const REAL *prod, const REAL *d_rh,
                                    const REAL *r_next, const REAL *m_h, const REAL *g_next,
                                    const REAL *z_next, const unsigned char *hold_next, const REAL *zg,
                                    const REAL *hh, const REAL *h_prev, const unsigned char *hold,
                                    REAL *dzz, REAL *dzh) {
    if (prod) {
        if (d_rh) {
            if (m_h) for (Py_ssize_t b = 0; b < B; b++) gh[b] += (prod[r + b] + d_rh[r + b] * r_next[b]) * m_h[r + b];
            else for (Py_ssize_t b = 0; b < B; b++) gh[b] += prod[r + b] + d_rh[r + b] * r_next[b];
        } else {
            if (m_h) for (Py_ssize_t b = 0; b < B; b++) gh[b] += prod[r + b] * m_h[r + b];
            else for (Py_ssize_t b = 0; b < B; b++) gh[b] += prod[r + b];
        }
        if (hold_next) for (Py_ssize_t b = 0; b < B; b++) gh[b] += g_next[r + b] * (hold_next[b] ? 1 : z_next[b]);
        else for (Py_ssize_t b = 0; b < B; b++) gh[b] += g_next[r + b] * z_next[b];
    }
    for (Py_ssize_t b = 0; b < B; b++) {
        const REAL zz = zg[b], y = hh[b];
        dzz[b] = gh[b] * ((h_prev[r + b] - y) * (zz * (1 - zz)));
        dzh[b] = gh[b] * ((1 - y * y) * (1 - zz));
    }
    if (hold) for (Py_ssize_t b = 0; b < B; b++) if (hold[b]) dzz[b] = dzh[b] = 0;
}

/* reset_after: dz_r = dz_h u_h r(1-r);  du = [dz_z, dz_r, dz_h r] (the recurrent product's operand). */
VECTOR_CLONES static void NAME(gru_after_backward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *g,
                                     const REAL *prod, const REAL *m_h, const REAL *g_next, const REAL *z_next,
                                     const unsigned char *hold_next, const REAL *x, const REAL *u_h,
                                     const REAL *h_prev, const unsigned char *hold, REAL *dz, REAL *du,
                                     REAL *dzh_r) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        const REAL *zg = x + r, *rg = x + H * B + r, *hh = x + 2 * H * B + r;
        REAL *dzz = dz + r, *dzr = dz + H * B + r, *dzh = dz + 2 * H * B + r;
        NAME(gru_common)(r, B, g + r, prod, NULL, NULL, m_h, g_next, z_next ? z_next + r : NULL, hold_next,
                         zg, hh, h_prev, hold, dzz, dzh);
        for (Py_ssize_t b = 0; b < B; b++) {
            const REAL rr = rg[b];
            dzr[b] = dzh[b] * (u_h[r + b] * (rr * (1 - rr)));
            du[r + b] = dzz[b];
            du[H * B + r + b] = dzr[b];
            du[2 * H * B + r + b] = dzh_r[r + b] = dzh[b] * rr;
        }
    }
}

/* reset_before, first half: gh, dz_z, dz_h (before d(rh) = U_h dz_h). d_rh, r_next: the step
 * after's d(rh) and r, which reach h_t through r h_t. */
VECTOR_CLONES static void NAME(gru_before_backward)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, REAL *g,
                                      const REAL *prod, const REAL *d_rh, const REAL *r_next, const REAL *m_h,
                                      const REAL *g_next, const REAL *z_next, const unsigned char *hold_next,
                                      const REAL *x, const REAL *h_prev, const unsigned char *hold, REAL *dz) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        const REAL *zg = x + r, *hh = x + 2 * H * B + r;
        NAME(gru_common)(r, B, g + r, prod, d_rh, r_next ? r_next + r : NULL, m_h, g_next,
                         z_next ? z_next + r : NULL, hold_next, zg, hh, h_prev, hold, dz + r, dz + 2 * H * B + r);
    }
}

/* reset_before, second half: dz_r = d(rh) h_prev m_h r(1-r) (0 on masked columns: d(rh) is 0 there). */
VECTOR_CLONES static void NAME(gru_before_reset)(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t B, Py_ssize_t H, const REAL *d_rh,
                                   const REAL *x, const REAL *h_prev, const REAL *m_h, REAL *dz) {
    for (Py_ssize_t j = j0; j < j1; j++) {
        const Py_ssize_t r = j * B;
        const REAL *rg = x + H * B + r;
        REAL *dzr = dz + H * B + r;
        if (m_h) for (Py_ssize_t b = 0; b < B; b++) dzr[b] = d_rh[r + b] * ((h_prev[r + b] * m_h[r + b]) * (rg[b] * (1 - rg[b])));
        else for (Py_ssize_t b = 0; b < B; b++) dzr[b] = d_rh[r + b] * (h_prev[r + b] * (rg[b] * (1 - rg[b])));
    }
}

/* ---- whole-sequence loops ---------------------------------------------------------------------- */
/* One call per sequence (forward) or per backward: the time loop itself, with the GIL released for
 * all of it. Per step: the recurrent product by the BLAS's gemm (NAME(gemm), row-major
 * C = A B + beta C), then the step kernels above, their rows split over `threads` as in a per-step
 * call. The forward's product goes with beta = 1 straight into the step's projection z_t
 * (z_t += U^T h_in), so that there is no separate product buffer and no pass to add it; the kernels
 * get rec = NULL. GRU reset_after keeps its product apart (u_h = U_h^T h + b_hh is kept, and r
 * multiplies it), so there beta = 0 into `rec`. Blocks are (F, B); step t of a (T, G H, B) array
 * starts at t G H B; a slot buffer (slots, H, B) holds step t in slot t % slots; hold (T, B) bytes;
 * outputs (B, T, H). h_in = h_{t-1} m_h is `dropped`, which each step writes for the next. */

#define STEP_OF(array, t, rows) ((array) + (size_t)(t) * (size_t)(rows) * (size_t)HB)
#define SLOT_OF(array, t) ((array) + (size_t)((t) % slots) * (size_t)HB)

/* h0 m_h into dropped (the first step's product operand); returns the operand to use. */
static const REAL *NAME(first_operand)(Py_ssize_t HB, const REAL *h0, const REAL *m_h, REAL *dropped) {
    if (!dropped) return h0;
    for (Py_ssize_t k = 0; k < HB; k++) dropped[k] = h0[k] * m_h[k];
    return dropped;
}

static void NAME(simple_forward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                          Py_ssize_t slots, int zero_start, REAL *z, const REAL *recurrent_t,
                                          const REAL *h0, const unsigned char *hold, REAL *hs, const REAL *m_h,
                                          REAL *dropped, REAL *outputs) {
    const Py_ssize_t HB = H * B;
    const REAL *h_prev = h0, *h_in = NAME(first_operand)(HB, h0, m_h, dropped);
    for (Py_ssize_t t = 0; t < T; t++) {
        REAL *zt = STEP_OF(z, t, 1), *h = SLOT_OF(hs, t);
        const unsigned char *hold_t = hold ? hold + t * B : NULL;
        REAL *out_t = outputs ? outputs + t * H : NULL;
        if (t || !zero_start) NAME(gemm)(H, B, H, recurrent_t, H, h_in, B, 1, zt, B);   /* z_t += U^T h_in */
        OVER_ROWS(threads, H, NAME(simple_forward)(j0, j1, B, zt, NULL, h_prev, hold_t, h, m_h, dropped, out_t,
                                                   T * H));
        h_prev = h;
        h_in = dropped ? dropped : h;
    }
}

/* recurrent_kernel U (H, H). g_all (T, H, B) becomes dz; prod (H, B) ends as U dz_0 (unless
 * !need_initial: the last product is skipped); carry as in simple_backward. */
static void NAME(simple_backward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                           int need_initial, REAL *g_all, const REAL *recurrent_kernel,
                                           const REAL *hs, const unsigned char *hold, const REAL *m_h, REAL *prod,
                                           REAL *carry) {
    const Py_ssize_t HB = H * B;
    for (Py_ssize_t t = T - 1; t >= 0; t--) {
        REAL *g = STEP_OF(g_all, t, 1);
        const REAL *prod_in = t != T - 1 ? prod : NULL;
        const unsigned char *hold_t = hold ? hold + t * B : NULL;
        OVER_ROWS(threads, H, NAME(simple_backward)(j0, j1, B, g, prod_in, m_h, carry, STEP_OF(hs, t, 1), hold_t));
        if (t == 0 && !need_initial) break;          /* nothing asks for dL/dh_{-1} */
        NAME(gemm)(H, B, H, recurrent_kernel, H, g, B, 0, prod, B);                    /* U dz_t */
    }
}

/* z (T, 4H, B) in the internal gate order i, f, o, c; recurrent_t (4H, H). */
static void NAME(lstm_forward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                        Py_ssize_t slots, int zero_start, REAL *z, const REAL *recurrent_t,
                                        const REAL *h0, const REAL *c0, const unsigned char *hold, REAL *hs, REAL *cs,
                                        REAL *tcs, const REAL *m_h, REAL *dropped, REAL *outputs) {
    const Py_ssize_t HB = H * B;
    const REAL *h_prev = h0, *c_prev = c0, *h_in = NAME(first_operand)(HB, h0, m_h, dropped);
    for (Py_ssize_t t = 0; t < T; t++) {
        REAL *zt = STEP_OF(z, t, 4), *h = SLOT_OF(hs, t), *c = SLOT_OF(cs, t), *tc = SLOT_OF(tcs, t);
        const unsigned char *hold_t = hold ? hold + t * B : NULL;
        REAL *out_t = outputs ? outputs + t * H : NULL;
        if (t || !zero_start) NAME(gemm)(4 * H, B, H, recurrent_t, H, h_in, B, 1, zt, B);
        OVER_ROWS(threads, H, NAME(lstm_forward)(j0, j1, B, H, zt, NULL, h_prev, c_prev, hold_t, h, c, tc, m_h,
                                                 dropped, out_t, T * H));
        h_prev = h;
        c_prev = c;
        h_in = dropped ? dropped : h;
    }
}

/* recurrent_kernel (H, 4H) in the internal order; gh_all (T, H, B) becomes gh; dz (T, 4H, B);
 * dc_next (H, B): dL/dc_T in, dL/dc_{-1} out; prod as in simple_backward_sequence. */
static void NAME(lstm_backward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                         int need_initial, REAL *gh_all, const REAL *recurrent_kernel, const REAL *z,
                                         const REAL *c0, const REAL *cs, const REAL *tcs, const unsigned char *hold,
                                         const REAL *m_h, REAL *dc_next, REAL *dz, REAL *prod) {
    const Py_ssize_t HB = H * B;
    for (Py_ssize_t t = T - 1; t >= 0; t--) {
        const int after = t != T - 1;                /* nothing comes back from after the last step */
        REAL *dzt = STEP_OF(dz, t, 4);
        const unsigned char *hold_t = hold ? hold + t * B : NULL, *hold_next = hold && after ? hold + (t + 1) * B : NULL;
        OVER_ROWS(threads, H, NAME(lstm_backward)(j0, j1, B, H, STEP_OF(gh_all, t, 1), after ? prod : NULL, m_h,
                                                  after ? STEP_OF(gh_all, t + 1, 1) : NULL, hold_next,
                                                  STEP_OF(z, t, 4), t ? STEP_OF(cs, t - 1, 1) : c0,
                                                  STEP_OF(tcs, t, 1), hold_t, dc_next, dzt));
        if (t == 0 && !need_initial) break;
        NAME(gemm)(H, B, 4 * H, recurrent_kernel, 4 * H, dzt, B, 0, prod, B);
    }
}

/* x (T, 3H, B), gates z, r, h; recurrent_t (3H, H); rec (3H, B) the step's product; kept (slots, H, B)
 * u_h per step; b_hh (H,) or NULL. */
static void NAME(gru_after_forward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                             Py_ssize_t slots, int zero_start, REAL *x, const REAL *recurrent_t,
                                             const REAL *h0, const unsigned char *hold, REAL *hs, REAL *kept,
                                             const REAL *b_hh, const REAL *m_h, REAL *dropped, REAL *outputs,
                                             REAL *rec) {
    const Py_ssize_t HB = H * B;
    const REAL *h_prev = h0, *h_in = NAME(first_operand)(HB, h0, m_h, dropped);
    for (Py_ssize_t t = 0; t < T; t++) {
        REAL *h = SLOT_OF(hs, t);
        const unsigned char *hold_t = hold ? hold + t * B : NULL;
        REAL *out_t = outputs ? outputs + t * H : NULL;
        if (t || !zero_start) NAME(gemm)(3 * H, B, H, recurrent_t, H, h_in, B, 0, rec, B);
        else memset(rec, 0, (size_t)(3 * HB) * sizeof(REAL));       /* h_{-1} = 0 */
        OVER_ROWS(threads, H, NAME(gru_after_forward)(j0, j1, B, H, STEP_OF(x, t, 3), rec, b_hh, h_prev, hold_t,
                                                      SLOT_OF(kept, t), h, m_h, dropped, out_t, T * H));
        h_prev = h;
        h_in = dropped ? dropped : h;
    }
}

/* recurrent_kernel (H, 3H); kept (T, H, B) u_h; du (3H, B) scratch; dzh_r (T, H, B). prod ends as
 * U du_0 (always: the per-step path returns dL/dh_{-1} for GRU whatever is asked). */
static void NAME(gru_after_backward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                              REAL *gh_all, const REAL *recurrent_kernel, const REAL *x,
                                              const REAL *kept, const REAL *h0, const REAL *hs,
                                              const unsigned char *hold, const REAL *m_h, REAL *dz, REAL *du,
                                              REAL *dzh_r, REAL *prod) {
    const Py_ssize_t HB = H * B;
    for (Py_ssize_t t = T - 1; t >= 0; t--) {
        const int after = t != T - 1;
        const unsigned char *hold_t = hold ? hold + t * B : NULL, *hold_next = hold && after ? hold + (t + 1) * B : NULL;
        OVER_ROWS(threads, H, NAME(gru_after_backward)(j0, j1, B, H, STEP_OF(gh_all, t, 1), after ? prod : NULL, m_h,
                                                       after ? STEP_OF(gh_all, t + 1, 1) : NULL,
                                                       after ? STEP_OF(x, t + 1, 3) : NULL, hold_next,
                                                       STEP_OF(x, t, 3), STEP_OF(kept, t, 1),
                                                       t ? STEP_OF(hs, t - 1, 1) : h0, hold_t, STEP_OF(dz, t, 3),
                                                       du, STEP_OF(dzh_r, t, 1)));
        NAME(gemm)(H, B, 3 * H, recurrent_kernel, 3 * H, du, B, 0, prod, B);
    }
}

/* Both products of a reset_before step accumulate into x: the z and r rows' (beta = 1, before the
 * gates kernel), then the candidate's from rh (beta = 1, before the output kernel). */
static void NAME(gru_before_forward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                              Py_ssize_t slots, int zero_start, REAL *x, const REAL *recurrent_t,
                                              const REAL *h0, const unsigned char *hold, REAL *hs, REAL *kept,
                                              const REAL *m_h, REAL *dropped, REAL *outputs) {
    const Py_ssize_t HB = H * B;
    const REAL *h_prev = h0, *h_in = NAME(first_operand)(HB, h0, m_h, dropped);
    for (Py_ssize_t t = 0; t < T; t++) {
        REAL *xt = STEP_OF(x, t, 3), *h = SLOT_OF(hs, t), *rh = SLOT_OF(kept, t);
        const unsigned char *hold_t = hold ? hold + t * B : NULL;
        REAL *out_t = outputs ? outputs + t * H : NULL;
        const int product = t || !zero_start;        /* h_{-1} = 0: both products add nothing */
        if (product) NAME(gemm)(2 * H, B, H, recurrent_t, H, h_in, B, 1, xt, B);
        OVER_ROWS(threads, H, NAME(gru_before_gates)(j0, j1, B, H, xt, NULL, h_in, rh));
        if (product) NAME(gemm)(H, B, H, recurrent_t + 2 * H * H, H, rh, B, 1, xt + 2 * HB, B);
        OVER_ROWS(threads, H, NAME(gru_before_out)(j0, j1, B, H, xt, NULL, h_prev, hold_t, h, m_h, dropped, out_t,
                                                   T * H));
        h_prev = h;
        h_in = dropped ? dropped : h;
    }
}

/* recurrent_kernel (H, 3H): U_zr its first 2H columns, U_h the last H (row stride 3H). prod and
 * d_rh end as U_zr dz_zr and U_h dz_h of step 0. */
static void NAME(gru_before_backward_sequence)(Py_ssize_t threads, Py_ssize_t T, Py_ssize_t B, Py_ssize_t H,
                                               REAL *gh_all, const REAL *recurrent_kernel, const REAL *x,
                                               const REAL *h0, const REAL *hs, const unsigned char *hold,
                                               const REAL *m_h, REAL *dz, REAL *d_rh, REAL *prod) {
    const Py_ssize_t HB = H * B;
    for (Py_ssize_t t = T - 1; t >= 0; t--) {
        const int after = t != T - 1;
        const unsigned char *hold_t = hold ? hold + t * B : NULL, *hold_next = hold && after ? hold + (t + 1) * B : NULL;
        const REAL *h_prev = t ? STEP_OF(hs, t - 1, 1) : h0, *xt = STEP_OF(x, t, 3);
        const REAL *x_next = after ? STEP_OF(x, t + 1, 3) : NULL;
        REAL *dzt = STEP_OF(dz, t, 3);
        OVER_ROWS(threads, H, NAME(gru_before_backward)(j0, j1, B, H, STEP_OF(gh_all, t, 1), after ? prod : NULL,
                                                        after ? d_rh : NULL, after ? x_next + HB : NULL, m_h,
                                                        after ? STEP_OF(gh_all, t + 1, 1) : NULL, x_next, hold_next,
                                                        xt, h_prev, hold_t, dzt));
        NAME(gemm)(H, B, H, recurrent_kernel + 2 * H, 3 * H, dzt + 2 * HB, B, 0, d_rh, B);
        OVER_ROWS(threads, H, NAME(gru_before_reset)(j0, j1, B, H, d_rh, xt, h_prev, m_h, dzt));
        NAME(gemm)(H, B, 2 * H, recurrent_kernel, 3 * H, dzt, B, 0, prod, B);
    }
}

#undef STEP_OF
#undef SLOT_OF
