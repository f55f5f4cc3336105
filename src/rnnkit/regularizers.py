"""Keras-named weight regularizers: a penalty added to the training loss and its gradient.

    L1(l1):        penalty = l1 sum |w|               gradient = l1 sign(w)       (0 at w = 0, as TensorFlow)
    L2(l2):        penalty = l2 sum w^2               gradient = 2 l2 w
    L1L2(l1, l2):  both terms
    OrthogonalRegularizer(factor, mode) (Keras 3), on a 2-D weight w; "rows" (S rows) or the same
    on w^T for "columns":
        n_i = |w_i|,  u_i = w_i / max(n_i, eps)          (eps = 1e-7: Keras's x min(rsqrt(n^2), 1/eps))
        G = U U^T,  penalty = factor / 2 * sum_{i != j} |G_ij| / (S (S - 1) / 2)
      gradient, each line from the one above it in reverse:
        dG_ij = c sign(G_ij) for i != j, 0 on the diagonal,   c = factor / (S (S - 1))
        dU = (dG + dG^T) U = 2 dG U                          (from G = U U^T; dG is symmetric)
        dw_i = (dU_i - u_i (u_i . dU_i)) / n_i   if n_i > eps, else dU_i / eps   (from u_i = w_i / n_i)
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


class OrthogonalRegularizer(Regularizer):
    """Keras 3's penalty on a 2-D weight whose rows (or columns) are not orthogonal: `factor` / 2
    times the mean absolute cosine over pairs of distinct rows (columns); formulas above.

    Args:
        factor: the weight of the penalty (non-negative, default 0.01).
        mode: "rows" or "columns".
    """

    EPSILON = 1e-7      # Keras's backend.epsilon(): the least norm a row is divided by

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"Argument `mode` must be 'rows' or 'columns'. Received: mode={mode!r}")
        self.mode = mode

    def _vectors(self, w):
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer takes 2-D weights (Keras's rule). Received: a weight of shape "
                             f"{w.shape}")
        vectors = w if self.mode == "rows" else w.T
        if vectors.shape[0] < 2:
            raise ValueError(f"OrthogonalRegularizer(mode={self.mode!r}) needs at least two {self.mode} to compare. "
                             f"Received: a weight of shape {w.shape}")
        norms = np.sqrt(np.sum(vectors * vectors, axis=1, keepdims=True))
        return vectors, norms, vectors / np.maximum(norms, self.EPSILON)

    def __call__(self, w):
        vectors, _, unit = self._vectors(w)
        size = vectors.shape[0]
        gram = unit @ unit.T
        off_diagonal = np.abs(gram).sum() - np.abs(np.diag(gram)).sum()
        return self.factor * 0.5 * float(off_diagonal) / (size * (size - 1) / 2.0)

    def gradient(self, w):
        vectors, norms, unit = self._vectors(w)
        size = vectors.shape[0]
        d_gram = np.sign(unit @ unit.T) * (self.factor / (size * (size - 1)))
        np.fill_diagonal(d_gram, 0.0)
        d_unit = 2.0 * d_gram @ unit
        small = norms <= self.EPSILON
        d_vectors = np.where(small, d_unit / self.EPSILON,
                             (d_unit - unit * np.sum(unit * d_unit, axis=1, keepdims=True)) / np.where(small, 1, norms))
        grad = d_vectors if self.mode == "rows" else d_vectors.T
        return grad.astype(np.asarray(w).dtype, copy=False)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


l1, l2 = L1, L2     # Keras's lowercase aliases: keras.regularizers.l2(0.01)
orthogonal_regularizer = OrthogonalRegularizer


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), "orthogonal_regularizer": OrthogonalRegularizer}
_BY_CLASS = {"L1": L1, "L2": L2, "L1L2": L1L2, "L1L2Regularizer": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier, argument="regularizer"):
    """None, a Regularizer, a name ("l1", "l2", "l1_l2", "orthogonal_regularizer") or Keras's config
    dict -> Regularizer or None.

    Raises:
        ValueError: for an unknown name or class (a custom regularizer cannot come from a file).
        TypeError: for anything else.
    """
    return named_objects.resolve(identifier, argument, Regularizer, _BY_NAME, _BY_CLASS)


serialize = named_objects.serialize  # Keras 2's config form, or None
