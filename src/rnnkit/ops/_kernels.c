/* rnnkit's optional compiled step kernels (see ops/kernels.py, the only caller, and
 * _kernels_body.h, the math). Each function does the elementwise work of one recurrent step in
 * one pass, between the BLAS products that NumPy does, with the GIL released, its rows split
 * over `threads` OpenMP threads (the caller picks the count). Arrays come in through the buffer
 * protocol: C-contiguous, float32 or float64 alike (the first array decides), bool masks as
 * bytes; None for an absent optional array. Every size is checked before anything is written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* x86-64 Linux with GCC: each kernel is also built for AVX2 and picked at load time (the same IEEE
 * operations in wider registers, so the same bits; no FMA contraction: -ffp-contract=off). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* tanh for float32 that the compiler can vectorise (no branches, no libm call): Cephes's tanhf
 * (odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above) with Cephes's expf inside; within
 * 1.3 ulp of the true value, as NumPy's own SIMD tanh (measured on 1M normal numbers). Selections
 * are done on bits so that GCC keeps the loop branch-free; NaN takes the polynomial and stays NaN. */
static inline uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float tanh_f(float x) {
    const uint32_t sign = bits_of(x) & 0x80000000u;
    const float ax = float_of(bits_of(x) ^ sign);
    const float zz = x * x;
    const float small = ((((-5.70498872745e-3f * zz + 2.06390887954e-2f) * zz - 5.37397155531e-2f) * zz
                          + 1.33314422036e-1f) * zz - 3.33332819422e-1f) * zz * x + x;
    const float a = ax + ax;
    uint32_t nu = (uint32_t)(int32_t)(a * 1.44269504088896341f + 0.5f);   /* a >= 0: truncation rounds */
    nu = nu < 100u ? nu : 100u;        /* exp(2|x|) >= 2^100 makes tanh 1; also catches int overflow */
    const float n = (float)(int32_t)nu;
    float r = a - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float r2 = r * r;
    float e = ((((( 1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
                 + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r2 + r + 1.0f;
    e = e * float_of((nu + 127u) << 23);
    const uint32_t big = bits_of(1.0f - 2.0f / (e + 1.0f)) | sign;
    const uint32_t take_big = 0u - (uint32_t)(ax > 0.625f);
    return float_of((big & take_big) | (bits_of(small) & ~take_big));
}

static inline double tanh_d(double x) { return tanh(x); }

VECTOR_CLONES static void tanh_array_f(Py_ssize_t n, const float *x, float *out) {
    for (Py_ssize_t k = 0; k < n; k++) out[k] = tanh_f(x[k]);
}
static void tanh_array_d(Py_ssize_t n, const double *x, double *out) {
    for (Py_ssize_t k = 0; k < n; k++) out[k] = tanh_d(x[k]);
}

/* Runs CALL over rows [j0, j1): all rows in this thread, or split over `threads` OpenMP threads. */
#ifdef _OPENMP
#define OVER_ROWS(threads, rows, CALL)                                                  \
    do {                                                                                \
        const int nt_ = (int)(threads);                                                 \
        const Py_ssize_t rows_ = (rows);                                                \
        if (nt_ <= 1 || rows_ < 2) { Py_ssize_t j0 = 0, j1 = rows_; CALL; }             \
        else {                                                                          \
            _Pragma("omp parallel num_threads(nt_)")                                    \
            {                                                                           \
                const Py_ssize_t n_ = omp_get_num_threads(), k_ = omp_get_thread_num(); \
                Py_ssize_t j0 = rows_ * k_ / n_, j1 = rows_ * (k_ + 1) / n_;            \
                CALL;                                                                   \
            }                                                                           \
        }                                                                               \
    } while (0)
#else
#define OVER_ROWS(threads, rows, CALL) do { Py_ssize_t j0 = 0, j1 = (rows); (void)(threads); CALL; } while (0)
#endif

/* ---- the BLAS's gemm, found at run time ---------------------------------------------------------
 * The sequence loops call the cblas sgemm / dgemm of the BLAS NumPy already loaded, through
 * addresses that ops/kernels.py looks up with ctypes and hands over once (set_gemm): nothing is
 * linked at build time, and without the addresses the sequence loops refuse to run (the per-step
 * path runs instead). `gemm_ilp64`: the sizes are 64-bit (OpenBLAS's ILP64 build, NumPy's own) or
 * 32-bit ints. Row-major, no transposes: C = A B + beta C, A (M, K), B (K, N). */
enum { ROW_MAJOR = 101, NO_TRANS = 111 };
typedef void (*sgemm64_fn)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                           const float *, int64_t, float, float *, int64_t);
typedef void (*dgemm64_fn)(int, int, int, int64_t, int64_t, int64_t, double, const double *, int64_t,
                           const double *, int64_t, double, double *, int64_t);
typedef void (*sgemm32_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                           float *, int);
typedef void (*dgemm32_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int, double,
                           double *, int);
static void *sgemm_address, *dgemm_address;
static int gemm_ilp64;

/* Empty products (H or B of 0) are skipped: a BLAS rejects a leading dimension of 0. */
#define DEFINE_GEMM(NAME_, REAL_, FN64, FN32, ADDRESS)                                                     \
    static void NAME_(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const REAL_ *A, Py_ssize_t lda, const REAL_ *Bm, \
                      Py_ssize_t ldb, REAL_ beta, REAL_ *C, Py_ssize_t ldc) {                             \
        if (M <= 0 || N <= 0 || K <= 0) return;                                                          \
        if (gemm_ilp64) ((FN64)ADDRESS)(ROW_MAJOR, NO_TRANS, NO_TRANS, M, N, K, 1, A, lda, Bm, ldb, beta, C, ldc); \
        else ((FN32)ADDRESS)(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)M, (int)N, (int)K, 1, A, (int)lda, Bm, (int)ldb, \
                             beta, C, (int)ldc);                                                           \
    }
DEFINE_GEMM(gemm_f, float, sgemm64_fn, sgemm32_fn, sgemm_address)
DEFINE_GEMM(gemm_d, double, dgemm64_fn, dgemm32_fn, dgemm_address)

#define REAL float
#define NAME(x) x##_f
#define tanh__f tanh_f
#include "_kernels_body.h"
#undef REAL
#undef NAME
#define REAL double
#define NAME(x) x##_d
#define tanh__d tanh_d
#include "_kernels_body.h"
#undef REAL
#undef NAME

/* ---- arguments ---------------------------------------------------------------------------------- */
#define MAX_ARRAYS 20

typedef struct {
    Py_buffer views[MAX_ARRAYS];
    int count;
    int itemsize;                                   /* 4 or 8, from the first float array */
} Args;

static void release(Args *a) {
    for (int k = 0; k < a->count; k++) PyBuffer_Release(&a->views[k]);
    a->count = 0;
}

/* A float array of at least `need` numbers (NULL for None when `optional`); one that is only read
 * (a weight) need not be writable. */
static void *real_view(Args *a, PyObject *obj, Py_ssize_t need, int optional, int writable, const char *what) {
    if (obj == Py_None) {
        if (optional) return NULL;
        PyErr_Format(PyExc_TypeError, "kernel argument %s must be an array. Received: None", what);
        return NULL;
    }
    Py_buffer *v = &a->views[a->count];
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return NULL;
    a->count++;
    int size = (v->format && (strcmp(v->format, "f") == 0 || strcmp(v->format, "<f") == 0)) ? 4 :
               (v->format && (strcmp(v->format, "d") == 0 || strcmp(v->format, "<d") == 0)) ? 8 : 0;
    if (!size || (a->itemsize && size != a->itemsize)) {
        PyErr_Format(PyExc_TypeError, "kernel argument %s must be float32 or float64 like the others. "
                     "Received: format %s", what, v->format ? v->format : "?");
        return NULL;
    }
    a->itemsize = size;
    if (v->len < need * size) {
        PyErr_Format(PyExc_ValueError, "kernel argument %s must hold at least %zd numbers. Received: %zd",
                     what, need, v->len / size);
        return NULL;
    }
    return v->buf;
}

static void *real_array(Args *a, PyObject *obj, Py_ssize_t need, int optional, const char *what) {
    return real_view(a, obj, need, optional, 1, what);
}

static const unsigned char *bool_array(Args *a, PyObject *obj, Py_ssize_t need, const char *what) {
    if (obj == Py_None) return NULL;
    Py_buffer *v = &a->views[a->count];
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    a->count++;
    if (!v->format || strcmp(v->format, "?") != 0 || v->len < need) {
        PyErr_Format(PyExc_TypeError, "kernel argument %s must be a bool array of at least %zd. Received: "
                     "format %s, %zd bytes", what, need, v->format ? v->format : "?", v->len);
        return NULL;
    }
    return (const unsigned char *)v->buf;
}

/* Reads the leading integer arguments (threads, B, H, ...). */
static int ints(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t expected, int count, Py_ssize_t *out) {
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "kernel takes %zd arguments. Received: %zd", expected, nargs);
        return -1;
    }
    for (int k = 0; k < count; k++) {
        out[k] = PyLong_AsSsize_t(args[k]);
        if (out[k] == -1 && PyErr_Occurred()) return -1;
        if (out[k] < 0) {
            PyErr_Format(PyExc_ValueError, "kernel size argument %d must be >= 0. Received: %zd", k, out[k]);
            return -1;
        }
    }
    return 0;
}

#define DISPATCH(a, CALL_F, CALL_D)                                  \
    do {                                                             \
        Py_BEGIN_ALLOW_THREADS                                       \
        if ((a).itemsize == 4) { CALL_F; } else { CALL_D; }          \
        Py_END_ALLOW_THREADS                                         \
    } while (0)


/* out_t and its stride from a (B, T, H) outputs array and the step t. */
static void *step_output(Args *a, PyObject *outputs, Py_ssize_t t, Py_ssize_t B, Py_ssize_t H, Py_ssize_t *stride) {
    if (outputs == Py_None) return NULL;
    char *base = real_array(a, outputs, B * H, 0, "outputs");
    if (!base) return NULL;
    Py_ssize_t T = (B > 0 && H > 0) ? a->views[a->count - 1].len / a->itemsize / (B * H) : 0;
    if (t >= T) {
        PyErr_Format(PyExc_ValueError, "kernel step %zd is past the outputs' %zd steps", t, T);
        return NULL;
    }
    *stride = T * H;
    return base + (size_t)(t * H) * a->itemsize;
}

/* Every kernel's arguments: the ints threads, B, H (and t, the step, for those that write the
 * outputs), then arrays as its Spec lists them, each checked before anything runs. */
typedef struct {
    const char *name;
    char kind;      /* a float array of `blocks` (H, B) blocks: 'R' written, 'r' the same or None;
                       of T steps of them: 'T' written, 'K' only read; 'S' (slots, blocks H, B) slots;
                       'W' (blocks H, H) a weight, read; 'c' (H, B) read, 'q' the same or None;
                       'v' (H,) or None; 'm' a bool mask (B,) a step, (T, B) a sequence, or None;
                       'o' the (B, T, H) outputs or None */
    int blocks;
} Spec;

typedef struct {
    Py_ssize_t threads, B, H;
    void *p[MAX_ARRAYS];
    Py_ssize_t out_stride;
    Args a;
} Call;

/* The arrays of a call as its Spec lists them, each checked before anything runs; `steps`: 1 for
 * a per-step kernel, T for a sequence loop (see parse_sequence for the kinds it adds); `t_out`:
 * the step whose output a per-step kernel writes, or -1 for a sequence loop's whole outputs. */
static int parse_arrays(Args *a, PyObject *const *arrays, const Spec *spec, int count, Py_ssize_t steps,
                        Py_ssize_t slots, Py_ssize_t B, Py_ssize_t H, Py_ssize_t t_out, void **p,
                        Py_ssize_t *out_stride) {
    a->count = 0;
    a->itemsize = 0;
    const Py_ssize_t HB = H * B;
    for (int k = 0; k < count; k++) {
        PyObject *obj = arrays[k];
        const Spec *e = &spec[k];
        const Py_ssize_t block = e->blocks * HB;
        switch (e->kind) {
        case 'R': p[k] = real_view(a, obj, block, 0, 1, e->name); break;
        case 'r': p[k] = real_view(a, obj, block, 1, 1, e->name); break;
        case 'T': p[k] = real_view(a, obj, steps * block, 0, 1, e->name); break;
        case 'K': p[k] = real_view(a, obj, steps * block, 0, 0, e->name); break;
        case 'S': p[k] = real_view(a, obj, slots * block, 0, 1, e->name); break;
        case 'W': p[k] = real_view(a, obj, e->blocks * H * H, 0, 0, e->name); break;
        case 'c': p[k] = real_view(a, obj, HB, 0, 0, e->name); break;
        case 'q': p[k] = real_view(a, obj, HB, 1, 0, e->name); break;
        case 'v': p[k] = real_view(a, obj, H, 1, 0, e->name); break;
        case 'm': p[k] = (void *)bool_array(a, obj, steps * B, e->name); break;
        case 'o': p[k] = t_out >= 0 ? step_output(a, obj, t_out, B, H, out_stride)
                                    : real_view(a, obj, B * steps * H, 1, 1, e->name); break;
        default: PyErr_Format(PyExc_SystemError, "kernel spec %s has no kind %c", e->name, e->kind);
        }
        if (PyErr_Occurred()) {
            release(a);
            return -1;
        }
    }
    return 0;
}

static int parse(PyObject *const *args, Py_ssize_t nargs, const Spec *spec, int count, int with_step, Call *c) {
    const int lead = with_step ? 4 : 3;
    Py_ssize_t n[4];
    c->a.count = 0;
    if (ints(args, nargs, lead + count, lead, n) < 0) return -1;
    c->threads = n[0], c->B = n[1], c->H = n[2];
    return parse_arrays(&c->a, args + lead, spec, count, 1, 1, c->B, c->H, with_step ? n[3] : -1, c->p,
                        &c->out_stride);
}

/* Runs a kernel of the body (its float or double twin) with the call's arguments. */
#define RUN(c, kernel, ...)                                                                          \
    do {                                                                                             \
        const Py_ssize_t B = (c).B, H = (c).H;                                                       \
        void *const *p = (c).p;                                                                      \
        (void)H; (void)p;                                                                            \
        DISPATCH((c).a, OVER_ROWS((c).threads, (c).H, kernel##_f(j0, j1, B, __VA_ARGS__)),          \
                        OVER_ROWS((c).threads, (c).H, kernel##_d(j0, j1, B, __VA_ARGS__)));         \
        release(&(c).a);                                                                             \
    } while (0)

#define DROPOUT_PAIR(c, m, d) ((!(c).p[m]) != (!(c).p[d]))
#define BAD(c, cond, what)                                                                           \
    if (cond) {                                                                                      \
        release(&(c).a);                                                                             \
        PyErr_SetString(PyExc_ValueError, "kernel arguments " what);                                 \
        return NULL;                                                                                 \
    }

static const Spec SIMPLE_FORWARD[] = {{"z", 'R', 1}, {"rec", 'r', 1}, {"h_prev", 'R', 1}, {"hold", 'm', 0},
                                      {"h", 'R', 1}, {"m_h", 'r', 1}, {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_simple_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, SIMPLE_FORWARD, 8, 1, &c) < 0) return NULL;
    BAD(c, DROPOUT_PAIR(c, 5, 6), "m_h and dropped come together");
    RUN(c, simple_forward, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], c.out_stride);
    Py_RETURN_NONE;
}

static const Spec SIMPLE_BACKWARD[] = {{"g", 'R', 1}, {"prod", 'r', 1}, {"m_h", 'r', 1}, {"carry", 'r', 1},
                                       {"h", 'R', 1}, {"hold", 'm', 0}};
static PyObject *py_simple_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, SIMPLE_BACKWARD, 6, 0, &c) < 0) return NULL;
    BAD(c, c.p[5] && !c.p[3], "hold needs carry");
    RUN(c, simple_backward, p[0], p[1], p[2], p[3], p[4], p[5]);
    Py_RETURN_NONE;
}

