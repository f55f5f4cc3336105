"""What Sequential does with data: predict now; compile, fit and evaluate build on it."""

import numpy as np


class TrainingMixin:
    """Batching and running; mixed into Sequential."""

    def __init__(self):
        pass

    def predict(self, x, batch_size=32, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` batch by batch and returns the stacked outputs.

        Args:
            x: array of shape (samples, ...) matching the model's input.
            batch_size: samples per batch (positive int).
            verbose: 0 silent; 1 or "auto" prints a progress bar... kept silent when not a terminal.

        Returns:
            An array (or a list of arrays for multi-output last layers).
        """
        x = self._prepare_input(x)
        batch_size = _check_batch_size(batch_size)
        outputs = [self._forward(x[start:start + batch_size])
                   for start in range(0, len(x), batch_size)]
        if not outputs:
            raise ValueError(f"Argument `x` must hold at least one sample. Received: shape {x.shape}")
        if isinstance(outputs[0], list):
            return [np.concatenate([out[i] for out in outputs]) for i in range(len(outputs[0]))]
        return np.concatenate(outputs)

    def predict_on_batch(self, x):
        """Runs the model on a single batch."""
        return self._forward(self._prepare_input(x))


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"Argument `batch_size` must be a positive int. Received: {batch_size!r}")
    return int(batch_size)
