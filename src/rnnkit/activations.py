"""Keras-named activations: `get` turns a name, a config or a callable into what ops understand."""

from rnnkit.ops import activations as _ops

_ALIASES = {None: "linear", "linear": "linear"}


def get(identifier, argument="activation"):
    """Returns an activation name known to `rnnkit.ops.activations`, or a user callable.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is neither a name nor a callable.
    """
    if identifier is None:
        return "linear"
    if isinstance(identifier, dict):
        # A serialized function (Keras writes custom activations this way): only a built-in's
        # name is accepted; nothing from a file is ever run.
        config = identifier.get("config")
        identifier = config.get("name") if isinstance(config, dict) else config
        if identifier not in _ops.FORWARD:
            raise ValueError(
                f"Argument `{argument}` names a function rnnkit does not have (a custom function cannot be "
                f"loaded from a file). Use one of {sorted(_ops.FORWARD)}. Received: {identifier!r}")
    if isinstance(identifier, str):
        if identifier in _ops.FORWARD:
            return identifier
        raise ValueError(
            f"Argument `{argument}` must be one of {sorted(_ops.FORWARD)} or a callable. "
            f"Received: {identifier!r}")
    if callable(identifier):
        name = getattr(identifier, "__name__", None)
        if name in _ops.FORWARD and getattr(identifier, "__module__", "").startswith("rnnkit"):
            return name
        return identifier
    raise TypeError(
        f"Argument `{argument}` must be a string or a callable. Received: {identifier!r} "
        f"of type {type(identifier).__name__}")


def serialize(activation):
    """The config form Keras writes: the name for built-ins, the function name otherwise."""
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")


def _make(name):
    def activation(x):
        import numpy as np
        return _ops.apply(name, np.array(x, dtype=float if np.asarray(x).dtype.kind != "f" else None))
    activation.__name__ = name
    return activation


tanh = _make("tanh")
sigmoid = _make("sigmoid")
relu = _make("relu")
linear = _make("linear")
elu = _make("elu")
softplus = _make("softplus")
softmax = _make("softmax")
hard_sigmoid = _make("hard_sigmoid")            # Keras 2: clip(0.2 x + 0.5, 0, 1)
hard_sigmoid_v3 = _make("hard_sigmoid_v3")      # Keras 3: relu6(x + 3) / 6
selu = _make("selu")
swish = _make("swish")
silu = _make("silu")                            # Keras 3's name of swish
exponential = _make("exponential")
softsign = _make("softsign")
mish = _make("mish")
relu6 = _make("relu6")
log_softmax = _make("log_softmax")
_gelu_exact = _make("gelu")
_gelu_approximate = _make("gelu_approximate")
_leaky_relu_default = _make("leaky_relu")


def gelu(x, approximate=False):
    """Gaussian error linear unit: x Phi(x) (exact, erf), or the tanh form with `approximate=True`."""
    return (_gelu_approximate if approximate else _gelu_exact)(x)


def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, else negative_slope * x."""
    import numpy as np
    x = np.array(x, dtype=float if np.asarray(x).dtype.kind != "f" else None)
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype)


gelu.__name__ = "gelu"
leaky_relu.__name__ = "leaky_relu"