static const Spec LSTM_FORWARD[] = {{"z", 'R', 4}, {"rec", 'r', 4}, {"h_prev", 'R', 1}, {"c_prev", 'R', 1},
                                    {"hold", 'm', 0}, {"h", 'R', 1}, {"c", 'R', 1}, {"tc", 'R', 1},
                                    {"m_h", 'r', 1}, {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_lstm_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, LSTM_FORWARD, 11, 1, &c) < 0) return NULL;
    BAD(c, DROPOUT_PAIR(c, 8, 9), "m_h and dropped come together");
    RUN(c, lstm_forward, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], c.out_stride);
    Py_RETURN_NONE;
}

static const Spec LSTM_BACKWARD[] = {{"g", 'R', 1}, {"prod", 'r', 1}, {"m_h", 'r', 1}, {"g_next", 'r', 1},
                                     {"hold_next", 'm', 0}, {"z", 'R', 4}, {"c_prev", 'R', 1}, {"tc", 'R', 1},
                                     {"hold", 'm', 0}, {"dc_next", 'R', 1}, {"dz", 'R', 4}};
static PyObject *py_lstm_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, LSTM_BACKWARD, 11, 0, &c) < 0) return NULL;
    BAD(c, c.p[1] && !c.p[3], "prod needs g_next");
    RUN(c, lstm_backward, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]);
    Py_RETURN_NONE;
}

