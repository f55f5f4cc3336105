"""Keras-named metrics: stateful classes (update_state / result / reset_state) and per-sample functions.

A mean metric keeps `total = sum(w_i m_i)` and `count = sum(w_i)` over every value seen (w_i = 1
without sample weights) and reports total / count, as Keras's `Mean` does. Sample weights of lower
rank than the values are expanded on the right and broadcast (Keras's squeeze_or_expand_dimensions).

Confusion metrics (Precision, Recall, AUC) count weighted true/false positives/negatives at
thresholds; a prediction is positive when `y_pred > threshold`; a label is positive when nonzero.
AUC (Keras's defaults): num_thresholds=200 thresholds `[-1e-7, 1/199, 2/199, ..., 198/199, 1 + 1e-7]`;
    ROC:  x = fp / (fp + tn), y = tp / (tp + fn), area = sum (x_i - x_{i+1}) (y_i + y_{i+1}) / 2
    PR:   Davis & Goadrich interpolation between thresholds (Keras's `interpolate_pr_auc`):
          slope = dtp / dp, intercept = tp_{i+1} - slope p_{i+1}, p = tp + fp,
          area = sum slope (dtp + intercept log(p_i / p_{i+1})) / (tp_{i+1} + fn_{i+1})

'accuracy' (or 'acc') becomes binary, categorical or sparse categorical accuracy from the loss,
and from the shapes where the loss does not tell (as Keras 2 does: one output unit -> binary,
targets of lower rank or last dim 1 against several units -> sparse, else categorical). The
name in logs and History is the string given ('acc', 'mae'), a function's name, or a metric
object's name; weighted metrics are named `weighted_<name>`.
"""

import copy
import math

import numpy as np

from rnnkit import losses as losses_module

EPSILON = 1e-7


