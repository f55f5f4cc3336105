"""BatchNormalization and LayerNormalization (math in ops/normalization.py)."""

import numpy as np

from rnnkit import initializers
from rnnkit.layers.base import Layer, check_unsupported, own_weight_groups
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import normalization as norm_ops


def _check_float(value, argument, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"Argument `{argument}` must be a number. Received: {value!r}")
    value = float(value)
    if (low is not None and value < low) or (high is not None and value > high) or not np.isfinite(value):
        raise ValueError(f"Argument `{argument}` must lie in [{low}, {high}]. Received: {value!r}")
    return value


def _axes(axis, rank, layer, argument="axis"):
    """`axis` (an int or a list of ints, negative allowed, never the batch axis) as sorted positive ints."""
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in items):
        raise TypeError(f"Argument `{argument}` of layer \"{layer.name}\" must be an int or a list of ints. "
                        f"Received: {axis!r}")
    result = sorted({int(a) + rank if a < 0 else int(a) for a in items})
    if result[0] < 1 or result[-1] >= rank:
        raise ValueError(f"Argument `{argument}` of layer \"{layer.name}\" must name axes 1 to {rank - 1} of an input "
                         f"of rank {rank}. Received: {argument}={axis!r}")
    return result


class BatchNormalization(WeightPenalties, Layer):
    """Normalizes each feature with the batch's statistics in training and the moving ones in
    inference: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Args:
        axis: the feature axis (default -1); statistics run over every other axis.
        momentum: training updates moving = momentum * moving + (1 - momentum) * batch statistic
            (the biased variance, as Keras for inputs of rank 2 and 3).
        epsilon: added to the variance.
        center, scale: whether beta and gamma exist.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer.

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (non-trainable:
    they change only in the forward pass of training). A frozen layer (`trainable=False`) runs in
    inference mode even in training, as Keras 2 does. The mask is passed on; the batch statistics
    take every step, masked or not (Keras 3 weights them by the mask; no fixture pins which rule
    tf_keras 2.21 follows with a mask, so this is the unmasked one).
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=None, virtual_batch_size=None,
                 adjustment=None, synchronized=False, **kwargs):
        self.axis = axis
        self.momentum = _check_float(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _check_float(epsilon, "epsilon", 0.0)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = initializers.get(moving_mean_initializer, "moving_mean_initializer")
        self.moving_variance_initializer = initializers.get(moving_variance_initializer, "moving_variance_initializer")
        self._set_penalties({"beta": beta_regularizer, "gamma": gamma_regularizer},
                            {"beta": beta_constraint, "gamma": gamma_constraint})
        check_unsupported(renorm_clipping=renorm_clipping, virtual_batch_size=virtual_batch_size,
                          adjustment=adjustment)
        if renorm:
            raise ValueError("Argument `renorm=True` (batch renormalization) is not supported. Received: renorm=True")
        if synchronized:
            raise ValueError("Argument `synchronized=True` is not supported. Received: synchronized=True")
        self.renorm_momentum = renorm_momentum
        self.fused = fused
        self._feature_axis = None
        super().__init__(**kwargs)
        _axes(axis, 8, self)        # validates the form before building

    def compute_output_shape(self, input_shape):
        axes = _axes(self.axis, len(input_shape), self)
        if len(axes) != 1:
            raise ValueError(f"Layer \"{self.name}\" normalizes one feature axis. Received: axis={self.axis!r}")
        if input_shape[axes[0]] is None:
            raise ValueError(f"Layer \"{self.name}\": axis {axes[0]} of the input must have a known size. "
                             f"Received: input_shape={tuple(input_shape)}")
        return tuple(input_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self._feature_axis = _axes(self.axis, len(input_shape), self)[0]
        size = (input_shape[self._feature_axis],)
        if self.scale:
            self.add_weight("gamma", size, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", size, self.beta_initializer)
        self.add_weight("moving_mean", size, self.moving_mean_initializer)
        self.add_weight("moving_variance", size, self.moving_variance_initializer)
        super().build(input_shape)

    @property
    def trainable_weights(self):
        return [self.weights[k] for k in ("gamma", "beta") if k in self.weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        frozen = [] if self.trainable else [self.weights[k] for k in ("gamma", "beta") if k in self.weights]
        return frozen + [self.weights["moving_mean"], self.weights["moving_variance"]]

    def _shaped(self, ndim, key):
        value = self.weights.get(key)
        if value is None:
            return None
        shape = [1] * ndim
        shape[self._feature_axis] = value.size
        return value.reshape(shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        ndim = x.ndim
        axes = tuple(a for a in range(ndim) if a != self._feature_axis)
        gamma, beta = self._shaped(ndim, "gamma"), self._shaped(ndim, "beta")
        if training and self.trainable:
            y, cache, mean, variance = norm_ops.normalize_forward(x, gamma, beta, axes, self.epsilon, training=True)
            m = self.momentum
            for key, batch in (("moving_mean", mean), ("moving_variance", variance)):
                moving = self.weights[key]
                moving *= m
                moving += (1.0 - m) * batch.reshape(-1).astype(moving.dtype)
        else:
            y, cache, _, _ = norm_ops.normalize_forward(x, gamma, beta, axes, self.epsilon,
                                                        self._shaped(ndim, "moving_mean"),
                                                        self._shaped(ndim, "moving_variance"), training)
        return y, (None if cache is None else (cache, ndim))

    def _backward(self, d_out, data, need_input_grad):
        cache, ndim = data
        axes = tuple(a for a in range(ndim) if a != self._feature_axis)
        dx, dgamma, dbeta = norm_ops.normalize_backward(d_out, cache, self._shaped(ndim, "gamma"), axes, axes)
        grads = {}
        if self.scale:
            grads["gamma"] = dgamma
        if self.center:
            grads["beta"] = dbeta
        # The moving statistics are no function of the loss: zero, so that an optimizer that
        # walks every weight of the layer leaves them where the forward pass put them.
        grads["moving_mean"] = np.zeros_like(self.weights["moving_mean"])
        grads["moving_variance"] = np.zeros_like(self.weights["moving_variance"])
        return (dx if need_input_grad else None), grads

    def get_config(self):
        config = super().get_config()
        axis = self.axis
        if self._feature_axis is not None:
            axis = [self._feature_axis]
        config.update({
            "axis": axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            **{k: v for k, v in self._penalty_config().items() if k != "activity_regularizer"},
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return own_weight_groups(_gamma_and_beta(config) + ["moving_mean", "moving_variance"])


class LayerNormalization(WeightPenalties, Layer):
    """Normalizes each sample over `axis` (default the last): `gamma * (x - mean) / sqrt(var +
    epsilon) + beta`, the same in training and inference.

    Args:
        axis: an int or a list of ints (never the batch axis).
        epsilon: added to the variance.
        center, scale: whether beta and gamma exist (shaped like the normalized axes).
        rms_scaling: Keras 3's option; only False is supported.

    Input and output shape: the same. The mask is passed on.
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        self.axis = axis
        self.epsilon = _check_float(epsilon, "epsilon", 0.0)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self._set_penalties({"beta": beta_regularizer, "gamma": gamma_regularizer},
                            {"beta": beta_constraint, "gamma": gamma_constraint})
        if rms_scaling:
            raise ValueError("Argument `rms_scaling=True` is not supported. Received: rms_scaling=True")
        self._norm_axes = None
        super().__init__(**kwargs)
        _axes(axis, 8, self)

    def compute_output_shape(self, input_shape):
        axes = _axes(self.axis, len(input_shape), self)
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"Layer \"{self.name}\": the normalized axes {axes} must have known sizes. "
                             f"Received: input_shape={tuple(input_shape)}")
        return tuple(input_shape)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self._norm_axes = _axes(self.axis, len(input_shape), self)
        size = tuple(input_shape[a] for a in self._norm_axes)
        if self.scale:
            self.add_weight("gamma", size, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", size, self.beta_initializer)
        super().build(input_shape)

    def _shaped(self, ndim, key):
        value = self.weights.get(key)
        if value is None:
            return None
        shape = [1] * ndim
        for a, n in zip(self._norm_axes, value.shape):
            shape[a] = n
        return value.reshape(shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        axes = tuple(self._norm_axes)
        y, cache, _, _ = norm_ops.normalize_forward(x, self._shaped(x.ndim, "gamma"), self._shaped(x.ndim, "beta"),
                                                    axes, self.epsilon, training=training)
        return y, (None if cache is None else (cache, x.ndim))

    def _backward(self, d_out, data, need_input_grad):
        cache, ndim = data
        axes = tuple(self._norm_axes)
        others = tuple(a for a in range(ndim) if a not in axes)
        dx, dgamma, dbeta = norm_ops.normalize_backward(d_out, cache, self._shaped(ndim, "gamma"), axes, others)
        grads = {}
        if self.scale:
            grads["gamma"] = dgamma.reshape(self.weights["gamma"].shape)
        if self.center:
            grads["beta"] = dbeta.reshape(self.weights["beta"].shape)
        return (dx if need_input_grad else None), grads

    def get_config(self):
        config = super().get_config()
        axis = self._norm_axes if self._norm_axes is not None else (
            list(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis])
        config.update({
            "axis": list(axis), "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            **{k: v for k, v in self._penalty_config().items() if k != "activity_regularizer"},
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return own_weight_groups(_gamma_and_beta(config))


def _gamma_and_beta(config):
    """The scale and offset weights a normalization of `config` has, in Keras's order."""
    return (["gamma"] if config.get("scale", True) else []) + (["beta"] if config.get("center", True) else [])