static const Spec GRU_AFTER_FORWARD[] = {{"x", 'R', 3}, {"rec", 'R', 3}, {"b_hh", 'v', 0}, {"h_prev", 'R', 1},
                                         {"hold", 'm', 0}, {"u_h", 'R', 1}, {"h", 'R', 1}, {"m_h", 'r', 1},
                                         {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_gru_after_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_AFTER_FORWARD, 10, 1, &c) < 0) return NULL;
    BAD(c, DROPOUT_PAIR(c, 7, 8), "m_h and dropped come together");
    RUN(c, gru_after_forward, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], c.out_stride);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_GATES[] = {{"x", 'R', 3}, {"rec", 'R', 2}, {"h_in", 'R', 1}, {"rh", 'R', 1}};
static PyObject *py_gru_before_gates(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_BEFORE_GATES, 4, 0, &c) < 0) return NULL;
    RUN(c, gru_before_gates, H, p[0], p[1], p[2], p[3]);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_OUT[] = {{"x", 'R', 3}, {"cand", 'R', 1}, {"h_prev", 'R', 1}, {"hold", 'm', 0},
                                      {"h", 'R', 1}, {"m_h", 'r', 1}, {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_gru_before_out(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_BEFORE_OUT, 8, 1, &c) < 0) return NULL;
    BAD(c, DROPOUT_PAIR(c, 5, 6), "m_h and dropped come together");
    RUN(c, gru_before_out, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], c.out_stride);
    Py_RETURN_NONE;
}

