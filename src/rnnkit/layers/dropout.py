"""Dropout: inverted dropout, active only in training."""

import numpy as np

from rnnkit import backend
from rnnkit.layers.base import Layer


class Dropout(Layer):
    """Zeros a fraction `rate` of the inputs in training and scales the rest by 1 / (1 - rate);
    in inference it passes the input through unchanged.

    Args:
        rate: float in [0, 1).
        noise_shape: shape of the mask, with 1 where the mask is shared (e.g. (batch, 1, features)
            drops the same features at every step); None for the input's shape.
        seed: seed of this layer's own generator (default: rnnkit's global one).
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise ValueError(f"Argument `rate` must be a float in [0, 1). Received: {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        super().__init__(**kwargs)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if not training:    # inference writes nothing of the layer's (threads may share it)
            return x, None
        if self.rate == 0:
            return x, 1.0
        shape = x.shape if self.noise_shape is None else tuple(
            n if n is not None else d for n, d in zip(self.noise_shape, x.shape))
        rng = self._generator or backend.rng()
        keep = ((rng.random(shape) >= self.rate) / (1.0 - self.rate)).astype(x.dtype)
        return x * keep, keep

    def _backward(self, d_out, keep, need_input_grad):
        return d_out * keep, {}

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                       "seed": self.seed})
        return config
