"""Embedding: token ids -> dense vectors, with the padding mask Keras makes from id 0."""

import numpy as np

from rnnkit import initializers
from rnnkit.layers.base import Layer, check_positive_int, own_weight_groups
from rnnkit.layers.regularization import WeightPenalties


class Embedding(WeightPenalties, Layer):
    """Turns non-negative integer ids into vectors: `embeddings[ids]`.

    Args:
        input_dim: vocabulary size; ids must lie in [0, input_dim).
        output_dim: size of each vector.
        embeddings_initializer: default `uniform` (U(-0.05, 0.05)).
        mask_zero: id 0 is padding: the layer emits a mask (ids != 0) that recurrent layers honour.
        input_length: fixed sequence length, if any.

    Input shape: (batch, length) integers. Output shape: (batch, length, output_dim).
    The gradient scatters into the rows that were looked up (repeated ids add up).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 sparse=False, **kwargs):
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer, "embeddings_initializer")
        self._set_penalties({"embeddings": embeddings_regularizer}, {"embeddings": embeddings_constraint},
                            activity_regularizer)
        if sparse:
            raise ValueError("Argument `sparse=True` is not supported. Received: sparse=True")
        self.mask_zero = bool(mask_zero)
        if input_length is not None:
            input_length = check_positive_int(input_length, "input_length")
        self.input_length = input_length
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # Keras 2: an Embedding always knows its input rank, so a model starting with it is built.
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)

    def _shape_from_input_dim(self, input_dim, input_length):
        return (input_length,)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, x, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(x) != 0   # float ids compare the same way

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)
        super().build(input_shape)

    def _cast_input(self, x, argument="x"):
        if x.dtype.kind == "f" and x.size and np.all(np.isfinite(x)) and np.array_equal(x, np.round(x)):
            # Keras casts float ids (a float32 InputLayer before the Embedding) to int32; whole
            # numbers only: 1.5 or NaN is no id, and stays an error.
            low, high = float(x.min()), float(x.max())
            if low < 0 or high >= self.input_dim:
                raise ValueError(
                    f"Argument `{argument}` of layer \"{self.name}\" must hold ids in [0, {self.input_dim}) "
                    f"(input_dim={self.input_dim}). Received: ids from {low:g} to {high:g}")
            x = x.astype(np.int64)
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(
                f"Argument `{argument}` of layer \"{self.name}\" must hold integer token ids. Received: an array of dtype {x.dtype} "
                "(convert with x.astype('int32') if the values are ids)")
        if x.size:
            low, high = int(x.min()), int(x.max())
            if low < 0 or high >= self.input_dim:
                raise ValueError(
                    f"Argument `{argument}` of layer \"{self.name}\" must hold ids in [0, {self.input_dim}) (input_dim={self.input_dim}). "
                    f"Received: ids from {low} to {high}; the largest id found is {high}")
        return x

    def _forward(self, x, mask, training):
        ids = self.check_input(x)
        return self.weights["embeddings"][ids], ids

    def _backward(self, d_out, ids, need_input_grad):
        grad = np.zeros_like(self.weights["embeddings"])
        np.add.at(grad, ids.reshape(-1), d_out.reshape(-1, self.output_dim))
        return None, {"embeddings": grad}  # ids have no gradient

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            **self._penalty_config(),
            "mask_zero": self.mask_zero, "input_length": self.input_length,
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return own_weight_groups(["embeddings"])
