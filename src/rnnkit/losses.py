"""Keras-named losses, each with its hand-derived gradient with respect to the prediction.

Reduction is Keras's default, sum over batch size: the per-sample losses (over every axis but
the last, which the loss itself reduces) are averaged. With N = the number of per-sample values:

    mse:  L = mean((p - t)^2)                         dL/dp = 2 (p - t) / (N C)
    mae:  L = mean(|p - t|)                           dL/dp = sign(p - t) / (N C)
    huber (delta d, e = p - t): l = mean(e^2 / 2 where |e| <= d, else d |e| - d^2 / 2)
                                                      dL/dp = clip(e, -d, d) / (N C)
    mape: l = 100 mean(|p - t| / max(|t|, e))         dL/dp = 100 sign(p - t) / max(|t|, e) / (N C)
    msle: l = mean((log(max(p, e) + 1) - log(max(t, e) + 1))^2)
                                  dL/dp = 2 (log(max(p, e) + 1) - log(max(t, e) + 1)) / (p + 1) / (N C)
                                          where p >= e, else 0 (TensorFlow's gradient of maximum)
    logcosh: l = mean(x + softplus(-2 x) - log 2), x = p - t (= log cosh x, without overflow)
                                                      dL/dp = tanh(x) / (N C)
    binary_crossentropy, probabilities (Keras clips p to [e, 1 - e], e = 1e-7):
          l = -(t log(p + e) + (1 - t) log(1 - p + e))
          dL/dp = -(t / (p + e) - (1 - t) / (1 - p + e)) / (N C)   (0 where clipped)
      from logits z:  l = max(z, 0) - z t + log(1 + exp(-|z|))     dL/dz = (sigmoid(z) - t) / (N C)
    categorical_crossentropy, probabilities:  q = clip(p / sum p, e, 1 - e), l = -sum t log q
          dL/dq = -t / q / N (0 where clipped);  dL/dp = (dL/dq - sum(dL/dq p) / s) / s, s = sum p
      from logits z:  l = -sum t log softmax(z)                     dL/dz = (softmax(z) sum t - t) / N
    sparse_categorical_crossentropy, probabilities: a = log clip(p, e, 1 - e),
          l = -a_y + logsumexp(a)   (TensorFlow's softmax-with-logits on log p)
          dL/da = softmax(a) - onehot(y);  dL/dp = dL/da / clip(p) / N (0 where clipped)
      from logits z:  l = -log softmax(z)_y                         dL/dz = (softmax(z) - onehot(y)) / N
"""

import numpy as np

EPSILON = 1e-7


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


class Loss:
    """Base class. Subclasses define `per_sample(y_true, y_pred)` and `gradient(y_true, y_pred)`.

    Args:
        from_logits: whether predictions are logits rather than probabilities (crossentropies).
        name: the loss's name.
    """

    name = "loss"

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("auto", "sum_over_batch_size"):
            raise ValueError(
                f"Argument `reduction` must be 'sum_over_batch_size' (or 'auto'). Received: {reduction!r}")
        self.from_logits = bool(from_logits)
        if name is not None:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The scalar loss: sum(s_i l_i) / (number of per-sample values), Keras's
        sum_over_batch_size reduction (the plain mean without sample weights).

        Raises:
            ValueError: for sample weights that do not fit the per-sample values.
        """
        y_pred = np.asarray(y_pred)
        y_true = self.check_targets(y_true, y_pred.shape)
        values = self.per_sample(y_true, y_pred)
        if sample_weight is None:
            return float(np.mean(values))
        sw = np.asarray(sample_weight, np.float64)
        if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
            sw = sw[..., 0]
        sw = sw.reshape(sw.shape + (1,) * (values.ndim - sw.ndim)) if sw.ndim < values.ndim else sw
        try:
            weighted = values * np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(f"Argument `sample_weight` of shape {np.shape(sample_weight)} does not fit the "
                             f"per-sample losses of shape {values.shape}. Received: shape {np.shape(sample_weight)}") \
                from None
        return float(np.sum(weighted) / max(values.size, 1))

    def check_targets(self, y_true, pred_shape, argument="y"):
        """Returns y_true as an array fit for predictions of `pred_shape`, or raises ValueError."""
        y_true = np.asarray(y_true)
        if y_true.dtype.kind not in "biufc":
            raise TypeError(f"Argument `{argument}` must be numeric. Received: dtype {y_true.dtype}")
        if y_true.shape != tuple(pred_shape):
            if y_true.ndim == len(pred_shape) - 1 and y_true.shape == tuple(pred_shape[:-1]) and pred_shape[-1] == 1:
                y_true = y_true[..., None]
            else:
                raise ValueError(
                    f"Argument `{argument}` must have the model's output shape {tuple(pred_shape)} "
                    f"for loss '{self.name}'. Received: shape {y_true.shape}")
        return y_true

    def per_sample_and_gradient(self, y_true, y_pred):
        """Both at once; subclasses share the work where they can (one pass for MSE)."""
        return self.per_sample(y_true, y_pred), self.gradient(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


def _sample_count(pred):
    return pred.size // pred.shape[-1]


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def per_sample(self, y_true, y_pred):
        return np.mean(np.square(y_pred - y_true), axis=-1)

    def gradient(self, y_true, y_pred):
        return (2.0 / y_pred.size) * (y_pred - y_true)

    def per_sample_and_gradient(self, y_true, y_pred):
        diff = np.subtract(y_pred, y_true, dtype=y_pred.dtype)
        per_sample = np.einsum("...i,...i->...", diff, diff) / diff.shape[-1]
        diff *= 2.0 / y_pred.size
        return per_sample, diff


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        return np.mean(np.abs(y_pred - y_true), axis=-1)

    def gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true) / y_pred.size


class Huber(Loss):
    """Keras's Huber loss: quadratic for errors up to `delta`, linear beyond."""

    name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None, from_logits=False):
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"Argument `delta` must be a positive number. Received: {delta!r}")
        super().__init__(from_logits=False, name=name, reduction=reduction)
        self.delta = float(delta)

    def per_sample(self, y_true, y_pred):
        error = np.abs(y_pred - y_true)
        quadratic = np.minimum(error, self.delta)
        return np.mean(0.5 * quadratic ** 2 + self.delta * (error - quadratic), axis=-1)

    def gradient(self, y_true, y_pred):
        return np.clip(y_pred - y_true, -self.delta, self.delta) / y_pred.size

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


