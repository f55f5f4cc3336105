"""Merging several tensors into one, and the gradients that flow back to each.

    add:          y = x_1 + ... + x_n                  dx_k = dy
    subtract:     y = x_1 - x_2                        dx_1 = dy, dx_2 = -dy
    multiply:     y = x_1 * ... * x_n                  dx_k = dy * prod_{j != k} x_j
    average:      y = (x_1 + ... + x_n) / n            dx_k = dy / n
    maximum:      y = max_k x_k                        dx_k = dy where x_k is the first maximum
    minimum:      y = min_k x_k                        dx_k = dy where x_k is the first minimum
    concatenate:  y = [x_1, ..., x_n] along an axis    dx_k = the slice of dy that x_k filled
    batch_dot:    y[b] = x[b] . z[b], contracting axis a of x with axis c of z, per sample b;
                  with normalize, x <- x / max(|x|_a, eps) and z likewise first (cosine similarity)
                  dx[b] = dy[b] . z[b] over z's free axes (and dz likewise); through the
                  normalisation n = x / s, s = sqrt(max(sum_a x^2, eps)):
                  dx = (dn - n * sum_a(dn * n)) / s where sum_a x^2 > eps, else dn / s

Keras 3 merges inputs under masks (m_k, True where valid) differently from Keras 2:
    maximum/minimum:  out <- x_1; for k > 1: x_k <- x_k where m_k else out; out <- out where
                      m_out else x_k; out <- op(out, x_k); m_out <- m_out or m_k
                      (the op over the valid inputs; the first input where none is valid)
    multiply:         prod_k (x_k where m_k else 1), and 0 where no input is valid
and backward:
    maximum/minimum:  each output element came from one input (followed through the fills above,
                      the running value on a tie); dx_k = dy where it came from x_k, else 0
    multiply:         dx_k = dy * prod_{j != k} (x_j where m_j else 1) where m_k and some input
                      is valid, else 0
"""

import numpy as np

_L2_EPSILON = 1e-12  # Keras's l2_normalize: x / sqrt(max(sum(x^2), 1e-12))


def add(xs):
    out = np.array(xs[0], copy=True)
    for x in xs[1:]:
        out += x
    return out


def subtract(xs):
    return xs[0] - xs[1]


def multiply(xs):
    out = np.array(xs[0], copy=True)
    for x in xs[1:]:
        out *= x
    return out


def average(xs):
    return add(xs) / len(xs)


def maximum(xs):
    out = np.array(xs[0], copy=True)
    for x in xs[1:]:
        np.maximum(out, x, out=out)
    return out


def minimum(xs):
    out = np.array(xs[0], copy=True)
    for x in xs[1:]:
        np.minimum(out, x, out=out)
    return out


def concatenate(xs, axis):
    return np.concatenate(xs, axis=axis)


def l2_normalize(x, axis):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), _L2_EPSILON))


def _subscripts(x_ndim, z_ndim, x_axis, z_axis):
    """einsum subscripts of a per-sample dot: x's axis `x_axis` meets z's axis `z_axis`; the output
    keeps the batch, then x's free axes, then z's."""
    letters = "bcdefghijklmnopqrstuvw"
    x_letters = ["a"] + [letters[i] for i in range(x_ndim - 1)]
    z_letters = ["a"] + [letters[x_ndim - 1 + i] for i in range(z_ndim - 1)]
    z_letters[z_axis] = x_letters[x_axis]
    out_letters = [x_letters[0]] + [c for i, c in enumerate(x_letters) if i not in (0, x_axis)] + \
        [c for i, c in enumerate(z_letters) if i not in (0, z_axis)]
    return "".join(x_letters), "".join(z_letters), "".join(out_letters)


def batch_dot(x, z, x_axis, z_axis, normalize=False):
    """Per-sample dot product of x and z over x's axis `x_axis` and z's axis `z_axis`.

    Output axes: the batch, x's other axes, then z's other axes; a product of two vectors per
    sample gives shape (batch, 1), as Keras's batch_dot does.
    """
    if normalize:
        x, z = l2_normalize(x, x_axis), l2_normalize(z, z_axis)
    x_sub, z_sub, out_sub = _subscripts(x.ndim, z.ndim, x_axis, z_axis)
    y = np.einsum(f"{x_sub},{z_sub}->{out_sub}", x, z)
    return y.reshape(y.shape + (1,)) if y.ndim == 1 else y


def add_gradients(d_out, xs):
    return [d_out for _ in xs]