# ---- per-sample functions ------------------------------------------------------------------------
def _squeeze_labels(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.ndim > 1 and y_true.shape[-1] == 1 and y_pred.shape[-1] != 1:
        y_true = y_true[..., 0]
    return y_true, y_pred


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _squeeze_labels(y_true, y_pred)
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(target, y_pred, k):
    """TensorFlow's in_top_k: the target is in the top k when fewer than k classes score higher
    (ties at the boundary count as in)."""
    target_score = np.take_along_axis(y_pred, target[..., None].astype(np.int64), axis=-1)
    return (np.sum(y_pred > target_score, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = np.asarray(y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _squeeze_labels(y_true, y_pred)
    return _in_top_k(y_true, y_pred, k)


def mean_squared_error(y_true, y_pred):
    return np.mean(np.square(np.asarray(y_pred, np.float64) - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_pred, np.float64) - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true = np.asarray(y_true, np.float64)
    diff = np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON))
    return 100.0 * np.mean(diff, axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return losses_module.binary_crossentropy(y_true, y_pred, from_logits)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return losses_module.categorical_crossentropy(y_true, y_pred, from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return losses_module.sparse_categorical_crossentropy(y_true, y_pred, from_logits)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error


def _weights_like(sample_weight, values, argument="sample_weight"):
    """Keras's squeeze_or_expand_dimensions then broadcast: weights of lower rank gain axes on
    the right; a trailing axis of 1 on rank+1 weights is dropped."""
    w = np.asarray(sample_weight, np.float64)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < values.ndim:
        w = w[..., None]
    try:
        return np.broadcast_to(w, values.shape)
    except ValueError:
        raise ValueError(f"Argument `{argument}` of shape {np.shape(sample_weight)} does not fit values of "
                         f"shape {values.shape}. Received: shape {np.shape(sample_weight)}") from None


# ---- classes -------------------------------------------------------------------------------------
def _snake(name):
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out += "_"
        out += ch.lower()
    return out


class Metric:
    """Base class of stateful metrics: `update_state(...)`, `result()`, `reset_state()`.

    Calling a metric updates it and returns the result, as in Keras. Keras 2's `reset_states()`
    is an alias of `reset_state()`.

    Args:
        name: the key in logs and History (default: the class name in snake_case).
        dtype: kept for Keras compatibility; results are Python floats.
    """

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string. Received: {name!r}")
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype or "float32"
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def reset_states(self):
        """Keras 2's name for `reset_state`."""
        self.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given: sum(w v) / sum(w)."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        values = np.asarray(values, np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        w = np.asarray(sample_weight, np.float64)
        try:
            w = _weights_like(w, values)
        except ValueError:
            # Keras reduces values to the weights' rank when they cannot be broadcast.
            if w.ndim < values.ndim and values.shape[:w.ndim] == w.shape:
                values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
            else:
                raise
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Mean):
    """The (weighted) sum of the values given."""

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """A running mean of a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"Argument `fn` must be a function. Received: {fn!r}")
        self.fn, self._fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(np.asarray(y_true), np.asarray(y_pred), **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _wrapper(fn, default_name, **defaults):
    class Wrapped(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name, dtype, **{**defaults, **kwargs})

        def get_config(self):
            return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}
    return Wrapped


class MeanSquaredError(_wrapper(mean_squared_error, "mean_squared_error")):
    """Mean of (y_pred - y_true)^2."""


class MeanAbsoluteError(_wrapper(mean_absolute_error, "mean_absolute_error")):
    """Mean of |y_pred - y_true|."""


class MeanAbsolutePercentageError(_wrapper(mean_absolute_percentage_error, "mean_absolute_percentage_error")):
    """Mean of 100 |y_true - y_pred| / max(|y_true|, 1e-7)."""


class BinaryAccuracy(_wrapper(binary_accuracy, "binary_accuracy", threshold=0.5)):
    """How often `y_pred > threshold` equals the label. Default threshold 0.5."""


class CategoricalAccuracy(_wrapper(categorical_accuracy, "categorical_accuracy")):
    """How often argmax(y_pred) equals argmax(y_true) (one-hot labels)."""


class SparseCategoricalAccuracy(_wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy")):
    """How often argmax(y_pred) equals the integer label."""


class TopKCategoricalAccuracy(_wrapper(top_k_categorical_accuracy, "top_k_categorical_accuracy", k=5)):
    """How often the one-hot target is among the k highest predictions (k=5)."""


class SparseTopKCategoricalAccuracy(_wrapper(sparse_top_k_categorical_accuracy,
                                             "sparse_top_k_categorical_accuracy", k=5)):
    """How often the integer target is among the k highest predictions (k=5)."""


class BinaryCrossentropy(_wrapper(binary_crossentropy, "binary_crossentropy", from_logits=False)):
    """Mean binary crossentropy."""


class CategoricalCrossentropy(_wrapper(categorical_crossentropy, "categorical_crossentropy", from_logits=False)):
    """Mean categorical crossentropy."""


class SparseCategoricalCrossentropy(_wrapper(sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
                                             from_logits=False)):
    """Mean sparse categorical crossentropy."""


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of (y_pred - y_true)^2 over every element."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
        if y_true.shape != y_pred.shape and y_true.shape == y_pred.shape[:-1]:
            y_true = y_true[..., None]
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self):
        return math.sqrt(super().result())


def _check_thresholds(thresholds, default):
    if thresholds is None:
        return [default], True
    single = isinstance(thresholds, (int, float, np.integer, np.floating)) and not isinstance(thresholds, bool)
    values = [thresholds] if single else list(thresholds)
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) or not 0 <= t <= 1:
            raise ValueError(f"Argument `thresholds` must hold numbers in [0, 1]. Received: {thresholds!r}")
    return [float(t) for t in values], single


def _confusion(y_true, y_pred, thresholds, sample_weight=None, class_id=None, top_k=None):
    """Weighted (tp, fp, tn, fn) per threshold, Keras's update_confusion_matrix_variables."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, np.float64)
    if y_true.shape != y_pred.shape and y_true.shape == y_pred.shape[:-1] and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Arguments `y_true` and `y_pred` must have the same shape. "
                         f"Received: {y_true.shape} and {y_pred.shape}")
    w = np.ones(y_pred.shape) if sample_weight is None else _weights_like(sample_weight, y_pred)
    if top_k is not None:     # tf.math.top_k: exactly k per row, ties to the lower index
        keep = np.zeros(y_pred.shape, bool)
        np.put_along_axis(keep, np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k], True, axis=-1)
        y_pred = np.where(keep, y_pred, -np.inf)
    if class_id is not None:
        y_true, y_pred, w = y_true[..., class_id], y_pred[..., class_id], w[..., class_id]
    labels = y_true.astype(bool).ravel()
    preds, w = y_pred.ravel(), w.ravel()
    above = preds[None, :] > np.asarray(thresholds)[:, None]
    tp = (above & labels).astype(np.float64) @ w
    fp = (above & ~labels).astype(np.float64) @ w
    fn = (~above & labels).astype(np.float64) @ w
    tn = (~above & ~labels).astype(np.float64) @ w
    return tp, fp, tn, fn


def _div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class _ConfusionMetric(Metric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.thresholds, self._single = _check_thresholds(thresholds, 0.5)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"Argument `top_k` must be a positive int. Received: {top_k!r}")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer))):
            raise ValueError(f"Argument `class_id` must be an int. Received: {class_id!r}")
        self.top_k, self.class_id = top_k, class_id
        self.init_thresholds = thresholds
        super().__init__(name, dtype)

    def reset_state(self):
        n = len(self.thresholds)
        self.true_positives, self.false_positives = np.zeros(n), np.zeros(n)
        self.true_negatives, self.false_negatives = np.zeros(n), np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = _confusion(y_true, y_pred, self.thresholds, sample_weight, self.class_id, self.top_k)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _out(self, values):
        return float(values[0]) if self._single else [float(v) for v in values]

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ConfusionMetric):
    """tp / (tp + fp) at `thresholds` (default 0.5); 0 when nothing is predicted positive."""

    def result(self):
        return self._out(_div(self.true_positives, self.true_positives + self.false_positives))


