"""Layers that move values around without arithmetic: Flatten, Reshape, Permute, RepeatVector,
UpSampling1D, ZeroPadding1D, Cropping1D. Each backward undoes the forward's move
(reshape back, inverse permutation, sum over the copies, drop the padding, pad the cropped steps)."""

import numpy as np

from rnnkit.layers.base import Layer, check_positive_int
from rnnkit.layers.convolutional import check_channels_last


def _pair(value, argument):
    """An int n (n, n) or a pair of non-negative ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in value)):
        raise ValueError(f"Argument `{argument}` must be a non-negative int or a pair of them. Received: {value!r}")
    return int(value[0]), int(value[1])


class Flatten(Layer):
    """Flattens every axis but the batch: (batch, ...) -> (batch, product). No mask is passed on."""

    def __init__(self, data_format=None, **kwargs):
        check_channels_last(data_format, "Flatten")
        self.data_format = "channels_last"
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64)))

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        return x.reshape(x.shape[0], -1), x.shape

    def _backward(self, d_out, shape, need_input_grad):
        return d_out.reshape(shape), {}

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes every sample to `target_shape` (one entry may be -1). No mask is passed on."""

    def __init__(self, target_shape, **kwargs):
        if not isinstance(target_shape, (list, tuple)) or any(
                isinstance(d, bool) or not isinstance(d, (int, np.integer)) or (d <= 0 and d != -1)
                for d in target_shape):
            raise ValueError(f"Argument `target_shape` must be a tuple of positive ints (one may be -1). "
                             f"Received: {target_shape!r}")
        if sum(1 for d in target_shape if d == -1) > 1:
            raise ValueError(f"Argument `target_shape` may hold -1 once. Received: {target_shape!r}")
        self.target_shape = tuple(int(d) for d in target_shape)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        total = int(np.prod(rest, dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(f"Layer \"{self.name}\": cannot reshape {tuple(rest)} to {self.target_shape}. "
                                 f"Received: input_shape={tuple(input_shape)}")
            return (input_shape[0],) + tuple(total // known if d == -1 else d for d in self.target_shape)
        if total != known:
            raise ValueError(f"Layer \"{self.name}\": total size of the new shape {self.target_shape} must equal "
                             f"the input's {total}. Received: input_shape={tuple(input_shape)}")
        return (input_shape[0],) + self.target_shape

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        target = self.compute_output_shape((None,) + x.shape[1:])[1:]
        return x.reshape((x.shape[0],) + target), x.shape

    def _backward(self, d_out, shape, need_input_grad):
        return d_out.reshape(shape), {}

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permutes the non-batch axes: `dims` is a permutation of 1..rank-1 (Keras counts from 1).
    No mask is passed on."""

    def __init__(self, dims, **kwargs):
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else dims
        if not isinstance(dims, tuple) or sorted(dims) != list(range(1, len(dims) + 1)):
            count = len(dims) if isinstance(dims, tuple) else "n"
            raise ValueError(f"Argument `dims` must be a permutation of 1..{count}"
                             f" (the batch axis is 0 and stays). Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Layer \"{self.name}\" permutes {len(self.dims)} axes. "
                             f"Received: input_shape={tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        self.compute_output_shape(x.shape)
        return np.ascontiguousarray(x.transpose((0,) + self.dims)), None

    def _backward(self, d_out, data, need_input_grad):
        return d_out.transpose(np.argsort((0,) + self.dims)), {}

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeats a (batch, features) input `n` times: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        self.n = check_positive_int(n, "n")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, features). "
                             f"Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        self.compute_output_shape(x.shape)
        return np.repeat(x[:, None, :], self.n, axis=1), None

    def _backward(self, d_out, data, need_input_grad):
        return d_out.sum(axis=1), {}

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


class UpSampling1D(Layer):
    """Repeats each step `size` times along time: (batch, steps, features) -> (batch, steps * size, features)."""

    def __init__(self, size=2, **kwargs):
        self.size = check_positive_int(size, "size")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, features). "
                             f"Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] * self.size, input_shape[2])

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        self.compute_output_shape(x.shape)
        return np.repeat(x, self.size, axis=1), None

    def _backward(self, d_out, data, need_input_grad):
        b, t, f = d_out.shape
        return d_out.reshape(b, t // self.size, self.size, f).sum(axis=2), {}

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class ZeroPadding1D(Layer):
    """Adds zero steps at the start and end: `padding` = n (both sides) or (left, right)."""

    def __init__(self, padding=1, **kwargs):
        self.padding = _pair(padding, "padding")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, features). "
                             f"Received: input_shape={tuple(input_shape)}")
        steps = None if input_shape[1] is None else input_shape[1] + sum(self.padding)
        return (input_shape[0], steps, input_shape[2])

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        self.compute_output_shape(x.shape)
        return np.pad(x, ((0, 0), self.padding, (0, 0))), x.shape[1]

    def _backward(self, d_out, steps, need_input_grad):
        return d_out[:, self.padding[0]:self.padding[0] + steps], {}

    def get_config(self):
        config = super().get_config()
        config["padding"] = list(self.padding)
        return config


class Cropping1D(Layer):
    """Drops steps at the start and end: `cropping` = n (both sides) or (start, end)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        self.cropping = _pair(cropping, "cropping")
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, features). "
                             f"Received: input_shape={tuple(input_shape)}")
        if input_shape[1] is None:
            return tuple(input_shape)
        steps = input_shape[1] - sum(self.cropping)
        if steps <= 0:
            raise ValueError(f"Layer \"{self.name}\": cropping {self.cropping} leaves no step of {input_shape[1]}. "
                             f"Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], steps, input_shape[2])

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        self.compute_output_shape(x.shape)
        start, end = self.cropping
        return x[:, start:x.shape[1] - end].copy(), None

    def _backward(self, d_out, data, need_input_grad):
        return np.pad(d_out, ((0, 0), self.cropping, (0, 0))), {}

    def get_config(self):
        config = super().get_config()
        config["cropping"] = list(self.cropping)
        return config
