"""Keras-named weight initializers, drawing from `backend.rng()`.

Formulas as Keras documents them: GlorotUniform draws U(-l, l) with l = sqrt(6 / (fan_in +
fan_out)); Orthogonal takes Q of the QR decomposition of a normal matrix, sign-corrected by
diag(R); RandomUniform defaults to U(-0.05, 0.05).
"""

import math

import numpy as np

from rnnkit import backend


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: `initializer(shape, dtype)` returns a new array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _generator(self):
        seed = getattr(self, "seed", None)
        return backend.rng() if seed is None else np.random.default_rng(seed)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype or backend.floatx())


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype or backend.floatx())


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype or backend.floatx())

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return self._generator().uniform(self.minval, self.maxval, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return self._generator().normal(self.mean, self.stddev, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class _VarianceScalingUniform(Initializer):
    scale = 1.0
    mode = "fan_avg"

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        limit = math.sqrt(3.0 * self.scale / max(1.0, fan))
        return self._generator().uniform(-limit, limit, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_VarianceScalingUniform):
    pass


class HeUniform(_VarianceScalingUniform):
    scale = 2.0
    mode = "fan_in"


class LecunUniform(_VarianceScalingUniform):
    mode = "fan_in"


class GlorotNormal(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        # Keras truncates at two standard deviations; 0.8796... is that truncation's stddev.
        stddev = math.sqrt(2.0 / max(1.0, fan_in + fan_out)) / 0.87962566103423978
        values = self._generator().normal(0.0, stddev, shape)
        return np.clip(values, -2 * stddev, 2 * stddev).astype(dtype or backend.floatx())

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._generator().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype or backend.floatx())

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
}
_BY_CLASS = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier, argument="initializer"):
    """An Initializer from a name, a Keras config dict, an instance or a callable.

    Raises:
        ValueError: for an unknown name or class.
        TypeError: for anything else.
    """
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(
                f"Argument `{argument}` must be one of {sorted(_BY_NAME)}, an Initializer or a "
                f"config dict. Received: {identifier!r}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_CLASS.get(identifier["class_name"]) or _BY_NAME.get(identifier["class_name"])
        if cls is None:
            raise ValueError(
                f"Argument `{argument}` names an unknown initializer class. Received: "
                f"{identifier['class_name']!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    raise TypeError(
        f"Argument `{argument}` must be a name, an Initializer or a config dict. "
        f"Received: {identifier!r}")


def serialize(initializer):
    """Keras 2's config form: {"class_name": ..., "config": {...}}."""
    if not isinstance(initializer, Initializer):
        raise ValueError(f"Cannot serialize a custom initializer. Received: {initializer!r}")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
