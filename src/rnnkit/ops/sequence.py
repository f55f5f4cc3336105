"""Layout helpers shared by the recurrences: the one transpose in, the one transpose out, masks.

Inside `ops/` a sequence is time-major (T, B, F) so that each step's slice is contiguous;
public arrays are batch-major (B, T, F). Masks come in as (B, T) booleans (True = a real step)
and go to the loop as `hold` (T, B, 1) booleans: True where the step is masked and the state
holds its previous value.
"""

import numpy as np


def to_time_major(x, go_backwards, dtype):
    """(B, T, ...) -> contiguous (T, B, ...) in processing order: the one transpose in."""
    steps = slice(None, None, -1) if go_backwards else slice(None)
    return np.ascontiguousarray(x.swapaxes(0, 1)[steps], dtype=dtype)


def to_batch_major(seq, go_backwards=False):
    """(T, B, ...) -> contiguous (B, T, ...), undoing the reversal when asked: the one transpose out."""
    steps = slice(None, None, -1) if go_backwards else slice(None)
    return np.ascontiguousarray(seq[steps].swapaxes(0, 1))


def grad_to_time_major(d_outputs, dtype):
    """A fresh time-major copy of an incoming (B, T, H) gradient, safe to overwrite in place."""
    return np.array(d_outputs.swapaxes(0, 1), dtype=dtype, order="C")


def hold_mask(mask, go_backwards):
    """(B, T) bool (True = real step) -> (T, B, 1) bool, True where the state holds; or None."""
    if mask is None:
        return None
    steps = slice(None, None, -1) if go_backwards else slice(None)
    return ~np.ascontiguousarray(np.asarray(mask, dtype=bool).T[steps])[:, :, None]


def masked_outputs(hs, hold, zero_output_for_mask):
    """The returned sequence: the carried state on masked steps, or zeros when asked."""
    if zero_output_for_mask and hold is not None:
        return np.where(hold, 0.0, hs).astype(hs.dtype, copy=False)
    return hs


def recurrent_kernel_grad(h0, hs, dz, recurrent_dropout_mask=None):
    """dU = sum_t (h_{t-1} m_h)^T dz_t over all steps, with h_{t-1} = h0 then hs[:-1].

    Two matrix products and no copy of the states; with a dropout mask the dropped states are
    formed once (they differ per sample, so the mask cannot move onto dz).
    """
    T, B, H = hs.shape
    G = dz.shape[2]
    if T == 0:
        return np.zeros((H, G), hs.dtype)
    if recurrent_dropout_mask is not None:
        h_prev = np.concatenate([h0[None], hs[:-1]], axis=0) * recurrent_dropout_mask
        return np.dot(h_prev.reshape(T * B, H).T, dz.reshape(T * B, G))
    grad = np.dot(h0.T, dz[0])
    if T > 1:
        grad += np.dot(hs[:-1].reshape((T - 1) * B, H).T, dz[1:].reshape((T - 1) * B, G))
    return grad


def sigmoid_prescale(units, sigmoid_gates, other_gates, dtype):
    """Column scales that let ONE tanh call activate every gate of a step.

    sigmoid(z) = 0.5 tanh(z / 2) + 0.5, so projecting the sigmoid gates with weights halved gives
    z / 2 directly; after tanh over all columns, the sigmoid gates need only `* 0.5 + 0.5`.
    """
    return np.concatenate([np.full(units * sigmoid_gates, 0.5, dtype), np.ones(units * other_gates, dtype)])
