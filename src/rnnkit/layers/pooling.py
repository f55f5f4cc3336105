"""Pooling over time: MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D
(math in ops/pooling.py)."""

from rnnkit.layers.base import Layer
from rnnkit.layers.convolutional import check_channels_last, check_choice, one_int
from rnnkit.ops import pooling as pool_ops


def _check_3d(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(f"Layer \"{layer.name}\" expects input of shape (batch, steps, features). "
                         f"Received: input_shape={tuple(input_shape)}")


class _Pooling1D(Layer):
    _mode = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        self.pool_size = one_int(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else one_int(strides, "strides")
        self.padding = check_choice(padding, "padding", ("valid", "same"))
        check_channels_last(data_format, type(self).__name__)
        self.data_format = "channels_last"
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        _check_3d(self, input_shape)
        steps = pool_ops.output_length(input_shape[1], self.pool_size, self.strides, self.padding)
        if steps is not None and steps <= 0:
            raise ValueError(f"Layer \"{self.name}\": {input_shape[1]} steps are too few for pool_size="
                             f"{self.pool_size}. Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], steps, input_shape[2])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if x.ndim != 3:
            self.compute_output_shape(x.shape)
        return pool_ops.pool1d_forward(x, self.pool_size, self.strides, self.padding, self._mode, training)

    def _backward(self, d_out, data, need_input_grad):
        return pool_ops.pool1d_backward(d_out, data, self.pool_size, self.strides, self._mode), {}

    def get_config(self):
        config = super().get_config()
        config.update({"strides": [self.strides], "pool_size": [self.pool_size], "padding": self.padding,
                       "data_format": self.data_format})
        return config


class MaxPooling1D(_Pooling1D):
    """The maximum of each window of `pool_size` steps, every `strides` steps (default pool_size);
    padding "valid" or "same" (the padding never wins). A mask is not passed on.

    Input shape: (batch, steps, features). Output shape: (batch, new_steps, features).
    """

    _mode = "max"


class AveragePooling1D(_Pooling1D):
    """The mean of each window of `pool_size` steps, every `strides` steps (default pool_size);
    padding "valid" or "same" ("same" averages only the real cells under the window).

    Input shape: (batch, steps, features). Output shape: (batch, new_steps, features).
    """

    _mode = "average"


class _GlobalPooling1D(Layer):
    supports_masking = True

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        check_channels_last(data_format, type(self).__name__)
        self.data_format = "channels_last"
        self.keepdims = bool(keepdims)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        _check_3d(self, input_shape)
        return (input_shape[0], 1, input_shape[2]) if self.keepdims else (input_shape[0], input_shape[2])

    def compute_mask(self, x, mask=None):
        return None

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        super().build(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if x.ndim != 3:
            self.compute_output_shape(x.shape)
        y, cache = self._pool(x, mask, training)
        return (y[:, None, :] if self.keepdims else y), cache

    def _backward(self, d_out, data, need_input_grad):
        if self.keepdims:
            d_out = d_out[:, 0, :]
        return self._unpool(d_out, data), {}

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over every step (a mask is ignored, as Keras does). Output: (batch, features),
    or (batch, 1, features) with `keepdims=True`. No mask is passed on."""

    def _pool(self, x, mask, training):
        return pool_ops.global_max_forward(x, training)

    def _unpool(self, d_out, data):
        return pool_ops.global_max_backward(d_out, data)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over time; with a mask, the mean over the unmasked steps only. Output:
    (batch, features), or (batch, 1, features) with `keepdims=True`. No mask is passed on."""

    def _pool(self, x, mask, training):
        return pool_ops.global_average_forward(x, mask, training)

    def _unpool(self, d_out, data):
        return pool_ops.global_average_backward(d_out, data)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalMaxPool1D, GlobalAvgPool1D = GlobalMaxPooling1D, GlobalAveragePooling1D
