"""Conv1D: a temporal convolution, `activation(conv(x, kernel) + bias)`; SeparableConv1D (depthwise
then pointwise) and Conv1DTranspose (Conv1D's adjoint). The math is in ops/conv1d.py."""

from rnnkit import activations, initializers
from rnnkit.layers.base import Layer, check_positive_int, check_unsupported, kernel_and_bias_groups, own_weight_groups
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
        self._set_window(filters, kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same", "causal"))
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

    def _set_window(self, filters, kernel_size, strides, padding, data_format, dilation_rate, paddings):
        """The arguments every 1-D convolution shares, checked."""
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = one_int(kernel_size, "kernel_size")
        self.strides = one_int(strides, "strides")
        self.padding = check_choice(padding, "padding", paddings)
        check_channels_last(data_format, type(self).__name__)
        self.data_format = "channels_last"
        self.dilation_rate = one_int(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"{type(self).__name__} does not support strides > 1 together with dilation_rate > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")

    def _window_config(self):
        return {"filters": self.filters, "kernel_size": [self.kernel_size], "strides": [self.strides],
                "padding": self.padding, "data_format": self.data_format, "dilation_rate": [self.dilation_rate],
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}

    def _output_steps(self, steps):
        return conv_ops.output_length(steps, self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, steps, channels) with known "
                             f"channels. Received: input_shape={tuple(input_shape)}")
        steps = self._output_steps(input_shape[1])
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
            **self._window_config(), "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self._penalty_config(),
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return kernel_and_bias_groups(config)


Convolution1D = Conv1D


class SeparableConv1D(Conv1D):
    """Depthwise separable 1-D convolution: each input channel through its own `depth_multiplier`
    filters, then a pointwise (1 x 1) convolution to `filters` channels.

    Args:
        filters, kernel_size, strides, padding ("valid", "same" or "causal"), data_format,
            dilation_rate, activation, use_bias: as Conv1D.
        depth_multiplier: filters per input channel in the depthwise step.
        depthwise_initializer, pointwise_initializer, bias_initializer; depthwise_/pointwise_/bias_
            regularizer and constraint; activity_regularizer.

    Weights: depthwise_kernel (kernel_size, channels, depth_multiplier), pointwise_kernel
    (1, channels * depth_multiplier, filters), bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, groups=1,
                 kernel_initializer=None, kernel_regularizer=None, kernel_constraint=None, **kwargs):
        # tf_keras writes the kernel_* keys of its Conv1D base into the config; no weight uses them
        check_unsupported(kernel_regularizer=kernel_regularizer, kernel_constraint=kernel_constraint)
        self._set_window(filters, kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same", "causal"))
        if groups != 1:
            raise ValueError(f"SeparableConv1D takes groups=1 only (tf_keras writes it). Received: groups={groups!r}")
        self.groups = 1
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer, "depthwise_initializer")
        self.pointwise_initializer = initializers.get(pointwise_initializer, "pointwise_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self._set_penalties({"depthwise_kernel": depthwise_regularizer, "pointwise_kernel": pointwise_regularizer,
                             "bias": bias_regularizer},
                            {"depthwise_kernel": depthwise_constraint, "pointwise_kernel": pointwise_constraint,
                             "bias": bias_constraint}, activity_regularizer)
        Layer.__init__(self, **kwargs)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        channels = input_shape[-1]
        self.add_weight("depthwise_kernel", (self.kernel_size, channels, self.depth_multiplier),
                        self.depthwise_initializer)
        self.add_weight("pointwise_kernel", (1, channels * self.depth_multiplier, self.filters),
                        self.pointwise_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        Layer.build(self, input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        return conv_ops.separable_conv1d_forward(x, self.weights["depthwise_kernel"], self.weights["pointwise_kernel"],
                                                 self.weights.get("bias"), self.strides, self.padding,
                                                 self.dilation_rate, self.activation, training)

    def _backward(self, d_out, data, need_input_grad):
        return conv_ops.separable_conv1d_backward(d_out, data, self.weights["depthwise_kernel"],
                                                  self.weights["pointwise_kernel"], self.strides, self.dilation_rate,
                                                  self.activation, self.use_bias, need_input_grad)

    def get_config(self):
        config = Layer.get_config(self)
        config.update({
            **self._window_config(), "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        })
        for key, value in self._penalty_config().items():    # depthwise_kernel_... -> Keras's depthwise_...
            config[key.replace("_kernel_", "_")] = value
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        """Keras 3: the layer's own `vars`; Keras 2: `<layer>/depthwise_kernel:0`, ..."""
        return own_weight_groups(["depthwise_kernel", "pointwise_kernel"] + (["bias"] if config.get("use_bias", True)
                                                                             else []))


class Conv1DTranspose(Conv1D):
    """Transposed 1-D convolution: the adjoint of the Conv1D that would map its output back to
    its input (upsampling by `strides`).

    Args:
        filters, kernel_size, strides, padding ("valid" or "same"), data_format, dilation_rate,
            activation, use_bias, initializers, regularizers, constraints: as Conv1D.
        output_padding: extra steps at the end of the output (an int below `strides`), or None
            for Keras's default length (n strides + max(kernel span - strides, 0) for "valid",
            n strides for "same").

    Weights: kernel (kernel_size, filters, channels) (Keras's layout: output channels first),
    bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, groups=1, **kwargs):
        self._set_window(filters, kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        if groups != 1:
            raise ValueError(f"Conv1DTranspose takes groups=1 only (tf_keras writes it). Received: groups={groups!r}")
        if output_padding is not None:
            value = output_padding[0] if isinstance(output_padding, (list, tuple)) and len(output_padding) == 1 \
                else output_padding
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("Argument `output_padding` must be None, a non-negative int or a tuple of one. "
                                 f"Received: {output_padding!r}")
            output_padding = value
            if output_padding >= self.strides:
                raise ValueError(f"Argument `output_padding` must be smaller than `strides` ({self.strides}). "
                                 f"Received: output_padding={output_padding}")
        self.output_padding = output_padding
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)

    def _output_steps(self, steps):
        return conv_ops.transposed_length(steps, self.kernel_size, self.strides, self.padding, self.dilation_rate,
                                          self.output_padding)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.add_weight("kernel", (self.kernel_size, self.filters, input_shape[-1]), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        Layer.build(self, input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        return conv_ops.conv1d_transpose_forward(x, self.weights["kernel"], self.weights.get("bias"), self.strides,
                                                 self.padding, self.dilation_rate, self.output_padding,
                                                 self.activation, training)

    def _backward(self, d_out, data, need_input_grad):
        return conv_ops.conv1d_transpose_backward(d_out, data, self.weights["kernel"], self.activation, self.use_bias,
                                                  need_input_grad)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = None if self.output_padding is None else [self.output_padding]
        return config


Convolution1DTranspose = Conv1DTranspose
SeparableConvolution1D = SeparableConv1D

# Keras 2 also named the pooling, padding, cropping and upsampling layers in this module, so
# `from keras.layers.convolutional import Conv1D, MaxPooling1D` (Brownlee's forecasters) works.
# Looked up on first use: pooling.py and reshaping.py import this module.
_KERAS2_NAMES_HERE = ("AveragePooling1D", "MaxPooling1D", "Cropping1D", "UpSampling1D", "ZeroPadding1D")


def __getattr__(name):
    if name in _KERAS2_NAMES_HERE:
        import rnnkit.layers
        return getattr(rnnkit.layers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
