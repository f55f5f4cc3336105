"""Keras-named weight initializers, drawing from `backend.rng()`.

Formulas as Keras 2.9 computes them (VarianceScaling): with n = fan_in or (fan_in + fan_out) / 2,
the uniform variants draw U(-l, l), l = sqrt(3 scale / n) (GlorotUniform: sqrt(6 / (fan_in +
fan_out))); the normal variants draw a normal truncated at two standard deviations, values outside
drawn again, with stddev sqrt(scale / n) / 0.8796... before truncation (so sqrt(scale / n) after).
Orthogonal takes Q of the QR decomposition of a normal matrix, sign-corrected by diag(R), times
gain; Identity is gain times the (possibly rectangular) identity matrix; RandomUniform defaults to U(-0.05, 0.05).
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


def _check_number(value, argument, owner, positive=False, non_negative=False):
    """`value` as a float, refusing NaN, infinities (NumPy's samplers would raise a bare
    OverflowError or return NaN arrays) and, where asked, values <= 0 or < 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{argument}` of {owner} must be a number. Received: {argument}={value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"Argument `{argument}` of {owner} must be a finite number. Received: {argument}={value!r}")
    if positive and number <= 0:
        raise ValueError(f"Argument `{argument}` of {owner} must be positive. Received: {argument}={value!r}")
    if non_negative and number < 0:
        raise ValueError(f"Argument `{argument}` of {owner} must be >= 0. Received: {argument}={value!r}")
    return value


def _truncated_normal(generator, mean, stddev, shape):
    """N(mean, stddev) truncated at two standard deviations as TensorFlow draws it: every value
    outside [mean - 2 stddev, mean + 2 stddev] is drawn again (not clipped, which would pile the
    4.6% of the mass that lies outside onto the two bounds)."""
    values = generator.normal(mean, stddev, shape)
    outside = np.abs(values - mean) > 2 * stddev
    while outside.any():
        values[outside] = generator.normal(mean, stddev, int(outside.sum()))
        outside = np.abs(values - mean) > 2 * stddev
    return values


class RandomUniform(Initializer):
    """U(minval, maxval). Defaults: minval=-0.05, maxval=0.05.

    Raises:
        ValueError: if a bound is NaN or infinite.
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _check_number(minval, "minval", "RandomUniform")
        self.maxval = _check_number(maxval, "maxval", "RandomUniform")
        self.seed = seed

    def __call__(self, shape, dtype=None):
        return self._generator().uniform(self.minval, self.maxval, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """N(mean, stddev). Defaults: mean=0.0, stddev=0.05.

    Raises:
        ValueError: if mean or stddev is NaN or infinite, or stddev is negative.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number(mean, "mean", type(self).__name__)
        self.stddev = _check_number(stddev, "stddev", type(self).__name__, non_negative=True)
        self.seed = seed

    def __call__(self, shape, dtype=None):
        return self._generator().normal(self.mean, self.stddev, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev) with values beyond two standard deviations drawn again, as Keras's."""

    def __call__(self, shape, dtype=None):
        values = _truncated_normal(self._generator(), self.mean, self.stddev, shape)
        return values.astype(dtype or backend.floatx())


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: with n = fan_in, fan_out or (fan_in + fan_out) / 2 (`mode`),
    "uniform" draws U(-l, l), l = sqrt(3 scale / n); "truncated_normal" draws a normal truncated
    (redrawn) at two standard deviations whose stddev after truncation is sqrt(scale / n), i.e.
    before truncation sqrt(scale / n) / 0.8796...; "untruncated_normal" draws N(0, sqrt(scale / n)).
    Defaults: scale=1.0, mode="fan_in", distribution="truncated_normal".

    Raises:
        ValueError: for a scale that is not a positive finite number, an unknown mode or distribution.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale = _check_number(scale, "scale", "VarianceScaling", positive=True)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Argument `mode` of VarianceScaling must be 'fan_in', 'fan_out' or 'fan_avg'. "
                             f"Received: mode={mode!r}")
        if distribution == "normal":  # Keras's older name
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("Argument `distribution` of VarianceScaling must be 'uniform', "
                             f"'truncated_normal' or 'untruncated_normal'. Received: distribution={distribution!r}")
        self.mode, self.distribution, self.seed = mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, fan)
        generator = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            values = generator.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            # 0.8796... = the stddev of N(0, 1) truncated at +-2 (scipy.stats.truncnorm.std(-2, 2)).
            values = _truncated_normal(generator, 0.0, math.sqrt(scale) / 0.87962566103423978, shape)
        else:
            values = generator.normal(0.0, math.sqrt(scale), shape)
        return values.astype(dtype or backend.floatx())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _FixedVarianceScaling(VarianceScaling):
    """The named variants: scale, mode and distribution are fixed; only the seed is an argument."""

    fixed = (1.0, "fan_avg", "uniform")

    def __init__(self, seed=None):
        super().__init__(*self.fixed, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    fixed = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal (redrawn at 2 stddev), stddev sqrt(2 / (fan_in + fan_out)) after truncation."""
    fixed = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """U(-l, l), l = sqrt(6 / fan_in)."""
    fixed = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal (redrawn at 2 stddev), stddev sqrt(2 / fan_in) after truncation."""
    fixed = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """U(-l, l), l = sqrt(3 / fan_in)."""
    fixed = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal (redrawn at 2 stddev), stddev sqrt(1 / fan_in) after truncation."""
    fixed = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain = _check_number(gain, "gain", "Orthogonal")
        self.seed = seed

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


class Identity(Initializer):
    """gain * I for a 2-D shape (rows, cols): ones on the main diagonal, zeros elsewhere, also when
    rows != cols, as Keras's Identity. The IRNN's recurrent kernel (Le, Jaitly & Hinton, 2015).

    Raises:
        ValueError: for a gain that is not a finite number, or a shape that is not 2-D (when called).
    """

    def __init__(self, gain=1.0):
        self.gain = _check_number(gain, "gain", "Identity")

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError("The Identity initializer makes 2D matrices only. "
                             f"Received: shape={shape} of rank {len(shape)}")
        return (self.gain * np.eye(*shape)).astype(dtype or backend.floatx())

    def get_config(self):
        return {"gain": self.gain}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "random_normal": RandomNormal, "normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
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
