"""Regularization layers active only in training: SpatialDropout1D, GaussianNoise, GaussianDropout.
In inference each is the identity.

    SpatialDropout1D: y = x keep / (1 - rate), keep (B, 1, C): whole feature maps dropped     dx = dy keep / (1 - rate)
    GaussianNoise:    y = x + n,   n ~ N(0, stddev^2)                                           dx = dy
    GaussianDropout:  y = x e,     e ~ N(1, rate / (1 - rate))                                  dx = dy e
"""

import numpy as np

from rnnkit import backend
from rnnkit.layers.base import Layer
from rnnkit.layers.dropout import Dropout


class SpatialDropout1D(Dropout):
    """Dropout of whole features: in training a feature is zeroed at every step of a sample at once
    (rate `rate`), the rest scaled by 1 / (1 - rate). Input: (batch, steps, features)."""

    def __init__(self, rate, seed=None, **kwargs):
        kwargs.pop("noise_shape", None)      # Keras 2 writes noise_shape: null; the shape is fixed
        super().__init__(rate, seed=seed, **kwargs)
        self.noise_shape = (None, 1, None)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, features). "
                             f"Received: input_shape={tuple(input_shape)}")
        return tuple(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if x.ndim != 3:
            self.compute_output_shape(x.shape)
        return super()._forward(x, mask, training)

    def get_config(self):
        config = super().get_config()
        config["noise_shape"] = None
        return config


def _rate(value, argument):
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value)
            or value < 0):
        raise ValueError(f"Argument `{argument}` must be a non-negative number. Received: {value!r}")
    return float(value)


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise in training; the identity in inference."""

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        self.stddev = _rate(stddev, "stddev")
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if not training:
            return x, None
        rng = self._generator or backend.rng()
        return x + (rng.standard_normal(x.shape) * self.stddev).astype(x.dtype), None

    def _backward(self, d_out, data, need_input_grad):
        return d_out, {}

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(Layer):
    """Multiplies by N(1, rate / (1 - rate)) noise in training; the identity in inference."""

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        self.rate = _rate(rate, "rate")
        if self.rate >= 1:
            raise ValueError(f"Argument `rate` must be in [0, 1). Received: {rate!r}")
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if not training:
            return x, None
        if self.rate == 0:
            return x, np.ones_like(x)
        rng = self._generator or backend.rng()
        noise = (1.0 + rng.standard_normal(x.shape) * np.sqrt(self.rate / (1.0 - self.rate))).astype(x.dtype)
        return x * noise, noise

    def _backward(self, d_out, noise, need_input_grad):
        return d_out * noise, {}

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
