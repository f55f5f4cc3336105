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
    log_softmax: y_i = z_i - log sum_j exp(z_j)
              dz = dy - exp(y) sum(dy)       (not elementwise: needs dy)
    selu:     y = S z if z > 0 else S A (exp(z) - 1)     dy/dz = S if y > 0 else y + S A
              (S = 1.0507009873554805, A = 1.6732632423543772)
    exponential: y = exp(z)                  dy/dz = y
    softsign: y = z / (1 + |z|)              dy/dz = 1 / (1 + |z|)^2 = (1 - |y|)^2
    relu6:    y = min(max(z, 0), 6)          dy/dz = [0 < y < 6]
    leaky_relu: y = z if z > 0 else 0.2 z    dy/dz = 1 if y > 0 else 0.2   (Keras 3's slope)

Four activations are not monotonic, so y does not determine z: their derivative is written from
the input z, which a caller that trains keeps (`needs_input`):
    swish = silu: y = z s(z), s = sigmoid   dy/dz = s + z s (1 - s)
    gelu:     y = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2      (exact: Keras's default)
              dy/dz = Phi(z) + z phi(z),  phi(z) = exp(-z^2 / 2) / sqrt(2 pi)
    gelu_approximate: y = z (1 + t) / 2,  t = tanh(c (z + 0.044715 z^3)),  c = sqrt(2 / pi)
              dy/dz = (1 + t) / 2 + z (1 - t^2) c (1 + 3 * 0.044715 z^2) / 2
    mish:     y = z tanh(softplus(z))        dy/dz = tanh(sp) + z (1 - tanh(sp)^2) s(z)

The two hard sigmoids are Keras 2's and Keras 3's meaning of the name "hard_sigmoid" (Keras 3
redefined it); rnnkit speaks Keras 2's dialect, so "hard_sigmoid" is Keras 2's, and a Keras 3 file's
"hard_sigmoid" is read as "hard_sigmoid_v3" (see `saving.keras_config`). At the kinks (y = 0 or 1)
the derivative taken is 0, as TensorFlow's clip gives.

Every derivative is a function of the output alone, so the forward pass keeps only y (it
overwrites z in place) and the backward pass needs nothing else.
"""

import math

import numpy as np

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_erf = np.frompyfunc(math.erf, 1, 1)    # NumPy has no erf; math.erf is exact to double precision


def erf(z):
    return _erf(z).astype(np.asarray(z).dtype if np.asarray(z).dtype.kind == "f" else np.float64)


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


def _log_softmax(z):
    z -= z.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z


def _selu(z):
    negative = z <= 0
    z[negative] = SELU_ALPHA * np.expm1(z[negative])
    z *= SELU_SCALE
    return z


def _exponential(z):
    return np.exp(z, out=z)


def _softsign(z):
    z /= 1.0 + np.abs(z)
    return z


def _relu6(z):
    return np.clip(z, 0.0, 6.0, out=z)


def _leaky_relu(z):
    z[z < 0] *= 0.2
    return z


def _stable_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _softplus_of(z):
    return np.logaddexp(0.0, z)


def _swish_value(z):
    return z * _stable_sigmoid(z)


def _gelu_value(z):
    return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_approximate_value(z):
    return 0.5 * z * (1.0 + np.tanh(_GELU_C * (z + 0.044715 * z ** 3)))


def _mish_value(z):
    return z * np.tanh(_softplus_of(z))


def _in_place(value):
    def activation(z):
        z[...] = value(z)
        return z
    return activation


def _swish_derivative(z):
    s = _stable_sigmoid(z)
    return s + z * s * (1.0 - s)


def _gelu_derivative(z):
    return 0.5 * (1.0 + erf(z / math.sqrt(2.0))) + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _gelu_approximate_derivative(z):
    t = np.tanh(_GELU_C * (z + 0.044715 * z ** 3))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * z * z)


def _mish_derivative(z):
    t = np.tanh(_softplus_of(z))
    return t + z * (1.0 - t * t) * _stable_sigmoid(z)


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
    "log_softmax": _log_softmax,
    "selu": _selu,
    "exponential": _exponential,
    "softsign": _softsign,
    "relu6": _relu6,
    "leaky_relu": _leaky_relu,
    "swish": _in_place(_swish_value),
    "silu": _in_place(_swish_value),
    "gelu": _in_place(_gelu_value),
    "gelu_approximate": _in_place(_gelu_approximate_value),
    "mish": _in_place(_mish_value),
}

# dy/dz as a function of z, for the activations whose output does not determine their input.
DERIVATIVE_FROM_INPUT = {
    "swish": _swish_derivative,
    "silu": _swish_derivative,
    "gelu": _gelu_derivative,
    "gelu_approximate": _gelu_approximate_derivative,
    "mish": _mish_derivative,
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
    "selu": lambda y: np.where(y > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA).astype(y.dtype),
    "exponential": lambda y: y.copy(),
    "softsign": lambda y: (1.0 - np.abs(y)) ** 2,
    "relu6": lambda y: ((y > 0) & (y < 6)).astype(y.dtype),
    "leaky_relu": lambda y: np.where(y > 0, 1.0, 0.2).astype(y.dtype),
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
    if activation == "log_softmax":
        return dy - np.exp(y) * np.sum(dy, axis=-1, keepdims=True)
    return dy * DERIVATIVE_FROM_OUTPUT[activation](y)


_NOT_ELEMENTWISE = {"softmax", "log_softmax"}


def needs_input(activation):
    """Whether the backward of `activation` needs its input z (not only its output)."""
    return isinstance(activation, str) and activation in DERIVATIVE_FROM_INPUT


def forward_for_training(activation, z):
    """(y, what `backward` needs): z is overwritten by y where the derivative reads y alone,
    and kept (a copy) where it reads z."""
    kept = z.copy() if needs_input(activation) else None
    return apply(activation, z), kept


def backward(activation, y, dy, z=None):
    """dL/dz from dL/dy, y = activation(z), and z where `needs_input(activation)`."""
    if needs_input(activation):
        return dy * DERIVATIVE_FROM_INPUT[activation](z)
    if not has_gradient(activation):
        raise ValueError(f"Activation {getattr(activation, '__name__', activation)!r} has no derivative in rnnkit, "
                         f"so a layer using it cannot be trained. Use one of "
                         f"{sorted(set(DERIVATIVE_FROM_OUTPUT) | set(DERIVATIVE_FROM_INPUT) | _NOT_ELEMENTWISE)}. "
                         f"Received: activation={activation!r}")
    return backward_from_output(activation, y, dy)


def has_gradient(activation):
    return activation in ("softmax", "log_softmax") or activation in DERIVATIVE_FROM_OUTPUT


def check_gradients_known(activation, recurrent_activation):
    """Raises ValueError unless both activations of a recurrent cell have an elementwise
    derivative from their output (what the fused backward loops use)."""
    for name, value in (("activation", activation), ("recurrent_activation", recurrent_activation)):
        if value not in DERIVATIVE_FROM_OUTPUT:
            raise ValueError(
                f"Argument `{name}` has no elementwise hand-derived gradient, so this layer cannot be "
                f"trained. Use one of {sorted(DERIVATIVE_FROM_OUTPUT)}. Received: {value!r}")