static const Spec GRU_AFTER_BACKWARD[] = {{"g", 'R', 1}, {"prod", 'r', 1}, {"m_h", 'r', 1}, {"g_next", 'r', 1},
                                          {"z_next", 'r', 1}, {"hold_next", 'm', 0}, {"x", 'R', 3},
                                          {"u_h", 'R', 1}, {"h_prev", 'R', 1}, {"hold", 'm', 0}, {"dz", 'R', 3},
                                          {"du", 'R', 3}, {"dzh_r", 'R', 1}};
static PyObject *py_gru_after_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_AFTER_BACKWARD, 13, 0, &c) < 0) return NULL;
    BAD(c, c.p[1] && !(c.p[3] && c.p[4]), "prod needs g_next and z_next");
    RUN(c, gru_after_backward, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11],
        p[12]);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_BACKWARD[] = {{"g", 'R', 1}, {"prod", 'r', 1}, {"d_rh", 'r', 1}, {"r_next", 'r', 1},
                                           {"m_h", 'r', 1}, {"g_next", 'r', 1}, {"z_next", 'r', 1},
                                           {"hold_next", 'm', 0}, {"x", 'R', 3}, {"h_prev", 'R', 1},
                                           {"hold", 'm', 0}, {"dz", 'R', 3}};