class MeanAbsolutePercentageError(Loss):
    """Keras's MAPE: 100 |p - t| / max(|t|, 1e-7), averaged over the last axis."""

    name = "mean_absolute_percentage_error"

    def per_sample(self, y_true, y_pred):
        return 100.0 * np.mean(np.abs(y_pred - y_true) / np.maximum(np.abs(y_true), EPSILON), axis=-1)

    def gradient(self, y_true, y_pred):
        grad = 100.0 * np.sign(y_pred - y_true) / np.maximum(np.abs(y_true), EPSILON) / y_pred.size
        return grad.astype(y_pred.dtype, copy=False)


class MeanSquaredLogarithmicError(Loss):
    """Keras's MSLE: (log(max(p, 1e-7) + 1) - log(max(t, 1e-7) + 1))^2, averaged over the last axis."""

    name = "mean_squared_logarithmic_error"

    @staticmethod
    def _log_gap(y_true, y_pred):
        return np.log1p(np.maximum(y_pred, EPSILON)) - np.log1p(np.maximum(y_true, EPSILON))

    def per_sample(self, y_true, y_pred):
        return np.mean(np.square(self._log_gap(y_true, y_pred)), axis=-1)

    def gradient(self, y_true, y_pred):
        inside = y_pred >= EPSILON
        grad = 2.0 * self._log_gap(y_true, y_pred) / (np.maximum(y_pred, EPSILON) + 1.0) * inside / y_pred.size
        return grad.astype(y_pred.dtype, copy=False)


