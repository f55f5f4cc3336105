"""TimeDistributed: applies one layer to every time step (the same weights at each step)."""

from rnnkit.layers.base import Layer


class TimeDistributed(Layer):
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

    def forward(self, x, mask=None, training=False):
        x = self.check_input(x)
        batch, steps = x.shape[:2]
        y = self.layer.forward(x.reshape((batch * steps,) + x.shape[2:]), training=training)
        if training:        # inference writes nothing of the layer's (threads may share it)
            self._cache = x.shape
        return y.reshape((batch, steps) + y.shape[1:])

    def backward(self, d_out, need_input_grad=True):
        x_shape = self._cache
        batch, steps = d_out.shape[:2]
        dx = self.layer.backward(d_out.reshape((batch * steps,) + d_out.shape[2:]), need_input_grad)
        self.grads = self.layer.grads
        self._cache = None
        return None if dx is None else dx.reshape(x_shape)

    def get_config(self):
        config = super().get_config()
        config["layer"] = {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config):
        from rnnkit.layers import deserialize  # the registry lives one file up, on this floor
        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