class Recall(_ConfusionMetric):
    """tp / (tp + fn) at `thresholds` (default 0.5); 0 when there is no positive label."""

    def result(self):
        return self._out(_div(self.true_positives, self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at thresholds.

    Args:
        num_thresholds: thresholds to use (> 1), default 200.
        curve: 'ROC' or 'PR'.
        summation_method: 'interpolation' (default), 'minoring' or 'majoring'.
        thresholds: explicit thresholds in [0, 1] (then num_thresholds = len + 2).
        from_logits: predictions are logits (a sigmoid is applied first).

    Raises:
        ValueError: for bad arguments, or predictions outside [0, 1].
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        if curve not in ("ROC", "PR"):
            raise ValueError(f"Argument `curve` must be 'ROC' or 'PR'. Received: {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("Argument `summation_method` must be 'interpolation', 'minoring' or 'majoring'. "
                             f"Received: {summation_method!r}")
        if multi_label or label_weights is not None:
            raise ValueError("Arguments `multi_label` and `label_weights` are not supported by rnnkit. "
                             f"Received: multi_label={multi_label!r}, label_weights={label_weights!r}")
        if thresholds is not None:
            inner, _ = _check_thresholds(thresholds, None)
            num_thresholds = len(inner) + 2
            inner = sorted(inner)
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an int > 1. Received: {num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = int(num_thresholds)
        self.thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve, self.summation_method = curve, summation_method
        self.from_logits = bool(from_logits)
        self._init_thresholds = thresholds
        super().__init__(name, dtype)

    def reset_state(self):
        n = self.num_thresholds
        self.true_positives, self.false_positives = np.zeros(n), np.zeros(n)
        self.true_negatives, self.false_negatives = np.zeros(n), np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, np.float64)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        if y_pred.size and (np.nanmin(y_pred) < 0 or np.nanmax(y_pred) > 1):
            raise ValueError("Argument `y_pred` of AUC must hold probabilities in [0, 1] (or pass "
                             f"from_logits=True). Received: values from {y_pred.min()} to {y_pred.max()}")
        tp, fp, tn, fn = _confusion(y_true, y_pred, self.thresholds, sample_weight)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return float(np.sum(_div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))))

    def result(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._init_thresholds,
                "multi_label": False, "from_logits": self.from_logits}


