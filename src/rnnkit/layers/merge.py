"""Merge layers: several tensors in, one out (Concatenate, Add, Subtract, Multiply, Average,
Maximum, Minimum, Dot), and their functional forms (`layers.concatenate([a, b])`, ...).

Masks follow tf_keras (Keras 2): the output mask is the AND of the input masks, a missing mask
counting as all-valid, and Dot passes no mask on. (Keras 3.15 takes the OR instead and changes
Maximum/Minimum/Multiply values under masks; see the fixtures README.)
"""

import numpy as np

from rnnkit.layers.base import Layer
from rnnkit.ops import merge as merge_ops


class _UnderMasks:
    """What a merge under Keras 3's mask rules keeps for its backward: inputs and their masks."""

    def __init__(self, arrays, masks):
        self.arrays, self.masks = arrays, masks


class _Merge(Layer):
    """Base of the merge layers: a list of at least two tensors of one shape (Subtract: two)."""

    supports_masking = True
    takes_several_inputs = True
    exact_count = None

    def _check_shapes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"Layer \"{self.name}\" ({type(self).__name__}) must be called on a list of tensors. "
                             f"Received: input_shape={input_shape}")
        count = len(input_shape)
        if self.exact_count and count != self.exact_count:
            raise ValueError(f"Layer \"{self.name}\" ({type(self).__name__}) takes exactly {self.exact_count} inputs. "
                             f"Received: {count} inputs")
        if count < 2:
            raise ValueError(f"Layer \"{self.name}\" ({type(self).__name__}) needs at least 2 inputs. "
                             f"Received: {count} input")
        return [tuple(shape) for shape in input_shape]

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(input_shape)
        first = shapes[0]
        for shape in shapes[1:]:
            if len(shape) != len(first) or any(a is not None and b is not None and a != b
                                               for a, b in zip(first[1:], shape[1:])):
                raise ValueError(f"Layer \"{self.name}\" ({type(self).__name__}) needs inputs of one shape. "
                                 f"Received: input shapes {shapes}")
        return tuple(next((s[i] for s in shapes if s[i] is not None), None) for i in range(len(first)))

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build([tuple(s) for s in input_shape])

    def compute_mask(self, x, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        valid = [m for m in mask if m is not None]
        return np.logical_and.reduce([np.asarray(m, dtype=bool) for m in valid])

    def _arrays(self, x):
        if not isinstance(x, (list, tuple)):
            raise TypeError(f"Layer \"{self.name}\" ({type(self).__name__}) must be called on a list of arrays. "
                            f"Received: {type(x).__name__}")
        self._check_shapes([np.shape(v) for v in x])
        return [self.check_input(v) for v in x]

    def check_input(self, x):
        return np.asarray(x, dtype=self.dtype)

    def _forward(self, x, mask, training, mask_rule=None):
        xs = self._arrays(x)
        if mask_rule == "keras3" and mask is not None:   # the graph asks only merges with merge_keras3
            masks = [None if m is None else np.broadcast_to(np.asarray(m, bool)[..., None], v.shape)
                     for m, v in zip(mask, xs)]
            return self.merge_keras3(xs, masks), (_UnderMasks(xs, masks) if training else None)
        return self.merge(xs), (xs if training else None)

    def _backward(self, d_out, xs, need_input_grad):
        if isinstance(xs, _UnderMasks):
            return self.merge_keras3_gradients(d_out, xs.arrays, xs.masks), {}
        return self.merge_gradients(d_out, xs), {}

    def get_config(self):
        config = super().get_config()
        config.pop("batch_input_shape", None)
        return config


class Add(_Merge):
    """Elementwise sum of its inputs."""

    def merge(self, xs):
        return merge_ops.add(xs)

    def merge_gradients(self, d_out, xs):
        return merge_ops.add_gradients(d_out, xs)


class Subtract(_Merge):
    """`inputs[0] - inputs[1]` (exactly two inputs)."""

    exact_count = 2

    def merge(self, xs):
        return merge_ops.subtract(xs)

    def merge_gradients(self, d_out, xs):
        return [d_out, -d_out]


class Multiply(_Merge):
    """Elementwise product of its inputs."""

    def merge(self, xs):
        return merge_ops.multiply(xs)

    def merge_gradients(self, d_out, xs):
        return merge_ops.multiply_gradients(d_out, xs)

    def merge_keras3(self, xs, masks):
        return merge_ops.product_under_masks(xs, masks)

    def merge_keras3_gradients(self, d_out, xs, masks):
        return merge_ops.product_under_masks_gradients(d_out, xs, masks)


class Average(_Merge):
    """Elementwise mean of its inputs."""

    def merge(self, xs):
        return merge_ops.average(xs)

    def merge_gradients(self, d_out, xs):
        return [d_out / len(xs) for _ in xs]


class Maximum(_Merge):
    """Elementwise maximum of its inputs."""

    def merge(self, xs):
        return merge_ops.maximum(xs)

    def merge_gradients(self, d_out, xs):
        return merge_ops.select_gradients(d_out, xs, np.argmax)

    def merge_keras3(self, xs, masks):
        return merge_ops.running_under_masks(np.maximum, xs, masks)

    def merge_keras3_gradients(self, d_out, xs, masks):
        return merge_ops.running_under_masks_gradients(d_out, np.maximum, xs, masks)


class Minimum(_Merge):
    """Elementwise minimum of its inputs."""

    def merge(self, xs):
        return merge_ops.minimum(xs)

    def merge_gradients(self, d_out, xs):
        return merge_ops.select_gradients(d_out, xs, np.argmin)

    def merge_keras3(self, xs, masks):
        return merge_ops.running_under_masks(np.minimum, xs, masks)

    def merge_keras3_gradients(self, d_out, xs, masks):
        return merge_ops.running_under_masks_gradients(d_out, np.minimum, xs, masks)


class Concatenate(_Merge):
    """Joins its inputs along `axis` (default the last).

    Args:
        axis: the axis to join along; every other axis must agree.
    """

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Argument `axis` must be an int. Received: {axis!r}")
        self.axis = int(axis)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(input_shape)
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0 or any(len(s) != rank for s in shapes):
            raise ValueError(f"Layer \"{self.name}\" (Concatenate) needs inputs of one rank and an axis other than "
                             f"the batch axis. Received: axis={self.axis}, input shapes {shapes}")
        for i in range(1, rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes if s[i] is not None}
            if len(sizes) > 1:
                raise ValueError(f"Layer \"{self.name}\" (Concatenate) needs inputs that agree on every axis but "
                                 f"axis {self.axis}. Received: input shapes {shapes}")
        joined = None if any(s[axis] is None for s in shapes) else sum(s[axis] for s in shapes)
        out = list(next((s[i] for s in shapes if s[i] is not None), None) for i in range(rank))
        out[axis] = joined
        return tuple(out)

    def merge(self, xs):
        return merge_ops.concatenate(xs, self.axis)

    def merge_gradients(self, d_out, xs):
        return merge_ops.concatenate_gradients(d_out, xs, self.axis)

    def compute_mask(self, x, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        rank = np.ndim(x[0])
        if self.axis % rank != rank - 1:
            raise ValueError(f"Layer \"{self.name}\" (Concatenate) joins masked tensors along axis {self.axis}; "
                             "rnnkit supports masks only when joining along the last axis. Received: masks with "
                             f"axis={self.axis}")
        return super().compute_mask(x, mask)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Dot product of two tensors along `axes`, per sample (Keras's batch_dot).

    Args:
        axes: an int, or a pair of ints (one axis of each input; never the batch axis).
        normalize: L2-normalise both inputs along their axes first (cosine similarity).
    """

    exact_count = 2

    def __init__(self, axes, normalize=False, **kwargs):
        pair = list(axes) if isinstance(axes, (list, tuple)) else [axes, axes]
        if len(pair) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in pair):
            raise ValueError(f"Argument `axes` must be an int or a pair of ints. Received: {axes!r}")
        self.axes = axes if isinstance(axes, (int, np.integer)) else list(axes)
        self._pair = [int(a) for a in pair]
        self.normalize = bool(normalize)
        super().__init__(**kwargs)

    def _resolved_axes(self, shapes):
        axes = []
        for axis, shape in zip(self._pair, shapes):
            rank = len(shape)
            resolved = axis % rank if -rank <= axis < rank else None
            if resolved in (None, 0):
                raise ValueError(f"Layer \"{self.name}\" (Dot) has axes {self.axes}, which must name a non-batch axis "
                                 f"of each input. Received: input shapes {shapes}")
            axes.append(resolved)
        return axes

    def compute_output_shape(self, input_shape):
        shapes = self._check_shapes(input_shape)
        ax, ay = self._resolved_axes(shapes)
        if shapes[0][ax] is not None and shapes[1][ay] is not None and shapes[0][ax] != shapes[1][ay]:
            raise ValueError(f"Layer \"{self.name}\" (Dot) contracts axes of different sizes. Received: "
                             f"{shapes[0]} axis {ax} and {shapes[1]} axis {ay}")
        rest = [d for i, d in enumerate(shapes[0]) if i not in (0, ax)] + \
            [d for i, d in enumerate(shapes[1]) if i not in (0, ay)]
        batch = shapes[0][0] if shapes[0][0] is not None else shapes[1][0]
        return (batch,) + (tuple(rest) if rest else (1,))

    def compute_mask(self, x, mask=None):
        return None

    def merge(self, xs):
        ax, ay = self._resolved_axes([np.shape(v) for v in xs])
        return merge_ops.batch_dot(xs[0], xs[1], ax, ay, self.normalize)

    def merge_gradients(self, d_out, xs):
        ax, ay = self._resolved_axes([np.shape(v) for v in xs])
        return merge_ops.batch_dot_gradients(d_out, xs[0], xs[1], ax, ay, self.normalize)

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def _functional(cls, doc):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = doc
    return merge


add = _functional(Add, "`Add()(inputs)`.")
subtract = _functional(Subtract, "`Subtract()(inputs)`.")
multiply = _functional(Multiply, "`Multiply()(inputs)`.")
average = _functional(Average, "`Average()(inputs)`.")
maximum = _functional(Maximum, "`Maximum()(inputs)`.")
minimum = _functional(Minimum, "`Minimum()(inputs)`.")


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """`Dot(axes, normalize)(inputs)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
