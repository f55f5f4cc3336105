"""Keras 3's operation layers that its files record: when a Keras 3 model computes a mask
(`Embedding(mask_zero=True)` feeding an RNN), the saved graph holds the operation that made it,
`NotEqual(tokens, 0)`, and passes its result to the RNN as `mask=`. rnnkit replays it.
"""

import numpy as np

from rnnkit.layers.base import Layer


class NotEqual(Layer):
    """`x != other`, elementwise (Keras 3's `keras.ops.not_equal` as a graph node).

    Called as `NotEqual()(x, other=0)`; `other` is a constant recorded with the call.
    """

    call_arguments = ("other",)
    output_dtype = "bool"

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, x, mask=None):
        return None

    def build(self, input_shape):
        super().build(input_shape)

    def _forward(self, x, mask, training, other=0):
        return np.not_equal(np.asarray(x), other), None

    def _backward(self, d_out, data, need_input_grad):
        return None, {}  # a comparison has no gradient

    def get_config(self):
        return {"name": self.name}
