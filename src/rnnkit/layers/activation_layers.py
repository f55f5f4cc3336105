"""Activation layers: Activation, LeakyReLU, ReLU, ELU, PReLU, Softmax. Elementwise, mask passed on.

    LeakyReLU: y = x if x > 0 else a x                      dx = dy (1 if x > 0 else a)
    ReLU:      y = min(x, max_value) if x >= t else s (x - t)
                                                            dx = dy (1 if t <= x < max_value, s if x < t, else 0)
    ELU:       y = x if x > 0 else a (exp(x) - 1)           dx = dy (1 if x > 0 else y + a)
    PReLU:     y = max(x, 0) + alpha min(x, 0)              dx = dy (1 if x > 0 else alpha)
                                                            dalpha = sum_shared dy min(x, 0)
    Softmax:   y = exp(x) / sum_axis exp(x)                 dx = y (dy - sum_axis dy y)
"""

import numpy as np

from rnnkit import activations, initializers
from rnnkit.layers.base import Layer, own_weight_groups
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import activations as act_ops


def _number(value, argument, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{argument}` must be a number. Received: {value!r}")
    if minimum is not None and value < minimum or not np.isfinite(value):
        raise ValueError(f"Argument `{argument}` must be a finite number >= {minimum}. Received: {value!r}")
    return float(value)


class Activation(Layer):
    """Applies an activation function (a name such as "softmax", "gelu", or a callable)."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        self.activation = activations.get(activation)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        z = np.array(x)     # the activation works in place
        if not training:
            return act_ops.apply(self.activation, z), None
        y, kept = act_ops.forward_for_training(self.activation, z)
        return y, (y, kept)

    def _backward(self, d_out, data, need_input_grad):
        y, kept = data
        return act_ops.backward(self.activation, y, d_out, kept), {}

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class LeakyReLU(Layer):
    """`x if x > 0 else alpha * x`. Keras 2 calls the slope `alpha` (default 0.3), Keras 3
    `negative_slope` (same default); both are accepted."""

    supports_masking = True

    def __init__(self, alpha=None, negative_slope=None, **kwargs):
        if alpha is not None and negative_slope is not None:
            raise ValueError(f"Give `alpha` or `negative_slope`, not both. Received: alpha={alpha!r}, "
                             f"negative_slope={negative_slope!r}")
        slope = 0.3 if alpha is None and negative_slope is None else (alpha if alpha is not None else negative_slope)
        self.alpha = _number(slope, "alpha" if alpha is not None else "negative_slope", 0.0)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        positive = x > 0
        return np.where(positive, x, self.alpha * x).astype(x.dtype), positive

    def _backward(self, d_out, positive, need_input_grad):
        return np.where(positive, d_out, self.alpha * d_out), {}

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ReLU(Layer):
    """Rectified linear unit with options: `min(x, max_value)` for x >= threshold, else
    `negative_slope * (x - threshold)`."""

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        self.max_value = None if max_value is None else _number(max_value, "max_value", 0.0)
        self.negative_slope = _number(negative_slope, "negative_slope", 0.0)
        self.threshold = _number(threshold, "threshold")
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        below = x < self.threshold
        y = np.where(below, self.negative_slope * (x - self.threshold), x)
        slope = np.where(below, self.negative_slope, 1.0)
        if self.max_value is not None:
            capped = ~below & (x >= self.max_value)
            y = np.where(capped, self.max_value, y)
            slope = np.where(capped, 0.0, slope)
        return y.astype(x.dtype), (slope.astype(x.dtype) if training else None)

    def _backward(self, d_out, slope, need_input_grad):
        return d_out * slope, {}

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class ELU(Layer):
    """`x if x > 0 else alpha * (exp(x) - 1)`."""

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        self.alpha = _number(alpha, "alpha")
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        positive = x > 0
        y = np.where(positive, x, self.alpha * np.expm1(np.minimum(x, 0.0))).astype(x.dtype)
        return y, ((positive, y) if training else None)

    def _backward(self, d_out, data, need_input_grad):
        positive, y = data
        return d_out * np.where(positive, 1.0, y + self.alpha), {}

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(WeightPenalties, Layer):
    """`max(x, 0) + alpha * min(x, 0)` with a learned `alpha` per input cell (shaped like one
    sample; `shared_axes` (counted from 1) share it along those axes)."""

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        self.alpha_initializer = initializers.get(alpha_initializer, "alpha_initializer")
        self._set_penalties({"alpha": alpha_regularizer}, {"alpha": alpha_constraint})
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1 for a in axes):
                raise ValueError(f"Argument `shared_axes` must hold axes >= 1. Received: {shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]
        super().__init__(**kwargs)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a >= len(input_shape):
                raise ValueError(f"Argument `shared_axes` of layer \"{self.name}\" names axis {a} of an input of "
                                 f"rank {len(input_shape)}. Received: shared_axes={self.shared_axes}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"Layer \"{self.name}\" needs known sizes on the axes it does not share. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.add_weight("alpha", tuple(shape), self.alpha_initializer)
        super().build(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        negative = np.minimum(x, 0.0)
        y = np.maximum(x, 0.0) + self.weights["alpha"] * negative
        return y, ((x > 0, negative) if training else None)

    def _backward(self, d_out, data, need_input_grad):
        positive, negative = data
        alpha = self.weights["alpha"]
        d_alpha = (d_out * negative).sum(axis=0)
        shared = tuple(i for i, n in enumerate(alpha.shape) if n == 1 and d_alpha.shape[i] != 1)
        d_alpha = d_alpha.sum(axis=shared, keepdims=True) if shared else d_alpha
        dx = np.where(positive, d_out, d_out * alpha) if need_input_grad else None
        return dx, {"alpha": d_alpha.reshape(alpha.shape)}

    def get_config(self):
        config = super().get_config()
        config.update({"alpha_initializer": initializers.serialize(self.alpha_initializer),
                       "alpha_regularizer": self._penalty_config()["alpha_regularizer"],
                       "alpha_constraint": self._penalty_config()["alpha_constraint"], "shared_axes": self.shared_axes})
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return own_weight_groups(["alpha"])


class Softmax(Layer):
    """Softmax along `axis` (default -1)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Argument `axis` must be an int. Received: {axis!r}")
        self.axis = int(axis)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if not -x.ndim <= self.axis < x.ndim or self.axis % x.ndim == 0:
            raise ValueError(f"Argument `axis` of layer \"{self.name}\" must name a non-batch axis of an input of "
                             f"rank {x.ndim}. Received: axis={self.axis}")
        z = x - x.max(axis=self.axis, keepdims=True)
        y = np.exp(z)
        y /= y.sum(axis=self.axis, keepdims=True)
        return y, y

    def _backward(self, d_out, y, need_input_grad):
        return y * (d_out - np.sum(d_out * y, axis=self.axis, keepdims=True)), {}

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