static PyObject *py_gru_before_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_BEFORE_BACKWARD, 12, 0, &c) < 0) return NULL;
    BAD(c, c.p[1] && !(c.p[2] && c.p[3] && c.p[5] && c.p[6]), "prod needs d_rh, r_next, g_next and z_next");
    RUN(c, gru_before_backward, H, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_RESET[] = {{"d_rh", 'R', 1}, {"x", 'R', 3}, {"h_prev", 'R', 1}, {"m_h", 'r', 1},
                                        {"dz", 'R', 3}};
static PyObject *py_gru_before_reset(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Call c;
    if (parse(args, nargs, GRU_BEFORE_RESET, 5, 0, &c) < 0) return NULL;
    RUN(c, gru_before_reset, H, p[0], p[1], p[2], p[3], p[4]);
    Py_RETURN_NONE;
}

/* ---- whole-sequence calls (see the body's "whole-sequence loops") ------------------------------ */
/* The ints threads, T, B, H, slots, flag (zero_start forward, need_initial backward), then the
 * arrays as the Spec lists them (kinds: see Spec). */
typedef struct {
    Py_ssize_t threads, T, B, H, slots, flag;
    void *p[MAX_ARRAYS];
    Args a;
} Sequence;

static int parse_sequence(PyObject *const *args, Py_ssize_t nargs, const Spec *spec, int count, Sequence *s) {
    Py_ssize_t n[6];
    s->a.count = 0;
    if (ints(args, nargs, 6 + count, 6, n) < 0) return -1;
    s->threads = n[0], s->T = n[1], s->B = n[2], s->H = n[3], s->slots = n[4], s->flag = n[5];
    if (!sgemm_address || !dgemm_address) {
        PyErr_SetString(PyExc_RuntimeError, "the sequence kernels need the BLAS's gemm: call set_gemm first");
        return -1;
    }
    if (s->T > 0 && s->slots < 1) {
        PyErr_Format(PyExc_ValueError, "kernel argument slots must be >= 1. Received: %zd", s->slots);
        return -1;
    }
    if (!gemm_ilp64 && (s->H > INT32_MAX / 4 || s->B > INT32_MAX)) {
        PyErr_Format(PyExc_ValueError, "sizes past the 32-bit BLAS's reach. Received: B %zd, H %zd", s->B, s->H);
        return -1;
    }
    return parse_arrays(&s->a, args + 6, spec, count, s->T, s->slots, s->B, s->H, -1, s->p, NULL);
}

/* Runs a sequence loop of the body (float or double twin), the whole loop without the GIL. */
#define RUN_SEQUENCE(s, loop, ...)                                                                   \
    do {                                                                                             \
        void *const *p = (s).p;                                                                      \
        Py_BEGIN_ALLOW_THREADS                                                                       \
        if ((s).a.itemsize == 4) loop##_f((s).threads, (s).T, (s).B, (s).H, __VA_ARGS__);            \
        else loop##_d((s).threads, (s).T, (s).B, (s).H, __VA_ARGS__);                                \
        Py_END_ALLOW_THREADS                                                                         \
        release(&(s).a);                                                                             \
    } while (0)

static const Spec SIMPLE_FORWARD_SEQUENCE[] = {{"z", 'T', 1}, {"recurrent_t", 'W', 1}, {"h0", 'c', 1},
                                               {"hold", 'm', 0}, {"hs", 'S', 1}, {"m_h", 'q', 1},
                                               {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_simple_forward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, SIMPLE_FORWARD_SEQUENCE, 8, &s) < 0) return NULL;
    BAD(s, DROPOUT_PAIR(s, 5, 6), "m_h and dropped come together");
    RUN_SEQUENCE(s, simple_forward_sequence, s.slots, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
    Py_RETURN_NONE;
}

static const Spec SIMPLE_BACKWARD_SEQUENCE[] = {{"g_all", 'T', 1}, {"recurrent_kernel", 'W', 1}, {"hs", 'K', 1},
                                                {"hold", 'm', 0}, {"m_h", 'q', 1}, {"prod", 'R', 1},
                                                {"carry", 'r', 1}};
static PyObject *py_simple_backward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, SIMPLE_BACKWARD_SEQUENCE, 7, &s) < 0) return NULL;
    BAD(s, s.p[3] && !s.p[6], "hold needs carry");
    RUN_SEQUENCE(s, simple_backward_sequence, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
    Py_RETURN_NONE;
}

