"""Layouts shared by the recurrences: the one transpose in, the one transpose out, masks.

Public arrays are batch-major (B, T, F). Inside `ops/` a sequence is time-major and each
step's slice is a contiguous, feature-major (F, B) block: inputs, gates, states and gate
gradients are (T, F, B), so that gate blocks are contiguous rows and every step is
`z_t = W^T x_t + U^T h_{t-1}` with column vectors. After a backward loop the gate gradients
and the states are turned once into (F, T, B) (`by_feature`), so that each weight gradient is
ONE matrix product over all steps, `(G, T*B) @ (T*B, F)`. (Writing the steps straight into
(F, T, B) instead puts every row of a step on another memory page and costs more than that one
turn.) Masks come in as (B, T) booleans (True = a real step) and reach the loop as `hold`
(T, 1, B): True where the step is masked and the state holds its previous value.
"""

import functools

import numpy as np


@functools.lru_cache(maxsize=256)
def gates(units, count):
    """The row slices of `count` gate blocks of `units` rows each, in order: a cell names its
    gates (`I, F, O, C = gates(H, 4)`, then `z[I]`) instead of doing index arithmetic."""
    return tuple(slice(k * units, (k + 1) * units) for k in range(count))


def as_columns(state, shape, dtype):
    """A (B, H) state as a fresh (H, B) block, or zeros when None."""
    return np.zeros(shape, dtype) if state is None else np.array(np.asarray(state, dtype).T, order="C")


def buffer(workspace, name, shape, dtype):
    """An uninitialised array, reused from `workspace` (a dict the caller keeps between calls)
    when one of that name, shape and dtype is there. Fresh tens-of-megabyte arrays cost a page
    fault per 4 KiB on first write, as much as the arithmetic; a reused one costs nothing.
    Never hand a workspace buffer back to the caller as a result."""
    if workspace is None:
        return np.empty(shape, dtype)
    array = workspace.get(name)
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        array = workspace[name] = np.empty(shape, dtype)
    return array


def step_states(workspace, name, T, shape, dtype, keep_cache):
    """Per-step state buffers: all T steps when the backward pass needs them, else two that the
    steps take in turn, which stay in cache instead of streaming T blocks through memory."""
    return buffer(workspace, name, ((T if keep_cache else min(T, 2)),) + tuple(shape), dtype)


def _steps(go_backwards):
    return slice(None, None, -1) if go_backwards else slice(None)


