"""Dense: `activation(x @ kernel + bias)` on the last axis of 2-D or 3-D input."""

from rnnkit import activations, initializers
from rnnkit.layers.base import Layer, check_positive_int, kernel_and_bias_groups
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import dense as dense_ops


class Dense(WeightPenalties, Layer):
    """A densely connected layer.

    Args:
        units: positive int, the output size.
        activation: name or callable; None means linear.
        use_bias: whether to add a bias.
        kernel_initializer: default `glorot_uniform`.
        bias_initializer: default `zeros`.

    Input shape: (batch, ..., input_dim). Output shape: (batch, ..., units).
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        self.units = check_positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self._set_penalties({"kernel": kernel_regularizer, "bias": bias_regularizer},
                            {"kernel": kernel_constraint, "bias": bias_constraint}, activity_regularizer)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Layer \"{self.name}\" needs an input with a known last axis. "
                f"Received: input_shape={tuple(input_shape)}")
        return tuple(input_shape[:-1]) + (self.units,)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates before any weight exists
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        super().build(input_shape)

    def _forward(self, x, mask, training):
        x = self.check_input(x)
        if not training:
            return dense_ops.dense_forward(x, self.weights["kernel"], self.weights.get("bias"), self.activation), None
        y, z = dense_ops.dense_forward_for_training(x, self.weights["kernel"], self.weights.get("bias"),
                                                    self.activation)
        return y, (x, y, z)

    def _backward(self, d_out, data, need_input_grad):
        x, y, z = data
        return dense_ops.dense_backward(d_out, x, y, self.weights["kernel"], self.use_bias, self.activation,
                                        need_input_grad, z)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self._penalty_config(),
        })
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        return kernel_and_bias_groups(config)