static const Spec LSTM_FORWARD_SEQUENCE[] = {{"z", 'T', 4}, {"recurrent_t", 'W', 4}, {"h0", 'c', 1},
                                             {"c0", 'c', 1}, {"hold", 'm', 0}, {"hs", 'S', 1}, {"cs", 'S', 1},
                                             {"tcs", 'S', 1}, {"m_h", 'q', 1}, {"dropped", 'r', 1},
                                             {"outputs", 'o', 0}};
static PyObject *py_lstm_forward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, LSTM_FORWARD_SEQUENCE, 11, &s) < 0) return NULL;
    BAD(s, DROPOUT_PAIR(s, 8, 9), "m_h and dropped come together");
    RUN_SEQUENCE(s, lstm_forward_sequence, s.slots, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                 p[8], p[9], p[10]);
    Py_RETURN_NONE;
}

static const Spec LSTM_BACKWARD_SEQUENCE[] = {{"gh_all", 'T', 1}, {"recurrent_kernel", 'W', 4}, {"z", 'K', 4},
                                              {"c0", 'c', 1}, {"cs", 'K', 1}, {"tcs", 'K', 1}, {"hold", 'm', 0},
                                              {"m_h", 'q', 1}, {"dc_next", 'R', 1}, {"dz", 'T', 4},
                                              {"prod", 'R', 1}};