def _batch_to_steps(source, out, workspace, name, go_backwards=False):
    """out[t] = source[:, t].T for a (B, T, F) source and a (T, F, B) out, a few steps at a time:
    swapping B and T moves whole rows into a small buffer, and each step's (B, F) -> (F, B) turn
    then happens in cache (2-4x faster than NumPy's single strided pass at these sizes, and the
    buffer stays about a megabyte). A small sequence (under 16k numbers) is one strided copy:
    there the calls, not the memory, cost the time."""
    B, T, F = source.shape
    if B * T * F < 1 << 14:
        np.copyto(out, source.transpose(1, 2, 0)[_steps(go_backwards)])
        return out
    chunk = max(1, min(T, (1 << 18) // max(1, B * F)))
    rows = buffer(workspace, name, (chunk, B, F), out.dtype)
    ordered = source.transpose(1, 0, 2)[_steps(go_backwards)]
    for start in range(0, T, chunk):
        stop = min(T, start + chunk)
        part = rows[:stop - start]
        np.copyto(part, ordered[start:stop])
        np.copyto(out[start:stop], part.transpose(0, 2, 1))
    return out


def to_steps(x, go_backwards, dtype, workspace=None, with_bias=True):
    """(B, T, D) -> contiguous (T, D + 1, B) in processing order: the one transpose in. The
    extra last feature is all ones, so that the bias rides in the projection's matrix product
    (and its gradient in dW's) for free; without a bias it is left out."""
    B, T, D = x.shape
    xs = buffer(workspace, "xs", (T, D + int(with_bias), B), dtype)
    _batch_to_steps(x, xs[:, :D], workspace, "x_rows", go_backwards)
    if with_bias:
        xs[:, D] = 1.0
    return xs


def augmented_kernel_t(kernel, bias, row_scale=None):
    """[W | b]^T, (G, D (+ 1)): the projection's left operand, rows scaled by `row_scale`."""
    D, G = kernel.shape
    kernel_t = np.empty((G, D + int(bias is not None)), kernel.dtype)
    kernel_t[:, :D] = kernel.T
    if bias is not None:
        kernel_t[:, D] = bias
    if row_scale is not None:
        kernel_t *= row_scale[:, None]
    return kernel_t


def drop_inputs(xs, input_dropout_mask):
    """Applies a (B, D) dropout keep-mask to the features of xs (T, D (+ 1), B), not to the ones."""
    if input_dropout_mask is not None:
        D = input_dropout_mask.shape[1]
        xs[:, :D] *= input_dropout_mask.T


def new_outputs(B, T, H, dtype):
    """The (B, T, H) array a loop fills step by step with `end_step` (the one transpose out)."""
    return np.empty((B, T, H), dtype)


def end_step(h, h_prev, hold, outputs, t):
    """The end of every step: a masked column keeps h_{t-1}, and the step goes into the returned
    (B, T, H) outputs (outputs[:, t] = h^T) when they are wanted."""
    if hold is not None:
        np.copyto(h, h_prev, where=hold[t])
    if outputs is not None:
        np.copyto(outputs[:, t], h.T)


def zero_masked_outputs(outputs, hold, zero_output_for_mask):
    """Masked steps of a returned (B, T, H) sequence output zeros when asked (Bidirectional)."""
    if outputs is not None and zero_output_for_mask and hold is not None:
        outputs[hold[:, 0, :].T] = 0.0


def grad_to_steps(d_outputs, dtype, workspace=None):
    """A (T, H, B) copy of an incoming (B, T, H) gradient, safe to overwrite in place."""
    B, T, H = d_outputs.shape
    return _batch_to_steps(d_outputs, buffer(workspace, "g_all", (T, H, B), dtype), workspace, "g_rows")


def output_grads(d_outputs, d_last, hold, zero_output_for_mask, shape, dtype, workspace=None):
    """dL/dh_t from outside the recurrence, (T, H, B): the returned sequence's gradient (zero on
    masked steps that output zeros) plus the last state's gradient on the last step."""
    if d_outputs is not None:
        g_all = grad_to_steps(d_outputs, dtype, workspace)
        if zero_output_for_mask:
            zero_held(g_all, hold)
    else:
        g_all = buffer(workspace, "g_all", shape, dtype)
        g_all.fill(0.0)
    if d_last is not None and shape[0]:
        g_all[-1] += d_last.T
    return g_all


def hold_mask(mask, go_backwards):
    """(B, T) bool (True = real step) -> (T, 1, B) bool, True where the state holds; or None."""
    if mask is None:
        return None
    return ~np.ascontiguousarray(np.asarray(mask, dtype=bool).T[_steps(go_backwards)])[:, None, :]


def zero_held(array_thb, hold):
    """Zeros the masked steps of a (T, H, B) array in place."""
    if hold is not None:
        array_thb[np.broadcast_to(hold, array_thb.shape)] = 0.0


def states_by_step(h0t, hs, workspace=None, name="h_prev"):
    """h_{t-1} for every step as a (T, H, B) array: h0 then hs[:-1] (used before backward loops)."""
    T, H, B = hs.shape
    h_prev = buffer(workspace, name, (T, H, B), hs.dtype)
    if T:                   # an empty sequence has no step before which to put h0
        h_prev[0] = h0t
        h_prev[1:] = hs[:-1]
    return h_prev


def by_feature(array_tfb, workspace=None, name="by_feature", into=None):
    """(T, F, B) -> contiguous (F, T, B): the layout whose (F, T*B) view the weight GEMMs take.
    `into`: a spent buffer of the same size to write into (saves holding another one)."""
    T, F, B = array_tfb.shape
    out = buffer(workspace, name, (F, T, B), array_tfb.dtype) if into is None else into.reshape(F, T, B)
    np.copyto(out, array_tfb.transpose(1, 0, 2))
    return out


def input_grads(xs, dz, kernel, input_dropout_mask, go_backwards, workspace=None, need_dx=True):
    """dW (and db, from the ones row of xs) as ONE product, and dx (B, T, D).

    xs: (T, D (+ 1), B) as `to_steps` made it; dz: (G, T, B) from `by_feature`.
    Returns (dW, db or None, dx or None when not `need_dx`).
    """
    T, F, B = xs.shape
    D, G = kernel.shape
    dz2 = dz.reshape(G, T * B)
    x_by_feature = by_feature(xs, workspace, "x_by_feature")
    grad = np.dot(x_by_feature.reshape(F, T * B), dz2.T)
    if not need_dx:
        return grad[:D], (grad[D] if F > D else None), None
    dxs = np.dot(dz2.T, kernel.T).reshape(T, B, D)          # rows in (t, b) order
    if input_dropout_mask is not None:
        dxs *= input_dropout_mask
    dx = np.ascontiguousarray(dxs.transpose(1, 0, 2)[:, _steps(go_backwards)])
    return grad[:D], (grad[D] if F > D else None), dx


def previous_states_by_feature(h0t, hs, recurrent_dropout_mask=None, workspace=None, into=None):
    """h_{t-1} m_h for every step as (H, T * B), with h_{-1} = h0: the left operand of dU.

    h0t: (H, B); hs: (T, H, B) the states. `into`: a spent (T, H, B)-sized contiguous buffer to
    write into instead of a workspace buffer of its own (one (T, H, B) array less at the peak).
    """
    T, H, B = hs.shape
    h_prev = buffer(workspace, "h_prev_by_feature", (H, T, B), hs.dtype) if into is None else into.reshape(H, T, B)
    if T:
        h_prev[:, 0] = h0t
        np.copyto(h_prev[:, 1:], hs[:-1].transpose(1, 0, 2))
    if recurrent_dropout_mask is not None:
        h_prev *= recurrent_dropout_mask.T[:, None, :]
    return h_prev.reshape(H, T * B)


def recurrent_kernel_grad(h0t, hs, dz, recurrent_dropout_mask=None, workspace=None, into=None):
    """dU = sum_t (h_{t-1} m_h) dz_t^T over all steps, (H, G), with h_{-1} = h0: ONE product.

    h0t: (H, B); hs: (T, H, B) the states; dz: (G, T, B) from `by_feature`; `into` as for
    `previous_states_by_feature`.
    """
    h_prev = previous_states_by_feature(h0t, hs, recurrent_dropout_mask, workspace, into)
    return np.dot(h_prev, dz.reshape(dz.shape[0], -1).T)


@functools.lru_cache(maxsize=64)
def sigmoid_prescale(units, sigmoid_gates, other_gates, dtype):
    """Row scales that let ONE tanh call activate every gate of a step (read-only, made once per
    shape: every call of a layer asks for them).

    sigmoid(z) = 0.5 tanh(z / 2) + 0.5, so projecting the sigmoid gates with weights halved gives
    z / 2 directly; after tanh over all rows, the sigmoid gates need only `* 0.5 + 0.5`.
    """
    scale = np.concatenate([np.full(units * sigmoid_gates, 0.5, dtype), np.ones(units * other_gates, dtype)])
    scale.setflags(write=False)
    return scale


def scaled_transpose(matrix, row_scale):
    """matrix^T with its rows scaled, written C-contiguous in one pass (the product of a
    transposed view would come out Fortran-ordered and need a second copy)."""
    return np.multiply(matrix.T, row_scale[:, None], out=np.empty(matrix.shape[::-1], matrix.dtype))


def project(xs, kernel_t, workspace=None):
    """W^T x_t + b for every step: ONE batched product (G, D + 1) x (T, D + 1, B) -> (T, G, B)."""
    T, D, B = xs.shape
    z = buffer(workspace, "gates", (T, kernel_t.shape[0], B), xs.dtype)
    np.matmul(kernel_t, xs, out=z)
    return z
