"""Keras-named weight regularizers: a penalty added to the training loss and its gradient.

    L1(l1):        penalty = l1 sum |w|               gradient = l1 sign(w)       (0 at w = 0, as TensorFlow)
    L2(l2):        penalty = l2 sum w^2               gradient = 2 l2 w
    L1L2(l1, l2):  both terms
On a weight, the penalty is taken on the pre-update value each step; as an activity regularizer it
is taken on the layer's output and divided by the batch size (tf_keras's rule, fixtures/README.md).
The string forms "l1", "l2", "l1_l2" use Keras's default factor 0.01.
"""

import numpy as np

from rnnkit import named_objects


def _factor(value, argument):
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not np.isfinite(value) or value < 0):
        raise ValueError(f"Argument `{argument}` must be a non-negative number. Received: {value!r}")
    return float(value)


class Regularizer:
    """Base class: `regularizer(w)` is the penalty (a float), `gradient(w)` its derivative."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(w).sum())
        if self.l2:
            penalty += self.l2 * float(np.square(w).sum())
        return penalty

    def gradient(self, w):
        grad = np.zeros_like(w)
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2.0 * self.l2) * w
        return grad

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class L1(Regularizer):
    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1")

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2")

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


l1, l2 = L1, L2     # Keras's lowercase aliases: keras.regularizers.l2(0.01)


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
_BY_CLASS = {"L1": L1, "L2": L2, "L1L2": L1L2, "L1L2Regularizer": L1L2}


def get(identifier, argument="regularizer"):
    """None, a Regularizer, a name ("l1", "l2", "l1_l2") or Keras's config dict -> Regularizer or None.

    Raises:
        ValueError: for an unknown name or class (a custom regularizer cannot come from a file).
        TypeError: for anything else.
    """
    return named_objects.resolve(identifier, argument, Regularizer, _BY_NAME, _BY_CLASS)


serialize = named_objects.serialize  # Keras 2's config form, or None
