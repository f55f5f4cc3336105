"""How fit, evaluate and predict read their data, one batch at a time (Keras 2's data adapters).

Three kinds of source give batches `(x, y, sample_weight)`:
- arrays in memory (`ArraySource`): batches of `batch_size`, reshuffled each pass; with
  `steps_per_epoch` the passes form one stream that epochs take their steps from (tf_keras's
  TensorLikeDataAdapter never recreates its iterator);
- an iterator or a re-iterable (`IterSource`): an iterator (a generator) is consumed across epochs;
  a re-iterable is read afresh each epoch unless `steps_per_epoch` cuts it short;
- a keras.utils.Sequence / PyDataset (`IndexedSource`): batch i is data[i], the order shuffled each
  epoch when fit shuffles (Keras 2's KerasSequenceAdapter), `on_epoch_end` after each epoch.
Nothing is read ahead. Class weights become sample weights as tf_keras's `_make_class_weight_map_fn`.
"""

import math

import numpy as np

from rnnkit import backend


def check_count(value, argument, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "a non-negative" if low == 0 else "a positive"
        raise ValueError(f"Argument `{argument}` must be {kind} int. Received: {value!r}")
    return int(value)


def is_batch_source(x, y):
    """Whether `x` yields whole batches (a generator, an iterable, a Sequence / PyDataset, a list
    of (x, y) tuples) rather than being an array of samples."""
    if x is None or isinstance(x, (np.ndarray, str, bytes, dict, np.generic)):
        return False
    if isinstance(x, (list, tuple)):
        return y is None and len(x) > 0 and all(isinstance(item, tuple) for item in x)
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def _is_indexed(data):
    return (not isinstance(data, (list, tuple)) and hasattr(data, "__getitem__") and hasattr(data, "__len__")
            and not hasattr(data, "__next__"))


def unpack(item, argument, need_y=True):
    """(x, y, sample_weight) from one batch: a tuple (x,), (x, y) or (x, y, sample_weight), or
    a bare x where no target is needed."""
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 3 and not (
            isinstance(item, list) and item and not isinstance(item[0], (np.ndarray, list, tuple))):
        x, y, sw = (tuple(item) + (None, None))[:3]
    elif not need_y and isinstance(item, np.ndarray):
        x, y, sw = item, None, None
    else:
        raise ValueError(f"Each batch of `{argument}` must be a tuple (x, y) or (x, y, sample_weight). "
                         f"Received: a {type(item).__name__}"
                         + (f" of {len(item)} items" if isinstance(item, (tuple, list)) else ""))
    if need_y and y is None:
        raise ValueError(f"Each batch of `{argument}` must hold targets: (x, y) or (x, y, sample_weight). "
                         "Received: a batch without y")
    return x, y, sw


class ArraySource:
    """Batches of arrays already in memory. With `steps_per_epoch` the batches form one endless
    stream (reshuffled at each pass) that epochs take their steps from."""

    def __init__(self, arrays, batch_size, shuffle, continuous):
        self.arrays, self.batch_size, self.shuffle = arrays, batch_size, shuffle
        self.rng = None     # the generator of the shuffles; None: backend.rng() (data-parallel ranks share one)
        self.n = len(arrays[0])
        self.steps = math.ceil(self.n / batch_size)
        self._stream = self._forever() if continuous else None

    def _one_pass(self):
        order = (self.rng or backend.rng()).permutation(self.n) if self.shuffle else None
        for step in range(self.steps):
            if order is None:
                index = slice(step * self.batch_size, (step + 1) * self.batch_size)
            else:
                index = order[step * self.batch_size:(step + 1) * self.batch_size]
            yield tuple(None if a is None else a[index] for a in self.arrays)

    def _forever(self):
        while True:
            yield from self._one_pass()

    def epoch(self):
        return self._stream if self._stream is not None else self._one_pass()

    def on_epoch_end(self):
        pass


class IterSource:
    """Batches from an iterator (consumed once, across epochs) or a re-iterable (a fresh pass
    each epoch, unless `steps_per_epoch` cuts it short: then, as Keras 2, it goes on where the
    last epoch stopped). Nothing is read ahead: one batch at a time."""

    def __init__(self, data, steps_per_epoch):
        self.data = data
        try:
            self.steps = len(data)
        except TypeError:
            self.steps = None
        self.fresh = not hasattr(data, "__next__") and (steps_per_epoch is None or steps_per_epoch == self.steps)
        self._iterator = None

    def epoch(self):
        if self.fresh:
            return iter(self.data)
        if self._iterator is None:
            self._iterator = iter(self.data)
        return self._iterator

    def on_epoch_end(self):
        pass


class IndexedSource:
    """A keras.utils.Sequence / PyDataset: batch i is data[i]; the order of batches is
    shuffled each epoch when `shuffle` (Keras 2's KerasSequenceAdapter); on_epoch_end after each."""

    def __init__(self, data, shuffle):
        self.data, self.shuffle = data, shuffle
        self.rng = None     # as ArraySource's
        self.steps = len(data)

    def epoch(self):
        count = len(self.data)
        order = (self.rng or backend.rng()).permutation(count) if self.shuffle else range(count)
        return (self.data[int(i)] for i in order)

    def on_epoch_end(self):
        hook = getattr(self.data, "on_epoch_end", None)
        if callable(hook):
            hook()


def source_of(data, argument, shuffle, steps_per_epoch):
    if _is_indexed(data):
        return IndexedSource(data, shuffle)
    if not (hasattr(data, "__iter__") or hasattr(data, "__next__")):
        raise TypeError(f"Argument `{argument}` must be arrays, a generator, an iterable of batches or a "
                        f"keras.utils.Sequence. Received: {type(data).__name__}")
    return IterSource(data, steps_per_epoch)


def check_steps(value, argument):
    if value is None:
        return None
    return check_count(value, argument, 1)


RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
            "generate at least `steps_per_epoch * epochs` batches. You may need to use the `.repeat()` "
            "function when building your dataset.")


