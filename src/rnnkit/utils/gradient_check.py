"""Central finite differences in float64, to check hand-derived gradients.

    dL/dp_i ~ (L(p + e_i eps) - L(p - e_i eps)) / (2 eps)

The error reported for an array is ||analytic - numeric|| / max(||analytic||, ||numeric||): a
relative error of the whole gradient, which is meaningful even where single entries are ~0.
"""

import numpy as np


def numerical_gradient(f, param, eps=1e-6, indices=None):
    """Central differences of scalar `f()` with respect to the entries `indices` (flat) of `param`.

    `param` must be a float64 array that `f` reads; it is perturbed in place and restored.
    """
    if param.dtype != np.float64:
        raise TypeError(f"Argument `param` must be float64 for a meaningful check. Received: {param.dtype}")
    flat = param.reshape(-1)
    if not np.shares_memory(flat, param):
        raise ValueError("Argument `param` must be contiguous: it is perturbed in place. "
                         "Received: a non-contiguous array")
    indices = np.arange(flat.size) if indices is None else np.asarray(indices)
    numeric = np.empty(len(indices))
    for j, i in enumerate(indices):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        numeric[j] = (up - down) / (2 * eps)
    return numeric


def gradient_check_error(f, params, grads, eps=1e-6, samples=None, seed=0):
    """The worst relative error over `params` of `grads` against central differences of `f()`.

    Args:
        f: a function of no arguments returning the scalar loss, reading `params`.
        params: float64 arrays (perturbed in place and restored).
        grads: the analytic gradients, same shapes.
        samples: check at most this many random entries per array (all when None).
    """
    rng = np.random.default_rng(seed)
    worst = 0.0
    for param, grad in zip(params, grads):
        if np.shape(grad) != param.shape:
            raise ValueError(f"Gradient shape {np.shape(grad)} does not match parameter shape {param.shape}. "
                             f"Received: mismatched shapes")
        size = param.size
        indices = None if samples is None or size <= samples else rng.choice(size, samples, replace=False)
        numeric = numerical_gradient(f, param, eps, indices)
        analytic = np.asarray(grad, dtype=np.float64).reshape(-1)
        if indices is not None:
            analytic = analytic[indices]
        scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
        if scale > 0:
            worst = max(worst, float(np.linalg.norm(analytic - numeric) / scale))
    return worst
