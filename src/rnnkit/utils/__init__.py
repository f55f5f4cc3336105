"""Utilities: reproducibility, one-hot targets, gradient checking, datasets and plots of training."""

import numpy as np

from rnnkit.backend import set_random_seed
from rnnkit.utils.data import (PyDataset, Sequence, text_dataset_from_directory,
                               timeseries_dataset_from_array)
from rnnkit.utils.gradient_check import gradient_check_error, numerical_gradient
from rnnkit.utils.plot_model import plot_model
from rnnkit.utils.plotting import plot_history


def to_categorical(y, num_classes=None, dtype="float32"):
    """Class indices -> one-hot rows, as Keras does (a trailing axis of size 1 is dropped first).

    Raises:
        ValueError: for negative indices or indices >= num_classes.
    """
    y = np.array(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.ravel()
    if y.size and y.min() < 0:
        raise ValueError(f"Argument `y` must hold non-negative class indices. Received: a minimum of {y.min()}")
    if not num_classes:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(f"Argument `y` holds class {y.max()} but num_classes={num_classes}. "
                         f"Received: values up to {y.max()}")
    categorical = np.zeros((y.size, num_classes), dtype=dtype)
    categorical[np.arange(y.size), y] = 1
    return categorical.reshape(shape + (num_classes,))


__all__ = ["set_random_seed", "to_categorical", "gradient_check_error", "numerical_gradient", "Sequence",
           "PyDataset", "timeseries_dataset_from_array", "text_dataset_from_directory", "plot_history",
           "plot_model"]