static PyObject *py_lstm_backward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, LSTM_BACKWARD_SEQUENCE, 11, &s) < 0) return NULL;
    RUN_SEQUENCE(s, lstm_backward_sequence, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8],
                 p[9], p[10]);
    Py_RETURN_NONE;
}

static const Spec GRU_AFTER_FORWARD_SEQUENCE[] = {{"x", 'T', 3}, {"recurrent_t", 'W', 3}, {"h0", 'c', 1},
                                                  {"hold", 'm', 0}, {"hs", 'S', 1}, {"kept", 'S', 1},
                                                  {"b_hh", 'v', 0}, {"m_h", 'q', 1}, {"dropped", 'r', 1},
                                                  {"outputs", 'o', 0}, {"rec", 'R', 3}};
static PyObject *py_gru_after_forward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, GRU_AFTER_FORWARD_SEQUENCE, 11, &s) < 0) return NULL;
    BAD(s, DROPOUT_PAIR(s, 7, 8), "m_h and dropped come together");
    RUN_SEQUENCE(s, gru_after_forward_sequence, s.slots, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                 p[7], p[8], p[9], p[10]);
    Py_RETURN_NONE;
}

static const Spec GRU_AFTER_BACKWARD_SEQUENCE[] = {{"gh_all", 'T', 1}, {"recurrent_kernel", 'W', 3}, {"x", 'K', 3},
                                                   {"kept", 'K', 1}, {"h0", 'c', 1}, {"hs", 'K', 1},
                                                   {"hold", 'm', 0}, {"m_h", 'q', 1}, {"dz", 'T', 3},
                                                   {"du", 'R', 3}, {"dzh_r", 'T', 1}, {"prod", 'R', 1}};
static PyObject *py_gru_after_backward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, GRU_AFTER_BACKWARD_SEQUENCE, 12, &s) < 0) return NULL;
    RUN_SEQUENCE(s, gru_after_backward_sequence, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9],
                 p[10], p[11]);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_FORWARD_SEQUENCE[] = {{"x", 'T', 3}, {"recurrent_t", 'W', 3}, {"h0", 'c', 1},
                                                   {"hold", 'm', 0}, {"hs", 'S', 1}, {"kept", 'S', 1},
                                                   {"m_h", 'q', 1}, {"dropped", 'r', 1}, {"outputs", 'o', 0}};
static PyObject *py_gru_before_forward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, GRU_BEFORE_FORWARD_SEQUENCE, 9, &s) < 0) return NULL;
    BAD(s, DROPOUT_PAIR(s, 6, 7), "m_h and dropped come together");
    RUN_SEQUENCE(s, gru_before_forward_sequence, s.slots, (int)s.flag, p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                 p[7], p[8]);
    Py_RETURN_NONE;
}

static const Spec GRU_BEFORE_BACKWARD_SEQUENCE[] = {{"gh_all", 'T', 1}, {"recurrent_kernel", 'W', 3},
                                                    {"x", 'K', 3}, {"h0", 'c', 1}, {"hs", 'K', 1},
                                                    {"hold", 'm', 0}, {"m_h", 'q', 1}, {"dz", 'T', 3},
                                                    {"d_rh", 'R', 1}, {"prod", 'R', 1}};
