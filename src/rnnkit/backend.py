"""Process-wide state: float type, random generator, automatic-name counters."""

import collections
import contextlib
import re
import threading

import numpy as np

_FLOATX = "float32"
_NAME_COUNTERS = collections.defaultdict(int)
_RNG = np.random.default_rng()
_THREAD = threading.local()


def floatx():
    """Returns the default float type as a string, `'float32'` unless set."""
    return _FLOATX


def set_floatx(value):
    """Sets the default float type: `'float32'` or `'float64'`.

    Raises:
        ValueError: for any other value.
    """
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(
            f"Argument `value` of set_floatx must be 'float32' or 'float64'. Received: {value!r}")
    _FLOATX = value


def rng():
    """The generator every initializer, shuffle and dropout mask draws from."""
    return _RNG


def set_random_seed(seed):
    """Makes initialisation, shuffling and dropout reproducible.

    Args:
        seed: a non-negative int.

    Raises:
        TypeError: if `seed` is not an int.
    """
    global _RNG
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"Argument `seed` must be a non-negative int. Received: {seed!r}")
    _RNG = np.random.default_rng(int(seed))
    # NumPy's legacy global generator too, as Keras's set_random_seed does.
    np.random.seed(int(seed) % 2**32)


def to_snake_case(name):
    """`SimpleRNN` -> `simple_rnn`, `TimeDistributed` -> `time_distributed`, `ConvLSTM2D` ->
    `conv_lstm2d` (Keras's rule, both versions: a capital starts a word only before lowercase letters)."""
    intermediate = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return snake if snake[0] != "_" else "private" + snake


def unique_name(prefix, zero_based=True):
    """Keras 2's automatic names: `prefix`, `prefix_1`, ... (or `prefix_1`, `prefix_2`, ...
    when not zero based, as for `input_1`)."""
    count = _NAME_COUNTERS[prefix]
    _NAME_COUNTERS[prefix] += 1
    if zero_based:
        return prefix if count == 0 else f"{prefix}_{count}"
    return f"{prefix}_{count + 1}"


def clear_session():
    """Resets the automatic-name counters, as `tf.keras.backend.clear_session()` does."""
    _NAME_COUNTERS.clear()


@contextlib.contextmanager
def placeholder_weights():
    """Inside this block (in this thread), layers build with zero placeholders instead of drawing
    initial weights: the loaders replace every array with the file's next, and drawing them first
    cost seconds for a large config that the file then turned out not to fit."""
    previous = getattr(_THREAD, "placeholders", False)
    _THREAD.placeholders = True
    try:
        yield
    finally:
        _THREAD.placeholders = previous


def building_placeholders():
    """True inside `placeholder_weights()` in this thread."""
    return getattr(_THREAD, "placeholders", False)


def get_value(x):
    """The value of `x` as NumPy holds it, as `keras.backend.get_value` (Keras 2): an array is
    copied (the caller may change it freely), a plain number such as `optimizer.lr` comes back as is.
    """
    if isinstance(x, np.ndarray):
        return x.copy()
    if hasattr(x, "numpy"):
        return x.numpy()
    return x


def batch_get_value(tensors):
    """`[get_value(x) for x in tensors]`, as Keras 2."""
    return [get_value(x) for x in tensors]


def set_value(x, value):
    """Writes `value` into `x` in place, as `keras.backend.set_value` (Keras 2): an array keeps its
    shape and dtype; an object with `assign` is assigned (`set_value(model.optimizer.lr, v)` sets
    the learning rate: `optimizer.lr` is an `optimizers.LearningRate`).

    Raises:
        ValueError: when `value` does not have the array's shape, or is no valid learning rate.
        TypeError: for anything that cannot be written in place (a plain number, say).
    """
    if isinstance(x, np.ndarray):
        value = np.asarray(value)
        if value.shape != x.shape:
            raise ValueError(f"Argument `value` of set_value must have the shape of `x`, {x.shape}. "
                             f"Received: shape {value.shape}")
        x[...] = value
    elif hasattr(x, "assign"):
        x.assign(value)
    else:
        raise TypeError("Argument `x` of set_value must be an array or a variable (something with "
                        "`assign`, as `model.optimizer.lr`) to write into; a plain number cannot be "
                        f"written in place. Received: {x!r:.60} of type {type(x).__name__}")


def batch_set_value(tuples):
    """`set_value(x, value)` for each `(x, value)` pair, as Keras 2; all checked before any is written."""
    pairs = list(tuples)
    for x, value in pairs:
        if not (isinstance(x, np.ndarray) or hasattr(x, "assign")):
            set_value(x, value)     # raises its TypeError before anything is written
        if isinstance(x, np.ndarray) and np.shape(value) != x.shape:
            set_value(x, value)     # raises its ValueError before anything is written
        if hasattr(x, "check_assign"):
            x.check_assign(value)   # a learning rate's checks, before anything is written
    for x, value in pairs:
        set_value(x, value)


def int_shape(x):
    """The shape of `x` as a tuple of ints, None where unknown (`K.int_shape(layer.output)` gives
    `(None, 6, 10)`), as Keras 2; None for something without a shape."""
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(shape)


def ndim(x):
    """The number of axes of `x`, batch included, as Keras 2."""
    shape = int_shape(x)
    if shape is None:
        raise TypeError(f"Argument `x` of ndim must be an array or a symbolic tensor. Received: {x!r:.60}")
    return len(shape)


def count_params(x):
    """The number of entries in a weight array, as Keras 2 (`K.count_params(layer.get_weights()[0])`)."""
    shape = int_shape(x)
    if shape is None or any(d is None for d in shape):
        raise ValueError("Argument `x` of count_params must be an array with a fully known shape. "
                         f"Received: {x!r:.60}")
    return int(np.prod(shape, dtype=np.int64))


def eval(x):  # noqa: A001  (Keras 2's name, `K.eval`)
    """The value of an array or variable, as `K.eval` in Keras 2: `get_value`."""
    return get_value(x)


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """Keras 2's `K.function(inputs, outputs)`: a callable from input arrays to output arrays, the
    idiom tutorials use for a layer's activations, e.g.
    `K.function([model.input], [model.layers[1].output])([x])[0]`. As in tf.keras 2 it builds
    `Model(inputs, outputs)` and runs it in inference mode; a list of outputs gives a list of
    arrays (also a list of one), a single output an array.

    Raises:
        ValueError: for `updates` or session keyword arguments (TensorFlow 1 graph features that
            Keras 2 refuses in eager mode too), or for inputs/outputs that make no model.
    """
    if kwargs:
        raise ValueError("K.function takes no session keyword arguments (TensorFlow 1 only). "
                         f"Received: {sorted(kwargs)}")
    if updates:
        raise ValueError("Argument `updates` of K.function is a TensorFlow 1 graph feature that rnnkit "
                         f"(like Keras 2 in eager mode) does not support. Received: {updates!r:.60}")
    from rnnkit.models.functional import Model  # lazy: `import rnnkit` stays cheap

    model = Model(inputs=inputs, outputs=outputs, name=name)
    outputs_as_list = isinstance(outputs, (list, tuple))

    def run(model_inputs):
        values = model(model_inputs)
        if not outputs_as_list:
            return values
        return list(values) if isinstance(values, (list, tuple)) else [values]

    return run
