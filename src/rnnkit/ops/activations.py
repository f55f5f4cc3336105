"""Activations and their derivatives, written from the output y = f(z).

    tanh:     y = tanh(z)                    dy/dz = 1 - y^2
    sigmoid:  y = 1 / (1 + exp(-z))          dy/dz = y (1 - y)
    relu:     y = max(z, 0)                  dy/dz = [y > 0]
    linear:   y = z                          dy/dz = 1
    elu:      y = z if z > 0 else exp(z) - 1 dy/dz = 1 if y > 0 else y + 1
    softplus: y = log(1 + exp(z))            dy/dz = 1 - exp(-y)
    hard_sigmoid:    y = clip(0.2 z + 0.5, 0, 1)      dy/dz = 0.2 if 0 < y < 1 else 0   (Keras 2)
    hard_sigmoid_v3: y = relu6(z + 3) / 6            dy/dz = 1/6 if 0 < y < 1 else 0   (Keras 3)
                     = clip(z / 6 + 0.5, 0, 1)
    softmax:  y_i = exp(z_i) / sum_j exp(z_j)
              dz = y * (dy - sum(dy * y))    (not elementwise: needs dy)

The two hard sigmoids are Keras 2's and Keras 3's meaning of the name "hard_sigmoid" (Keras 3
redefined it); rnnkit speaks Keras 2's dialect, so "hard_sigmoid" is Keras 2's, and a Keras 3 file's
"hard_sigmoid" is read as "hard_sigmoid_v3" (see `saving.keras_config`). At the kinks (y = 0 or 1)
the derivative taken is 0, as TensorFlow's clip gives.

Every derivative is a function of the output alone, so the forward pass keeps only y (it
overwrites z in place) and the backward pass needs nothing else.
"""

import numpy as np


def _tanh(z):
    return np.tanh(z, out=z)


def _sigmoid(z):
    # 1 / (1 + exp(-z)) in place, without overflow warnings for large |z|.
    np.negative(z, out=z)
    np.clip(z, -88.0, 88.0, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def _relu(z):
    return np.maximum(z, 0.0, out=z)


def _linear(z):
    return z


def _elu(z):
    negative = z < 0
    z[negative] = np.expm1(z[negative])
    return z


def _softplus(z):
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), stable for both signs.
    positive_part = np.maximum(z, 0.0)
    np.abs(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.log1p(z, out=z)
    z += positive_part
    return z


def _hard_sigmoid_with_slope(slope):
    def hard_sigmoid(z):
        z *= slope
        z += 0.5
        return np.clip(z, 0.0, 1.0, out=z)
    return hard_sigmoid


def _inside_unit_interval(y, slope):
    return np.where((y > 0) & (y < 1), slope, 0.0).astype(y.dtype)


def _softmax(z):
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


FORWARD = {
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "linear": _linear,
    "elu": _elu,
    "softplus": _softplus,
    "softmax": _softmax,
    "hard_sigmoid": _hard_sigmoid_with_slope(0.2),
    "hard_sigmoid_v3": _hard_sigmoid_with_slope(1.0 / 6.0),
}

# dy/dz as a function of y, for the elementwise activations.
DERIVATIVE_FROM_OUTPUT = {
    "tanh": lambda y: 1.0 - y * y,
    "sigmoid": lambda y: y * (1.0 - y),
    "relu": lambda y: (y > 0).astype(y.dtype),
    "linear": lambda y: np.ones_like(y),
    "elu": lambda y: np.where(y > 0, 1.0, y + 1.0).astype(y.dtype),
    "softplus": lambda y: -np.expm1(-y),
    "hard_sigmoid": lambda y: _inside_unit_interval(y, 0.2),
    "hard_sigmoid_v3": lambda y: _inside_unit_interval(y, 1.0 / 6.0),
}


def apply(activation, z):
    """Applies `activation` (a name of FORWARD or a callable) to z, in place where it can."""
    if callable(activation):
        return np.asarray(activation(z), dtype=z.dtype)
    return FORWARD[activation](z)


def apply_to_columns(activation, block, out=None):
    """Applies `activation` to a feature-major (F, B) block, features along axis 0 (softmax
    normalises each column), writing into `out` (default: in place)."""
    out = block if out is None else out
    if activation == "tanh":
        return np.tanh(block, out=out)
    out[...] = apply(activation, np.array(block.T)).T
    return out


def derivative_into(activation, y, out, scratch=None):
    """out = dy/dz as a function of y, without temporaries for tanh and sigmoid. `out` may be
    `y` itself (then sigmoid needs a `scratch` array of y's shape)."""
    if activation == "tanh":
        np.multiply(y, y, out=out)
        np.subtract(1.0, out, out=out)
    elif activation == "sigmoid":
        if out is y:
            out *= np.subtract(1.0, y, out=scratch)
        else:
            np.subtract(1.0, y, out=out)
            out *= y
    else:
        out[...] = DERIVATIVE_FROM_OUTPUT[activation](y)
    return out


def backward_from_output(activation, y, dy):
    """dL/dz from dL/dy and y = activation(z)."""
    if activation == "softmax":
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
    return dy * DERIVATIVE_FROM_OUTPUT[activation](y)


def has_gradient(activation):
    return activation == "softmax" or activation in DERIVATIVE_FROM_OUTPUT
