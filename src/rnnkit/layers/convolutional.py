"""Conv1D: a temporal convolution, `activation(conv(x, kernel) + bias)` (math in ops/conv1d.py)."""

from rnnkit import activations, initializers
from rnnkit.layers.base import Layer, check_positive_int, kernel_and_bias_groups
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import conv1d as conv_ops


def one_int(value, argument):
    """Keras's 1-D spelling of an int: 3, (3,) or [3]."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"Argument `{argument}` must be an int or a tuple of one int. Received: {value!r}")
        value = value[0]
    return check_positive_int(value, argument)


def check_channels_last(data_format, layer):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' (batch, steps, features) is supported. "
                         f"Received: data_format={data_format!r}")


def check_choice(value, argument, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"Argument `{argument}` must be one of {list(choices)}. Received: {value!r}")
    return value.lower()


class Conv1D(WeightPenalties, Layer):
    """1-D convolution over time.

    Args:
        filters: the number of output channels.
        kernel_size: the window length (an int or a tuple of one int).
        strides: the step between windows.
        padding: "valid", "same" (ceil(n / strides) outputs) or "causal" ((kernel_size - 1) *
            dilation_rate zeros on the left).
        data_format: "channels_last" only.
        dilation_rate: the spacing of the kernel's taps; strides > 1 with dilation_rate > 1 is refused.
        groups: split input channels and filters into this many independent groups.
        activation: name or callable; None means linear.
        use_bias: whether to add a bias.

    Input shape: (batch, steps, channels). Output shape: (batch, new_steps, filters). Weights:
    kernel (kernel_size, channels / groups, filters), bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                 dilation_rate=1, groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = one_int(kernel_size, "kernel_size")
        self.strides = one_int(strides, "strides")
        self.padding = check_choice(padding, "padding", ("valid", "same", "causal"))
        check_channels_last(data_format, "Conv1D")
        self.data_format = "channels_last"
        self.dilation_rate = one_int(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError("Conv1D does not support strides > 1 together with dilation_rate > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.groups = check_positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"Argument `filters` must be divisible by `groups`. Received: filters={self.filters}, "
                             f"groups={self.groups}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self._set_penalties({"kernel": kernel_regularizer, "bias": bias_regularizer},
                            {"kernel": kernel_constraint, "bias": bias_constraint}, activity_regularizer)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, channels) with known "
                             f"channels. Received: input_shape={tuple(input_shape)}")
        steps = conv_ops.output_length(input_shape[1], self.kernel_size, self.strides, self.padding,
                                       self.dilation_rate)
        if steps is not None and steps <= 0:
            raise ValueError(f"Layer \"{self.name}\": {input_shape[1]} steps are too few for kernel_size="
                             f"{self.kernel_size}, dilation_rate={self.dilation_rate} with padding "
                             f"{self.padding!r}. Received: input_shape={tuple(input_shape)}")
        return (input_shape[0], steps, self.filters)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"Layer \"{self.name}\": the input channels must be divisible by `groups`. "
                             f"Received: {channels} channels, groups={self.groups}")
        self.add_weight("kernel", (self.kernel_size, channels // self.groups, self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        return conv_ops.conv1d_forward(x, self.weights["kernel"], self.weights.get("bias"), self.strides,
                                       self.padding, self.dilation_rate, self.groups, self.activation, training)

    def _backward(self, d_out, data, need_input_grad):
        return conv_ops.conv1d_backward(d_out, data, self.weights["kernel"], self.strides, self.dilation_rate,
                                        self.groups, self.activation, self.use_bias, need_input_grad)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": [self.kernel_size], "strides": [self.strides],
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": [self.dilation_rate],
            "groups": self.groups, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self._penalty_config(),
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return kernel_and_bias_groups(config)


Convolution1D = Conv1D