class LogCosh(Loss):
    """Keras's log-cosh: log(cosh(p - t)), averaged over the last axis (about e^2 / 2 for small
    errors e, |e| - log 2 for large ones)."""

    name = "log_cosh"

    def per_sample(self, y_true, y_pred):
        x = y_pred - y_true
        return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)

    def gradient(self, y_true, y_pred):
        return (np.tanh(y_pred - y_true) / y_pred.size).astype(y_pred.dtype, copy=False)


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            elementwise = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
            elementwise = -(y_true * np.log(p + EPSILON) + (1.0 - y_true) * np.log(1.0 - p + EPSILON))
        return np.mean(elementwise, axis=-1)

    def gradient(self, y_true, y_pred):
        if self.from_logits:
            return (_sigmoid(y_pred) - y_true) / y_pred.size
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
        grad = -(y_true / (p + EPSILON) - (1.0 - y_true) / (1.0 - p + EPSILON))
        return (grad * inside / y_pred.size).astype(y_pred.dtype, copy=False)


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"

    def check_targets(self, y_true, pred_shape, argument="y"):
        y_true = np.asarray(y_true)
        if y_true.shape != tuple(pred_shape) and y_true.shape == tuple(pred_shape[:-1]):
            raise ValueError(
                f"Argument `{argument}` holds class indices, but loss 'categorical_crossentropy' "
                f"expects one-hot targets of shape {tuple(pred_shape)}; use "
                f"'sparse_categorical_crossentropy' or to_categorical(y). Received: shape {y_true.shape}")
        return super().check_targets(y_true, pred_shape, argument)

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            return -np.sum(y_true * _log_softmax(y_pred), axis=-1)
        q = np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return -np.sum(y_true * np.log(q), axis=-1)

    def gradient(self, y_true, y_pred):
        n = _sample_count(y_pred)
        if self.from_logits:
            return (_softmax(y_pred) * y_true.sum(axis=-1, keepdims=True) - y_true) / n
        s = y_pred.sum(axis=-1, keepdims=True)
        normalized = y_pred / s
        inside = (normalized >= EPSILON) & (normalized <= 1.0 - EPSILON)
        dq = -y_true / np.clip(normalized, EPSILON, 1.0 - EPSILON) * inside / n
        return ((dq - np.sum(dq * normalized, axis=-1, keepdims=True)) / s).astype(y_pred.dtype, copy=False)


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"

    def check_targets(self, y_true, pred_shape, argument="y"):
        y_true = np.asarray(y_true)
        classes = pred_shape[-1]
        if y_true.shape == tuple(pred_shape[:-1]) + (1,) and classes != 1:
            y_true = y_true[..., 0]
        if y_true.shape != tuple(pred_shape[:-1]):
            hint = " It looks one-hot: use 'categorical_crossentropy'." if y_true.shape == tuple(pred_shape) else ""
            raise ValueError(
                f"Argument `{argument}` must hold class indices of shape {tuple(pred_shape[:-1])} for "
                f"loss 'sparse_categorical_crossentropy'.{hint} Received: shape {y_true.shape}")
        if y_true.size and (not np.all(np.isfinite(y_true)) or np.any(y_true != np.round(y_true))):
            raise ValueError(f"Argument `{argument}` must hold integer class indices. Received: non-integer values")
        if y_true.size and (y_true.min() < 0 or y_true.max() >= classes):
            raise ValueError(
                f"Argument `{argument}` holds class indices in [0, {classes}) for a {classes}-class "
                f"output. Received: values from {y_true.min()} to {y_true.max()}")
        return y_true.astype(np.int64)

    def _logits(self, y_pred):
        if self.from_logits:
            return y_pred
        return np.log(np.clip(y_pred, EPSILON, 1.0 - EPSILON))

    def per_sample(self, y_true, y_pred):
        log_probs = _log_softmax(self._logits(y_pred))
        return -np.take_along_axis(log_probs, y_true[..., None], axis=-1)[..., 0]

    def gradient(self, y_true, y_pred):
        n = _sample_count(y_pred)
        grad = _softmax(self._logits(y_pred))
        np.put_along_axis(grad, y_true[..., None],
                          np.take_along_axis(grad, y_true[..., None], axis=-1) - 1.0, axis=-1)
        if not self.from_logits:
            inside = (y_pred >= EPSILON) & (y_pred <= 1.0 - EPSILON)
            grad = grad / np.clip(y_pred, EPSILON, 1.0 - EPSILON) * inside
        return (grad / n).astype(y_pred.dtype, copy=False)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis."""
    return MeanSquaredError().per_sample(np.asarray(y_true), np.asarray(y_pred))


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis."""
    return MeanAbsoluteError().per_sample(np.asarray(y_true), np.asarray(y_pred))


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample binary crossentropy, averaged over the last axis."""
    return BinaryCrossentropy(from_logits).per_sample(np.asarray(y_true), np.asarray(y_pred))


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample crossentropy of one-hot targets."""
    return CategoricalCrossentropy(from_logits).per_sample(np.asarray(y_true), np.asarray(y_pred))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample crossentropy of integer targets."""
    loss = SparseCategoricalCrossentropy(from_logits)
    y_pred = np.asarray(y_pred)
    return loss.per_sample(loss.check_targets(y_true, y_pred.shape), y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss."""
    return Huber(delta).per_sample(np.asarray(y_true), np.asarray(y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample mean absolute percentage error over the last axis."""
    return MeanAbsolutePercentageError().per_sample(np.asarray(y_true), np.asarray(y_pred))


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample mean squared logarithmic error over the last axis."""
    return MeanSquaredLogarithmicError().per_sample(np.asarray(y_true), np.asarray(y_pred))


def log_cosh(y_true, y_pred):
    """Per-sample log-cosh error over the last axis."""
    return LogCosh().per_sample(np.asarray(y_true), np.asarray(y_pred))


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh

_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "mape": MeanAbsolutePercentageError, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "logcosh": LogCosh, "log_cosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_BY_FUNCTION = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError, huber: Huber,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, log_cosh: LogCosh,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}
_BY_CLASS = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    """A Loss from a name, a Keras class name, an instance, or one of this module's functions.

    A custom loss is a `Loss` subclass defining `per_sample` and `gradient` (rnnkit's gradients
    are derived by hand, so a bare function cannot be trained with).

    Raises:
        ValueError: for an unknown name.
        TypeError: for a function without a gradient, or anything else.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"Argument `loss` must be one of {sorted(_BY_NAME)}. Received: {identifier!r}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_CLASS.get(identifier["class_name"]) or _BY_NAME.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Argument `loss` names an unknown loss class. Received: {identifier['class_name']!r}")
        config = dict(identifier.get("config") or {})
        config.pop("fn", None)
        config.pop("reduction", None)
        return cls(**{k: v for k, v in config.items() if k in ("from_logits", "name", "delta")})
    if callable(identifier) and identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    if callable(identifier):
        raise TypeError(
            "Argument `loss` is a function rnnkit has no gradient for. Subclass rnnkit.losses.Loss "
            f"and define per_sample(y_true, y_pred) and gradient(y_true, y_pred). Received: {identifier!r}")
    raise TypeError(f"Argument `loss` must be a name or a Loss. Received: {identifier!r}")