static PyObject *py_gru_before_backward_sequence(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Sequence s;
    if (parse_sequence(args, nargs, GRU_BEFORE_BACKWARD_SEQUENCE, 10, &s) < 0) return NULL;
    RUN_SEQUENCE(s, gru_before_backward_sequence, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
    Py_RETURN_NONE;
}

/* set_gemm(sgemm_address, dgemm_address, ilp64): the BLAS's cblas_sgemm / cblas_dgemm (see above). */
static PyObject *py_set_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t n[3];
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "set_gemm takes 3 arguments. Received: %zd", nargs);
        return NULL;
    }
    void *s_address = PyLong_AsVoidPtr(args[0]);
    if (PyErr_Occurred()) return NULL;
    void *d_address = PyLong_AsVoidPtr(args[1]);
    if (PyErr_Occurred()) return NULL;
    n[2] = PyObject_IsTrue(args[2]);
    if (n[2] < 0) return NULL;
    if (!s_address || !d_address) {
        PyErr_SetString(PyExc_ValueError, "set_gemm needs both addresses. Received: a null address");
        return NULL;
    }
    sgemm_address = s_address, dgemm_address = d_address, gemm_ilp64 = (int)n[2];
    Py_RETURN_NONE;
}

/* tanh(x, out) over a float array with this module's tanh (for the tests and the tool comparison). */
static PyObject *py_tanh(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t n[1];
    if (ints(args, nargs, 3, 1, n) < 0) return NULL;
    Args a = {.count = 0, .itemsize = 0};
    void *x = real_array(&a, args[1], n[0], 0, "x");
    void *out = x ? real_array(&a, args[2], n[0], 0, "out") : NULL;
    if (!out) {
        release(&a);
        return NULL;
    }
    if (a.itemsize == 4) tanh_array_f(n[0], x, out);
    else tanh_array_d(n[0], x, out);
    release(&a);
    Py_RETURN_NONE;
}

static PyObject *py_openmp(PyObject *self, PyObject *unused) {
#ifdef _OPENMP
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"simple_forward", (PyCFunction)(void (*)(void))py_simple_forward, METH_FASTCALL, NULL},
    {"simple_backward", (PyCFunction)(void (*)(void))py_simple_backward, METH_FASTCALL, NULL},
    {"lstm_forward", (PyCFunction)(void (*)(void))py_lstm_forward, METH_FASTCALL, NULL},
    {"lstm_backward", (PyCFunction)(void (*)(void))py_lstm_backward, METH_FASTCALL, NULL},
    {"gru_after_forward", (PyCFunction)(void (*)(void))py_gru_after_forward, METH_FASTCALL, NULL},
    {"gru_after_backward", (PyCFunction)(void (*)(void))py_gru_after_backward, METH_FASTCALL, NULL},
    {"gru_before_gates", (PyCFunction)(void (*)(void))py_gru_before_gates, METH_FASTCALL, NULL},
    {"gru_before_out", (PyCFunction)(void (*)(void))py_gru_before_out, METH_FASTCALL, NULL},
    {"gru_before_backward", (PyCFunction)(void (*)(void))py_gru_before_backward, METH_FASTCALL, NULL},
    {"gru_before_reset", (PyCFunction)(void (*)(void))py_gru_before_reset, METH_FASTCALL, NULL},
    {"simple_forward_sequence", (PyCFunction)(void (*)(void))py_simple_forward_sequence, METH_FASTCALL, NULL},
    {"simple_backward_sequence", (PyCFunction)(void (*)(void))py_simple_backward_sequence, METH_FASTCALL, NULL},
    {"lstm_forward_sequence", (PyCFunction)(void (*)(void))py_lstm_forward_sequence, METH_FASTCALL, NULL},
    {"lstm_backward_sequence", (PyCFunction)(void (*)(void))py_lstm_backward_sequence, METH_FASTCALL, NULL},
    {"gru_after_forward_sequence", (PyCFunction)(void (*)(void))py_gru_after_forward_sequence, METH_FASTCALL, NULL},
    {"gru_after_backward_sequence", (PyCFunction)(void (*)(void))py_gru_after_backward_sequence, METH_FASTCALL, NULL},
    {"gru_before_forward_sequence", (PyCFunction)(void (*)(void))py_gru_before_forward_sequence, METH_FASTCALL, NULL},
    {"gru_before_backward_sequence", (PyCFunction)(void (*)(void))py_gru_before_backward_sequence, METH_FASTCALL, NULL},
    {"set_gemm", (PyCFunction)(void (*)(void))py_set_gemm, METH_FASTCALL, NULL},
    {"tanh", (PyCFunction)(void (*)(void))py_tanh, METH_FASTCALL, NULL},
    {"openmp", py_openmp, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
