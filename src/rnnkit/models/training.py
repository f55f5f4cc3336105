"""What Sequential does with data: compile, fit, evaluate, predict and the *_on_batch calls.

A training step is: forward (layers keep caches), the loss and its gradient with respect to the
output, backward through the layers in reverse (each fills `grads`), then one optimizer update of
every trainable weight in place. Nothing is updated when the loss or a gradient is not finite.
"""

import math
import sys

import numpy as np

from rnnkit import backend
from rnnkit import callbacks as callbacks_module
from rnnkit import losses as losses_module
from rnnkit import metrics as metrics_module
from rnnkit import optimizers as optimizers_module


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"Argument `batch_size` must be a positive int. Received: {batch_size!r}")
    return int(batch_size)


def _check_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"Argument `verbose` must be 0, 1, 2 or 'auto'. Received: {verbose!r}")
    return int(verbose)


def _check_finite(array, argument):
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"Argument `{argument}` must hold finite numbers. Received: NaN or inf values")


class TrainingMixin:
    """Compiling, training, evaluating and predicting; mixed into Sequential."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self._metric_ids = []
        self.stop_training = False

    # ---- compile --------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None, jit_compile=None, **kwargs):
        """Configures training.

        Args:
            optimizer: name ('sgd', 'adam', 'rmsprop', 'adagrad') or an Optimizer.
            loss: name ('mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy',
                'sparse_categorical_crossentropy'), a Loss instance or class, or a function of
                `rnnkit.losses`.
            metrics: list of names ('accuracy', 'mae', 'mse', ...) or functions.

        Raises:
            ValueError / TypeError: for unknown names; the model keeps its previous compilation.
        """
        if kwargs:
            raise TypeError(f"Unexpected arguments to compile: {sorted(kwargs)}. Received: {kwargs!r}")
        if loss is None:
            raise ValueError("Argument `loss` is required to train. Received: loss=None")
        if loss_weights is not None or weighted_metrics is not None:
            raise ValueError("Arguments `loss_weights` and `weighted_metrics` are not supported (one output). "
                             f"Received: loss_weights={loss_weights!r}, weighted_metrics={weighted_metrics!r}")
        new_optimizer = optimizers_module.get(optimizer)
        new_loss = losses_module.get(loss)
        metric_ids = list(metrics or [])
        if isinstance(metrics, (str, dict)):
            raise TypeError(f"Argument `metrics` must be a list. Received: {metrics!r}")
        metrics_module.check_names(metric_ids)
        self.optimizer, self.loss, self._metric_ids = new_optimizer, new_loss, metric_ids
        self.compiled_metrics = []

    def get_compile_config(self):
        """What `compile` was given, as plain data (None when never compiled)."""
        if self.loss is None:
            return None
        metric_names = [m if isinstance(m, str) else getattr(m, "__name__", None) for m in self._metric_ids]
        return {"optimizer": {"class_name": type(self.optimizer).__name__, "config": self.optimizer.get_config()},
                "loss": {"class_name": type(self.loss).__name__, "config": self.loss.get_config()},
                "metrics": [m for m in metric_names if isinstance(m, str)]}

    def compile_from_config(self, config):
        self.compile(optimizer=config["optimizer"], loss=config["loss"], metrics=config.get("metrics") or None)

    def _require_compiled(self, call):
        if self.loss is None:
            raise RuntimeError(f"You must compile your model before {call}. Call `model.compile(optimizer, loss)`. "
                               "Received: a model that was never compiled")

    # ---- data checks ----------------------------------------------------------------------------
    def _check_xy(self, x, y):
        """Validated (x, y) for the compiled loss, or an error before anything changes."""
        x = self._prepare_input(x)
        _check_finite(x, "x")
        if y is None:
            raise ValueError("Argument `y` is required to train or evaluate. Received: y=None")
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"Arguments `x` and `y` must have the same number of samples. "
                             f"Received: {len(x)} and {len(y)}")
        if len(x) == 0:
            raise ValueError(f"Argument `x` must hold at least one sample. Received: shape {x.shape}")
        _check_finite(y, "y")
        output_shape = self.output_shape_for(x.shape)
        if isinstance(output_shape, list):
            raise ValueError("Training needs a single-output model; the last layer returns several "
                             f"(return_state or merge_mode=None). Received: output shapes {output_shape}")
        y = self.loss.check_targets(y, output_shape)
        if y.dtype.kind in "fb":
            y = y.astype(backend.floatx() if y.dtype == bool else y.dtype, copy=False)
        return x, y

    def _metrics_for(self, y, output_shape):
        if not self.compiled_metrics and self._metric_ids:
            self.compiled_metrics = [metrics_module.get(m, self.loss, y.shape, output_shape)
                                     for m in self._metric_ids]
        return self.compiled_metrics

    # ---- one batch ------------------------------------------------------------------------------
    def _trainable_pairs(self):
        return [(layer.grads[key], layer.weights[key])
                for layer in self._layers if layer.trainable for key in layer.weights]

    def _drop_caches(self):
        for layer in self._layers:
            for sub in [layer] + list(getattr(layer, "layers", [])):
                sub._cache = None

    def _masked_loss(self, y, output, per_sample=None):
        """The loss and the per-sample weights the output mask implies (None without a mask).

        Keras weights a masked sequence output's per-step losses by mask * total / valid, so the
        loss is the mean over the real steps only.
        """
        if per_sample is None:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected by the caller
                per_sample = self.loss.per_sample(y, output)
        mask = self.output_mask
        if mask is None or np.shape(mask) != per_sample.shape:
            return float(per_sample.sum(dtype=np.float64)) / max(per_sample.size, 1), None
        weights = mask.astype(output.dtype)
        valid = weights.sum()
        weights *= (weights.size / valid) if valid else 0.0
        return float(np.mean(per_sample * weights)), weights

    def _update_metrics(self, metrics, y, output, weights):
        mask = None if weights is None else weights > 0
        for m in metrics:
            m.update_state(y, output, mask)

    def _train_step(self, x, y):
        """Forward, loss, backward, update. Returns (loss, output, weights); no update if not finite."""
        output = self._forward(x, training=True)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected just below
            per_sample, d_output = self.loss.per_sample_and_gradient(y, output)
        loss, weights = self._masked_loss(y, output, per_sample)
        if not math.isfinite(loss):
            self._drop_caches()
            return loss, output, weights
        if weights is not None:
            d_output = d_output * weights[..., None]
        self._backward(d_output)
        pairs = self._trainable_pairs()
        if not all(math.isfinite(g.sum()) for g, _ in pairs):
            return float("nan"), output, weights
        self.optimizer.apply_gradients(pairs)
        return loss, output, weights

    def _logs(self, loss_total, seen, metrics):
        logs = {"loss": loss_total / seen}
        logs.update({m.name: m.result() for m in metrics})
        return logs

    def train_on_batch(self, x, y, return_dict=False, reset_metrics=True):
        """One training step on one batch. Returns the loss before the update (and metrics)."""
        self._require_compiled("training")
        x, y = self._check_xy(x, y)
        metrics = self._metrics_for(y, self.output_shape_for(x.shape))
        if reset_metrics:
            for m in metrics:
                m.reset_state()
        loss, output, weights = self._train_step(x, y)
        self._update_metrics(metrics, y, output, weights)
        return self._result(self._logs(loss, 1, metrics), return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        """The loss (and metrics) on one batch, without training."""
        self._require_compiled("evaluating")
        x, y = self._check_xy(x, y)
        metrics = self._metrics_for(y, self.output_shape_for(x.shape))
        for m in metrics:
            m.reset_state()
        output = self._forward(x)
        loss, weights = self._masked_loss(y, output)
        self._update_metrics(metrics, y, output, weights)
        return self._result(self._logs(loss, 1, metrics), return_dict)

    @staticmethod
    def _result(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ---- whole datasets ---------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            class_weight=None, sample_weight=None, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains for `epochs` epochs of mini-batches and returns a History.

        Args:
            x, y: inputs and targets (same number of samples).
            batch_size: samples per step (default 32).
            epochs: the epoch to stop after (counting from 0 with `initial_epoch`).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, 'auto' = 1.
            callbacks: list of Callback.
            validation_split: fraction of the data, taken from the end before shuffling, to
                validate on after each epoch.
            validation_data: (x_val, y_val), instead of validation_split.
            shuffle: reshuffle the training samples every epoch.
            initial_epoch: the epoch to start from (to resume).

        Raises:
            ValueError / TypeError / RuntimeError: before any weight changes, for bad arguments.
        """
        self._require_compiled("training")
        for name, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                            ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if value is not None:
                raise ValueError(f"Argument `{name}` is not supported by rnnkit. Received: {name}={value!r}")
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Argument `epochs` must be a non-negative int. Received: {epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(f"Argument `initial_epoch` must be a non-negative int. Received: {initial_epoch!r}")
        if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
            raise ValueError(f"Argument `validation_split` must be in [0, 1). Received: {validation_split!r}")
        x, y = self._check_xy(x, y)
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("Argument `validation_data` must be a tuple (x_val, y_val). "
                                 f"Received: {type(validation_data).__name__}")
            x_val, y_val = self._check_xy(*validation_data)
        elif validation_split:
            split_at = int(len(x) * (1.0 - validation_split))
            if split_at == 0 or split_at == len(x):
                raise ValueError(f"Argument `validation_split`={validation_split} leaves no sample on one side "
                                 f"of {len(x)}. Received: validation_split={validation_split!r}")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
        steps = math.ceil(len(x) / batch_size)
        history = callbacks_module.History()
        user_callbacks = list(callbacks or [])
        progbar = [callbacks_module.ProgbarLogger(verbose)] if verbose else []
        callback_list = callbacks_module.CallbackList(
            progbar + user_callbacks + [history], self,
            {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size})
        metrics = self._metrics_for(y, self.output_shape_for(x.shape))
        self.stop_training = False
        logs = {}
        callback_list.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch, {})
            order = backend.rng().permutation(len(x)) if shuffle else np.arange(len(x))
            for m in metrics:
                m.reset_state()
            loss_total, seen, logs, diverged = 0.0, 0, {}, False
            for step in range(steps):
                batch = order[step * batch_size:(step + 1) * batch_size]
                callback_list.on_train_batch_begin(step, {})
                x_batch, y_batch = x[batch], y[batch]
                loss, output, weights = self._train_step(x_batch, y_batch)
                loss_total += loss * len(batch)
                seen += len(batch)
                self._update_metrics(metrics, y_batch, output, weights)
                logs = self._logs(loss_total, seen, metrics)
                callback_list.on_train_batch_end(step, logs)
                if not math.isfinite(loss):
                    diverged = True
                    break
                if self.stop_training:
                    break
            if x_val is not None and not diverged:
                val_logs = self._evaluate_arrays(x_val, y_val, batch_size)
                logs.update({f"val_{key}": value for key, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, logs)
            if diverged:
                sys.stderr.write(
                    f"Epoch {epoch + 1}, batch {step + 1}: the loss became {loss}; training stopped. "
                    "The weights are those of the last finite step.\n")
                self.stop_training = True
            if self.stop_training:
                break
        callback_list.on_train_end(dict(logs))
        return history

    def _evaluate_arrays(self, x, y, batch_size, bar=None):
        metrics = [metrics_module.get(m, self.loss, y.shape, self.output_shape_for(x.shape)) for m in self._metric_ids]
        loss_total, seen = 0.0, 0
        steps = math.ceil(len(x) / batch_size)
        for step in range(steps):
            x_batch, y_batch = x[step * batch_size:(step + 1) * batch_size], y[step * batch_size:(step + 1) * batch_size]
            output = self._forward(x_batch)
            loss, weights = self._masked_loss(y_batch, output)
            loss_total += loss * len(x_batch)
            seen += len(x_batch)
            self._update_metrics(metrics, y_batch, output, weights)
            if bar is not None:
                bar.update(step + 1, list(self._logs(loss_total, seen, metrics).items()))
        return self._logs(loss_total, seen, metrics)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, callbacks=None):
        """The loss (and metrics) over a dataset, batch by batch, without training.

        Returns:
            The loss, or [loss, metric, ...] when compiled with metrics (a dict with return_dict).
        """
        self._require_compiled("evaluating")
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        x, y = self._check_xy(x, y)
        bar = callbacks_module.Progbar(math.ceil(len(x) / batch_size), verbose=verbose) if verbose else None
        return self._result(self._evaluate_arrays(x, y, batch_size, bar), return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` batch by batch and returns the stacked outputs.

        Args:
            x: array of shape (samples, ...) matching the model's input.
            batch_size: samples per batch (default 32).
            verbose: 0 silent, 1 or 'auto' a progress bar, 2 one line.

        Returns:
            An array, or a list of arrays when the last layer returns several.
        """
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        x = self._prepare_input(x)
        if len(x) == 0:
            raise ValueError(f"Argument `x` must hold at least one sample. Received: shape {x.shape}")
        steps = math.ceil(len(x) / batch_size)
        bar = callbacks_module.Progbar(steps, verbose=verbose) if verbose else None
        outputs = []
        for step in range(steps):
            outputs.append(self._forward(x[step * batch_size:(step + 1) * batch_size]))
            if bar is not None:
                bar.update(step + 1)
        if isinstance(outputs[0], list):
            return [np.concatenate([out[i] for out in outputs]) for i in range(len(outputs[0]))]
        return np.concatenate(outputs)

    def predict_on_batch(self, x):
        """Runs the model on a single batch."""
        return self._forward(self._prepare_input(x))
