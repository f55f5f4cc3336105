"""Keras-named metrics: per-sample values that fit averages over every sample seen.

'accuracy' (or 'acc') becomes binary, categorical or sparse categorical accuracy from the loss,
and from the shapes where the loss does not tell (as Keras 2 does: one output unit -> binary,
targets of lower rank or last dim 1 against several units -> sparse, else categorical).
"""

import numpy as np

from rnnkit import losses as losses_module


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return np.mean(np.asarray(y_true) == (np.asarray(y_pred) > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float64)


def mean_squared_error(y_true, y_pred):
    return np.mean(np.square(np.asarray(y_pred) - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_pred) - y_true), axis=-1)


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}


class Metric:
    """A running mean of a per-sample metric function.

    Args:
        fn: f(y_true, y_pred) -> per-sample values.
        name: the key in logs and History.
    """

    def __init__(self, fn, name):
        self.fn, self.name = fn, name
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self.fn(y_true, y_pred), dtype=np.float64)
        if sample_weight is not None and np.shape(sample_weight) == values.shape:
            self.total += float(np.sum(values * sample_weight))
            self.count += float(np.sum(sample_weight))
        else:
            self.total += float(values.sum())
            self.count += values.size

    def result(self):
        return self.total / self.count if self.count else 0.0


def _accuracy_for(loss, y_shape, pred_shape):
    if isinstance(loss, losses_module.BinaryCrossentropy):
        return binary_accuracy
    if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
        return sparse_categorical_accuracy
    if isinstance(loss, losses_module.CategoricalCrossentropy):
        return categorical_accuracy
    if pred_shape[-1] == 1:
        return binary_accuracy
    if len(y_shape) < len(pred_shape) or y_shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier, loss=None, y_shape=None, pred_shape=None):
    """A Metric from a name ('accuracy' resolved from the loss and shapes) or a function.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is neither a name nor a callable.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return Metric(_accuracy_for(loss, y_shape, pred_shape), identifier)
        if identifier in _FUNCTIONS:
            return Metric(_FUNCTIONS[identifier], identifier)
        raise ValueError(
            f"Argument `metrics` holds an unknown metric. Known: {sorted(_FUNCTIONS) + ['accuracy', 'acc']}. "
            f"Received: {identifier!r}")
    if callable(identifier):
        return Metric(identifier, getattr(identifier, "__name__", "metric"))
    raise TypeError(f"Argument `metrics` must hold names or functions. Received: {identifier!r}")


def check_names(identifiers):
    """Validates metric identifiers at compile time, before shapes are known."""
    for identifier in identifiers:
        if isinstance(identifier, str) and identifier not in _FUNCTIONS and identifier not in ("accuracy", "acc"):
            get(identifier)
        elif not isinstance(identifier, (str, Metric)) and not callable(identifier):
            get(identifier)