def check_class_weight(class_weight):
    """Keras's rule: a dict whose keys are exactly the classes 0 .. K-1; values finite numbers."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(f"Argument `class_weight` must be a dict {{class index: weight}}. Received: {class_weight!r}")
    try:
        keys = sorted(int(k) for k in class_weight)
        ok = all(int(k) == k and not isinstance(k, bool) for k in class_weight)
    except (TypeError, ValueError):
        ok = False
    if not ok or keys != list(range(len(keys))):
        raise ValueError("Expected argument `class_weight` to be a dict with keys from 0 to one less than the number "
                         f"of classes. Received: keys {sorted(map(repr, class_weight))}")
    table = np.zeros(len(keys), np.float64)
    for key, value in class_weight.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise ValueError(f"Argument `class_weight` must map classes to finite numbers. Received: {key!r}: {value!r}")
        table[int(key)] = value
    return table


def class_sample_weights(table, y, argument="y"):
    """Keras 2's conversion: s_i = class_weight[class of y_i], the class being the argmax of a
    one-hot row (rank 2, more than one column) else the label cast to int (tf.cast truncates)."""
    y = np.asarray(y)
    if y.ndim > 2:
        raise ValueError(f"Argument `class_weight` is not supported for 3+ dimensional targets. "
                         f"Received: `{argument}` of shape {y.shape}")
    if y.ndim == 2 and y.shape[1] > 1:
        classes = np.argmax(y, axis=1)
    else:
        classes = y.reshape(-1).astype(np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= len(table)):
        raise ValueError(f"Argument `class_weight` has weights for classes 0 to {len(table) - 1}, but `{argument}` "
                         f"holds class {classes.max() if classes.max() >= len(table) else classes.min()}. "
                         f"Received: class_weight for {len(table)} classes")
    return table[classes]