def multiply_gradients(d_out, xs):
    """dx_k = dy * prod_{j != k} x_j."""
    grads = []
    for k in range(len(xs)):
        grad = np.array(d_out, copy=True)
        for j, x in enumerate(xs):
            if j != k:
                grad *= x
        grads.append(grad)
    return grads


def select_gradients(d_out, xs, pick):
    """Maximum/minimum: the gradient goes to the input that gave the output, the first on a tie
    (as Keras's pairwise max(max(x_1, x_2), x_3) gives it)."""
    chosen = pick(np.stack(xs), axis=0)
    return [np.where(chosen == k, d_out, 0).astype(d_out.dtype) for k in range(len(xs))]


def concatenate_gradients(d_out, xs, axis):
    bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
    return np.split(d_out, bounds, axis=axis)


def _l2_normalize_backward(d_normalized, x, axis):
    squares = np.sum(x * x, axis=axis, keepdims=True)
    scale = np.sqrt(np.maximum(squares, _L2_EPSILON))
    normalized = x / scale
    inside = squares > _L2_EPSILON
    projected = d_normalized - normalized * np.sum(d_normalized * normalized, axis=axis, keepdims=True)
    return np.where(inside, projected, d_normalized) / scale


def batch_dot_gradients(d_out, x, z, x_axis, z_axis, normalize=False):
    """(dx, dz) of `batch_dot` (see the top of this module)."""
    xn, zn = (l2_normalize(x, x_axis), l2_normalize(z, z_axis)) if normalize else (x, z)
    x_sub, z_sub, out_sub = _subscripts(x.ndim, z.ndim, x_axis, z_axis)
    d = d_out.reshape(d_out.shape[:-1]) if len(out_sub) == 1 else d_out
    dxn = np.einsum(f"{out_sub},{z_sub}->{x_sub}", d, zn)
    dzn = np.einsum(f"{out_sub},{x_sub}->{z_sub}", d, xn)
    if normalize:
        return [_l2_normalize_backward(dxn, x, x_axis), _l2_normalize_backward(dzn, z, z_axis)]
    return [dxn, dzn]


def running_under_masks(op, xs, masks, with_sources=False):
    """Keras 3's Maximum/Minimum under masks (see the top of this module). With `with_sources`,
    also which input each output element came from (the running value's on a tie, as the pairwise
    op's gradient picks its first argument)."""
    output, output_mask = xs[0], masks[0]
    source = np.zeros(np.shape(output), np.intp)
    for k, (x, mask) in enumerate(zip(xs[1:], masks[1:]), start=1):
        x_source = np.full(source.shape, k)
        if mask is not None:
            x, x_source = np.where(mask, x, output), np.where(mask, x_source, source)
        if output_mask is not None:
            output, source = np.where(output_mask, output, x), np.where(output_mask, source, x_source)
        output_mask = np.logical_or(output_mask, mask) if mask is not None and output_mask is not None else None
        merged = op(output, x)
        source = np.where(merged == output, source, x_source)
        output = merged
    return (output, source) if with_sources else output


def running_under_masks_gradients(d_out, op, xs, masks):
    """Each output element's gradient goes to the one input it came from."""
    _, source = running_under_masks(op, xs, masks, with_sources=True)
    return [np.where(source == k, d_out, 0).astype(d_out.dtype) for k in range(len(xs))]


def _factors_under_masks(xs, masks):
    return [x if mask is None else np.where(mask, x, 1).astype(x.dtype) for x, mask in zip(xs, masks)]


def _no_valid_input(masks):
    return None if any(mask is None for mask in masks) else ~np.logical_or.reduce(masks)


def product_under_masks(xs, masks):
    """Keras 3's Multiply under masks (see the top of this module)."""
    output = np.ones_like(xs[0])
    for factor in _factors_under_masks(xs, masks):
        output = output * factor
    none_valid = _no_valid_input(masks)
    return output if none_valid is None else np.where(none_valid, 0, output).astype(output.dtype)


def product_under_masks_gradients(d_out, xs, masks):
    """dx_k = dy * prod_{j != k} f_j where x_k counts (m_k) and some input is valid; 0 elsewhere,
    with f_j = x_j where m_j else 1."""
    factors = _factors_under_masks(xs, masks)
    none_valid = _no_valid_input(masks)
    grads = []
    for k, mask in enumerate(masks):
        grad = np.array(d_out, copy=True)
        for j, factor in enumerate(factors):
            if j != k:
                grad *= factor
        if mask is not None:
            grad = np.where(mask, grad, 0)
        if none_valid is not None:
            grad = np.where(none_valid, 0, grad)
        grads.append(grad.astype(d_out.dtype))
    return grads
