"""Masking: marks time steps whose features all equal `mask_value` as padding."""

import numpy as np

from rnnkit.layers.base import Layer


class Masking(Layer):
    """Masks a step when every feature equals `mask_value`; masked steps output zeros.

    Args:
        mask_value: the padding value (default 0.0).

    Input and output shape: (batch, timesteps, features). Emits a (batch, timesteps) mask.
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        self.mask_value = mask_value
        super().__init__(**kwargs)

    def compute_mask(self, x, mask=None):
        return np.any(np.asarray(x) != self.mask_value, axis=-1)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        return x * keep, keep

    def _backward(self, d_out, keep, need_input_grad):
        return d_out * keep, {}

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
