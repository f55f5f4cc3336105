"""Dense: an affine map of the last axis, then an activation.

    z = x W + b          x: (..., D), W: (D, U), b: (U,)
    y = act(z)

    dz = act'(y) * dy    (from y = act(z); act'(z) for swish, gelu, mish: z is kept)
    dW = x^T dz          (over all leading axes: ONE matrix product)
    db = sum dz          (from z = ... + b)
    dx = dz W^T          (from z = x W)
"""

import numpy as np

from rnnkit.ops import activations


def dense_forward(x, kernel, bias, activation="linear"):
    """Returns y = act(x @ kernel + bias) for x of any rank >= 2."""
    z = np.dot(x.reshape(-1, x.shape[-1]), kernel)
    if bias is not None:
        z += bias
    y = activations.apply(activation, z)
    return y.reshape(x.shape[:-1] + (kernel.shape[1],))


def dense_forward_for_training(x, kernel, bias, activation="linear"):
    """(y, z or None): z (a copy) where the activation's derivative needs it."""
    if not activations.needs_input(activation):
        return dense_forward(x, kernel, bias, activation), None
    z = dense_forward(x, kernel, bias, "linear")
    return activations.apply(activation, z.copy()), z


def dense_backward(dy, x, y, kernel, use_bias=True, activation="linear", need_dx=True, z=None):
    """Returns (dx or None, {"kernel": dW, "bias": db}) for the forward above."""
    units = kernel.shape[1]
    dz = activations.backward(activation, y.reshape(-1, units), dy.reshape(-1, units),
                              None if z is None else z.reshape(-1, units))
    x2 = x.reshape(-1, x.shape[-1])
    grads = {"kernel": np.dot(x2.T, dz)}
    if use_bias:
        grads["bias"] = dz.sum(axis=0)
    if not need_dx:
        return None, grads
    return np.dot(dz, kernel.T).reshape(x.shape), grads
