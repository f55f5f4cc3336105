"""Keras-named weight constraints: a projection applied to a weight after each optimizer update
(never at initialisation or loading). Norms run over `axis` (default 0: per output column),
eps = 1e-7, as tf_keras:

    MaxNorm(max_value=2, axis=0):     n = ||w||_axis;  w * clip(n, 0, max_value) / (eps + n)
    MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0):
                                      w * (rate clip(n, min, max) + (1 - rate) n) / (eps + n)
    NonNeg():                         w * (w >= 0)
    UnitNorm(axis=0):                 w / (eps + n)
"""

import numpy as np

from rnnkit import named_objects

EPSILON = 1e-7


def _axis(axis, argument="axis"):
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in items):
        raise TypeError(f"Argument `{argument}` must be an int or a list of ints. Received: {axis!r}")
    return int(items[0]) if not isinstance(axis, (list, tuple)) else [int(a) for a in items]


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=True))


class Constraint:
    """Base class: `constraint(w)` returns the projected weight (a new array)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = float(max_value), _axis(axis)

    def __call__(self, w):
        n = _norms(w, self.axis)
        return (w * (np.clip(n, 0, self.max_value) / (EPSILON + n))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), _axis(axis)

    def __call__(self, w):
        n = _norms(w, self.axis)
        desired = self.rate * np.clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return (w * (desired / (EPSILON + n))).astype(w.dtype)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype)

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm   # Keras's aliases

_BY_NAME = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}
_BY_CLASS = {"MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm}


def get(identifier, argument="constraint"):
    """None, a Constraint, a name or Keras's config dict -> Constraint or None.

    Raises:
        ValueError: for an unknown name or class (a custom constraint cannot come from a file).
        TypeError: for anything else.
    """
    return named_objects.resolve(identifier, argument, Constraint, _BY_NAME, _BY_CLASS)


serialize = named_objects.serialize  # Keras 2's config form, or None