class FBetaScore(Metric):
    """F-beta per class from thresholded predictions, averaged as asked (Keras's FBetaScore).

    Args:
        average: None (one score per class), 'micro', 'macro' or 'weighted'.
        beta: weight of recall against precision.
        threshold: a prediction above it counts as 1; None: the row's argmax is 1, the rest 0.

    Inputs are 2-D (samples, classes) with one-hot / multi-hot labels.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Argument `average` must be None, 'micro', 'macro' or 'weighted'. "
                             f"Received: {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)) or beta <= 0:
            raise ValueError(f"Argument `beta` must be a positive number. Received: {beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, (int, float, np.integer, np.floating)) or not 0 < threshold <= 1):
            raise ValueError(f"Argument `threshold` must be a number in (0, 1]. Received: {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self._classes = None
        super().__init__(name, dtype)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
        if y_true.ndim != 2 or y_pred.shape != y_true.shape:
            raise ValueError("Arguments `y_true` and `y_pred` of an F-score must be 2-D of one shape "
                             f"(samples, classes). Received: {y_true.shape} and {y_pred.shape}")
        if self.threshold is None:
            y_pred = (y_pred == y_pred.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            y_pred = (y_pred > self.threshold).astype(np.float64)
        w = np.ones((len(y_true), 1)) if sample_weight is None else _weights_like(sample_weight, y_true)
        self.true_positives = self.true_positives + np.sum(y_pred * y_true * w, axis=0)
        self.false_positives = self.false_positives + np.sum(y_pred * (1 - y_true) * w, axis=0)
        self.false_negatives = self.false_negatives + np.sum((1 - y_pred) * y_true * w, axis=0)
        self.intermediate_weights = self.intermediate_weights + np.sum(y_true * w, axis=0)

    def result(self):
        tp, fp, fn = (np.asarray(v, np.float64) for v in (self.true_positives, self.false_positives,
                                                          self.false_negatives))
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        score = (1 + self.beta ** 2) * precision * recall / (self.beta ** 2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = np.asarray(self.intermediate_weights, np.float64)
            score = np.sum(score * _div(weights, weights.sum()))
        elif self.average is not None:
            score = np.mean(score)
        return float(score) if np.ndim(score) == 0 else score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 (beta = 1) per class or averaged; see FBetaScore."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("beta")
        return config


# ---- lookup --------------------------------------------------------------------------------------
_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
_CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, RootMeanSquaredError,
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Precision, Recall, AUC, FBetaScore, F1Score)}
# Keras 3 also resolves these lower-case names to classes.
_CLASS_NAMES = {"auc": AUC, "precision": Precision, "recall": Recall, "f1_score": F1Score,
                "root_mean_squared_error": RootMeanSquaredError}
KNOWN_NAMES = sorted(set(_FUNCTIONS) | set(_CLASSES) | set(_CLASS_NAMES) | {"accuracy", "acc"})


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
    """A Metric from a name ('accuracy' resolved from the loss and shapes), a class name, a config
    dict, a Metric class or instance, or a function f(y_true, y_pred) -> per-sample values.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is neither a name nor a callable.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            if pred_shape is None:
                return MeanMetricWrapper(sparse_categorical_accuracy if loss is None else
                                         _accuracy_for(loss, (1,), (1, 2)), identifier)
            return MeanMetricWrapper(_accuracy_for(loss, y_shape, pred_shape), identifier)
        if identifier in _FUNCTIONS:
            return MeanMetricWrapper(_FUNCTIONS[identifier], identifier)
        cls = _CLASSES.get(identifier) or _CLASS_NAMES.get(identifier)
        if cls is not None:
            return cls()
        raise ValueError(f"Argument `metrics` holds an unknown metric. Known: {KNOWN_NAMES}. "
                         f"Received: {identifier!r}")
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Argument `metrics` names an unknown metric class. Received: {identifier['class_name']!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise TypeError(f"Argument `metrics` must hold names, Metric objects or functions. Received: {identifier!r}")


def fresh_copy(metric):
    """An independent copy of `metric` with its state reset (for one evaluation or one thread)."""
    twin = copy.copy(metric)
    twin.reset_state()
    return twin


def serialize(metric):
    """A metric identifier as plain data: a string where it came from one, else a class config."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, type) and issubclass(metric, Metric):
        metric = metric()
    if isinstance(metric, Metric) and type(metric).__name__ in _CLASSES:
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    name = getattr(metric, "__name__", None)
    if name in _FUNCTIONS:
        return name
    return None


def check_names(identifiers, argument="metrics"):
    """Validates metric identifiers at compile time, before shapes are known."""
    if identifiers is None:
        return []
    if isinstance(identifiers, (str, dict)) or not isinstance(identifiers, (list, tuple)):
        raise TypeError(f"Argument `{argument}` must be a list. Received: {identifiers!r}")
    for identifier in identifiers:
        if isinstance(identifier, str):
            if identifier not in KNOWN_NAMES:
                raise ValueError(f"Argument `{argument}` holds an unknown metric. Known: {KNOWN_NAMES}. "
                                 f"Received: {identifier!r}")
        elif not (isinstance(identifier, Metric) or callable(identifier)
                  or (isinstance(identifier, dict) and "class_name" in identifier)):
            raise TypeError(f"Argument `{argument}` must hold names, Metric objects or functions. "
                            f"Received: {identifier!r}")
    return list(identifiers)
