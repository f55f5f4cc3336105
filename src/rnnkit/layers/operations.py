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


class LogicalOr(Layer):
    """`x or y`, elementwise with broadcasting (Keras 3 records it when it merges masks)."""

    takes_several_inputs = True
    output_dtype = "bool"

    def compute_output_shape(self, input_shape):
        first, second = input_shape
        rank = max(len(first), len(second))
        a, b = (None,) * (rank - len(first)) + tuple(first), (None,) * (rank - len(second)) + tuple(second)
        return tuple(y if x in (None, 1) else x for x, y in zip(a, b))

    def build(self, input_shape):
        Layer.build(self, [tuple(s) for s in input_shape])

    def compute_mask(self, x, mask=None):
        return None

    def _forward(self, x, mask, training):
        return np.logical_or(np.asarray(x[0], bool), np.asarray(x[1], bool)), None

    def _backward(self, d_out, data, need_input_grad):
        return [None, None], {}

    def get_config(self):
        return {"name": self.name}


class ExpandDims(Layer):
    """A new axis of size 1 at `axis` (Keras 3's `ops.expand_dims` as a graph node)."""

    def __init__(self, axis=-1, name=None, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Argument `axis` must be an int. Received: {axis!r}")
        self.axis = axis
        super().__init__(name=name, **{k: v for k, v in kwargs.items() if k in ("trainable",)})

    keeps_input_dtype = True  # a mask stays a mask

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        position = self.axis if self.axis >= 0 else len(shape) + 1 + self.axis
        shape.insert(position, 1)
        return tuple(shape)

    def compute_mask(self, x, mask=None):
        return None

    def _forward(self, x, mask, training):
        return np.expand_dims(np.asarray(x), self.axis), None

    def _backward(self, d_out, data, need_input_grad):
        return None, {}

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class ZerosLike(Layer):
    """Zeros of the input's shape (Keras 3's `ops.zeros_like`, here for masks: dtype bool)."""

    def __init__(self, dtype=None, name=None, **kwargs):
        self.fill_dtype = dtype or "float32"
        super().__init__(name=name)

    @property
    def output_dtype(self):
        return self.fill_dtype

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, x, mask=None):
        return None

    def _forward(self, x, mask, training):
        return np.zeros(np.shape(x), dtype=self.fill_dtype), None

    def _backward(self, d_out, data, need_input_grad):
        return None, {}

    def get_config(self):
        return {"name": self.name, "dtype": self.fill_dtype}


class Any(Layer):
    """Whether any value along `axis` is true (Keras 3's `ops.any` as a graph node)."""

    output_dtype = "bool"

    def __init__(self, axis=None, keepdims=False, name=None, **kwargs):
        self.axis, self.keepdims = axis, bool(keepdims)
        super().__init__(name=name)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if self.axis is None:
            return (1,) * len(shape) if self.keepdims else ()
        position = self.axis % len(shape)
        if self.keepdims:
            shape[position] = 1
        else:
            shape.pop(position)
        return tuple(shape)

    def compute_mask(self, x, mask=None):
        return None

    def _forward(self, x, mask, training):
        return np.any(np.asarray(x), axis=self.axis, keepdims=self.keepdims), None

    def _backward(self, d_out, data, need_input_grad):
        return None, {}

    def get_config(self):
        return {"name": self.name, "axis": self.axis, "keepdims": self.keepdims}


class ConcatenateOperation(Layer):
    """Keras 3's `ops.concatenate` as a graph node (it joins masks, so it keeps their bool type).

    Files name it "Concatenate" with module `keras.src.ops.numpy`; rnnkit keeps it apart from the
    Concatenate layer, which carries masks and casts to float.
    """

    takes_several_inputs = True
    keeps_input_dtype = True

    def __init__(self, axis=0, name=None, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Argument `axis` must be an int. Received: {axis!r}")
        self.axis = axis
        super().__init__(name=name)

    def build(self, input_shape):
        Layer.build(self, [tuple(s) for s in input_shape])

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        position = self.axis % len(shapes[0])
        joined = shapes[0]
        sizes = [s[position] for s in shapes]
        joined[position] = None if None in sizes else sum(sizes)
        return tuple(joined)

    def compute_mask(self, x, mask=None):
        return None

    def _forward(self, x, mask, training):
        return np.concatenate([np.asarray(part) for part in x], axis=self.axis), None

    def _backward(self, d_out, data, need_input_grad):
        return None, {}

    def get_config(self):
        return {"name": self.name, "axis": self.axis}
