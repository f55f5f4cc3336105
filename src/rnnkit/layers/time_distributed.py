"""TimeDistributed: applies one layer to every time step (the same weights at each step)."""

from rnnkit.layers.base import Layer, nested_weight_groups
from rnnkit.layers.regularization import WrappedPenalties


class TimeDistributed(WrappedPenalties, Layer):
    """Applies `layer` to each slice along axis 1 of a (batch, timesteps, ...) input.

    Args:
        layer: a Layer instance (e.g. Dense).

    Weights are the wrapped layer's, in its order. The steps are folded into the batch, so the
    whole sequence is ONE call of the inner layer.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"Argument `layer` of TimeDistributed must be a Layer instance. Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    @property
    def layers(self):
        return [self.layer]

    def _penalty_parts(self):
        return [("", self.layer)]

    def _inner_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"Layer \"{self.name}\" needs an input of rank >= 3 (batch, timesteps, ...). "
                f"Received: input_shape={tuple(input_shape)}")
        return (None,) + tuple(input_shape[2:])

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        if not self.layer.built:
            self.layer.build(self._inner_shape(input_shape))
        self.weights = self.layer.weights
        super().build(input_shape)

    def _forward(self, x, mask, training, activity=None):
        x = self.check_input(x)
        batch, steps = x.shape[:2]
        # one inner call on (B*T, ...): its activity penalty is divided by B*T, as tf_keras's
        y, inner, regularized = self._inner_call(self.layer, x.reshape((batch * steps,) + x.shape[2:]), None,
                                                 training, activity)
        return y.reshape((batch, steps) + y.shape[1:]), (x.shape, inner, regularized)

    def _backward(self, d_out, data, need_input_grad):
        x_shape, inner, regularized = data
        batch, steps = d_out.shape[:2]
        d_inner = self._with_inner_activity_gradient(self.layer, d_out.reshape((batch * steps,) + d_out.shape[2:]),
                                                     regularized)
        dx, grads = self.layer.gradients(d_inner, inner, need_input_grad)
        return (None if dx is None else dx.reshape(x_shape)), grads

    def get_config(self):
        config = super().get_config()
        config["layer"] = {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config):
        from rnnkit.layers import deserialize  # the registry lives one file up, on this floor
        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)

    @classmethod
    def keras_weight_groups(cls, config):
        """The inner layer's groups under `layer`; Keras 2 names them as the wrapper's own
        (`time_distributed/kernel:0`), without the inner layer's scopes."""
        inner = config["layer"]
        return nested_weight_groups("layer", inner["config"]["name"], inner, "", keep_inner_scopes=False)
