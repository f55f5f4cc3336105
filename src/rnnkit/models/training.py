"""What Sequential does with data: compile, fit, evaluate, predict and the *_on_batch calls.

A training step is: forward (layers keep caches), the loss and its gradient with respect to the
output, backward through the layers in reverse (each fills `grads`), then one optimizer update of
every trainable weight in place. Nothing is updated when the loss or a gradient is not finite.

Every argument is checked before the first step, so a refused call changes nothing. Inference
(predict, evaluate, __call__, predict_on_batch, test_on_batch) is safe from several threads at
once and gives each exactly its one-thread result; training is one thread at a time, and an
overlapping call is refused with RuntimeError (see `_ThreadGuard`).
"""

import math
import sys
import threading

import numpy as np

from rnnkit import backend
from rnnkit import callbacks as callbacks_module
from rnnkit import losses as losses_module
from rnnkit import metrics as metrics_module
from rnnkit import optimizers as optimizers_module
from rnnkit.layers.base import as_real_array, cast_checked


def _check_batch_size(batch_size, argument="batch_size"):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"Argument `{argument}` must be a positive int. Received: {batch_size!r}")
    return int(batch_size)


def _check_verbose(verbose):
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if isinstance(verbose, (str, bytes)) or not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise ValueError(f"Argument `verbose` must be 0, 1, 2 or 'auto'. Received: {verbose!r}")
    return int(verbose)


def _check_count(value, argument, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "a non-negative" if low == 0 else "a positive"
        raise ValueError(f"Argument `{argument}` must be {kind} int. Received: {value!r}")
    return int(value)


def _check_callbacks(callbacks):
    """A list of Callback instances from `callbacks` (None, a list or a tuple), or TypeError."""
    if callbacks is None:
        return []
    if isinstance(callbacks, callbacks_module.Callback):
        raise TypeError("Argument `callbacks` must be a list of Callback instances; wrap a single one "
                        f"in a list. Received: {callbacks!r}")
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"Argument `callbacks` must be a list of Callback instances. Received: {callbacks!r}")
    for callback in callbacks:
        if not isinstance(callback, callbacks_module.Callback):
            raise TypeError("Argument `callbacks` must hold Callback instances. "
                            f"Received: {callback!r} of type {type(callback).__name__}")
    return list(callbacks)


def _check_finite(array, argument):
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"Argument `{argument}` must hold finite numbers. Received: NaN or inf values")


class _ThreadGuard:
    """Which threads run a model right now.

    Any number of threads may run inference at once (predict, evaluate, __call__, the
    *_on_batch inference calls): each layer's reused buffers are per thread and nothing of the
    model is written. Training writes the weights, the optimizer's slots and the layers'
    caches, and a stateful model's inference writes its states, so those calls run one thread
    at a time and never beside another thread's inference. A call that would overlap is refused
    at once with RuntimeError (it does not wait: a fit can last hours). Calls nested in the
    same thread (a callback that predicts during fit) are allowed.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._readers = {}          # thread id -> number of inference calls running in it
        self._writer = None         # (thread id, [calls, outermost first]) of the exclusive call
        self.build_lock = threading.Lock()

    def __deepcopy__(self, memo):
        return _ThreadGuard()

    def __reduce__(self):
        return _ThreadGuard, ()

    def shared(self, call):
        return _Shared(self, call)

    def exclusive(self, call, reason):
        return _Exclusive(self, call, reason)

    def _enter_shared(self, call):
        me = threading.get_ident()
        with self._lock:
            if self._writer is not None and self._writer[0] != me:
                raise RuntimeError(
                    f"Cannot run `{call}` on this model while `{self._writer[1][0]}` runs on it in another "
                    "thread (it changes the weights or states). Wait for it to finish, or predict with a "
                    f"copy of the model. Received: `{call}` from a second thread")
            self._readers[me] = self._readers.get(me, 0) + 1
        return me

    def _exit_shared(self, me):
        with self._lock:
            self._readers[me] -= 1
            if not self._readers[me]:
                del self._readers[me]

    def _enter_exclusive(self, call, reason):
        me = threading.get_ident()
        with self._lock:
            if self._writer is not None and self._writer[0] != me:
                raise RuntimeError(
                    f"Cannot run `{call}` on this model while `{self._writer[1][0]}` runs on it in another "
                    f"thread: {reason}, so one thread at a time. Received: `{call}` from a second thread")
            others = [t for t in self._readers if t != me]
            if others:
                raise RuntimeError(
                    f"Cannot run `{call}` on this model while {len(others)} other thread(s) run inference "
                    f"on it: {reason}. Received: `{call}` during another thread's predict/evaluate")
            calls = self._writer[1] if self._writer else []
            self._writer = (me, calls + [call])

    def _exit_exclusive(self):
        with self._lock:
            calls = self._writer[1][:-1]
            self._writer = (self._writer[0], calls) if calls else None


class _Shared:
    __slots__ = ("guard", "call", "me")

    def __init__(self, guard, call):
        self.guard, self.call = guard, call

    def __enter__(self):
        self.me = self.guard._enter_shared(self.call)

    def __exit__(self, *exc):
        self.guard._exit_shared(self.me)


class _Exclusive:
    __slots__ = ("guard", "call", "reason")

    def __init__(self, guard, call, reason):
        self.guard, self.call, self.reason = guard, call, reason

    def __enter__(self):
        self.guard._enter_exclusive(self.call, self.reason)

    def __exit__(self, *exc):
        self.guard._exit_exclusive()


class TrainingMixin:
    """Compiling, training, evaluating and predicting; mixed into Sequential."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self._metric_ids = []
        self.stop_training = False
        self._guard = _ThreadGuard()

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
        with self._guard.exclusive("compile", "compiling replaces the loss and the optimizer"):
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

    # ---- threads --------------------------------------------------------------------------------
    def _is_stateful(self):
        return any(getattr(layer, "stateful", False) for layer in self._layers)

    def _inference(self, call):
        """The guard of an inference call: shared between threads, except on a stateful model."""
        if self._is_stateful():
            return self._guard.exclusive(call, "a stateful model carries its states from call to call")
        return self._guard.shared(call)

    def _training(self, call):
        return self._guard.exclusive(
            call, "training changes the weights, the optimizer's state and the layers' caches")

    # ---- data checks ----------------------------------------------------------------------------
    def _check_xy(self, x, y, x_argument="x", y_argument="y"):
        """Validated (x, y) for the compiled loss, or an error before anything changes."""
        x = self._prepare_input(x, x_argument, allow_empty=False)
        _check_finite(x, x_argument)
        y = as_real_array(y, y_argument)
        if y.ndim == 0:
            raise ValueError(f"Argument `{y_argument}` must have a sample axis. Received: a scalar {y!r}")
        if len(y) != len(x):
            raise ValueError(f"Arguments `{x_argument}` and `{y_argument}` must have the same number of samples. "
                             f"Received: {len(x)} and {len(y)}")
        _check_finite(y, y_argument)
        if y.dtype.kind == "f":
            y = cast_checked(y, self._layers[-1].dtype, y_argument)
        output_shape = self.output_shape_for(x.shape)
        if isinstance(output_shape, list):
            raise ValueError("Training needs a single-output model; the last layer returns several "
                             f"(return_state or merge_mode=None). Received: output shapes {output_shape}")
        y = self.loss.check_targets(y, output_shape, y_argument)
        if y.dtype.kind in "fb":
            y = y.astype(backend.floatx() if y.dtype == bool else y.dtype, copy=False)
        return x, y

    def _batch_for(self, batch_size, given, counts, argument="batch_size"):
        """The batch size to use. A stateful model runs only full batches of the size it was built
        for: that size is the default, another one is refused, and so is any sample count that
        is not a multiple of it, all before the first step changes a state or a weight."""
        fixed = next((layer.input_shape[0] for layer in self._layers if getattr(layer, "stateful", False)), None)
        if fixed is None:
            return batch_size
        if given is not None and batch_size != fixed:
            raise ValueError(
                f"Argument `{argument}` must be {fixed}, the batch size the stateful model \"{self.name}\" "
                f"was built for. Received: {argument}={given!r}")
        for name, count, *what in counts:
            if count % fixed:
                raise ValueError(
                    f"Argument `{name}`{what[0] if what else ' holds'} {count} samples, not a multiple of "
                    f"{fixed}, the batch size of "
                    f"the stateful model \"{self.name}\": every batch of a stateful network must be full. "
                    f"Received: {count} samples")
        return fixed

    def _check_full_batch(self, x, argument="x"):
        """A stateful model's single-batch calls take exactly its batch size."""
        fixed = next((layer.input_shape[0] for layer in self._layers if getattr(layer, "stateful", False)), None)
        if fixed is not None and len(x) != fixed:
            raise ValueError(
                f"Argument `{argument}` must hold exactly one batch of the model: model \"{self.name}\" is "
                f"stateful with batch size {fixed}. Received: a batch of {len(x)}")

    def _fresh_metrics(self, y, output_shape):
        """New metric objects for one evaluation (never shared between threads or calls)."""
        fresh = []
        for identifier in self._metric_ids:
            metric = metrics_module.get(identifier, self.loss, y.shape, output_shape)
            if metric is identifier:
                metric = metrics_module.Metric(metric.fn, metric.name)
            fresh.append(metric)
        return fresh

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
        self._pending_caches = None     # the caches give their buffers back to the layers

    def _masked_loss(self, y, output, mask, per_sample=None):
        """The loss and the per-sample weights the output mask implies (None without a mask).

        Keras weights a masked sequence output's per-step losses by mask * total / valid, so the
        loss is the mean over the real steps only.
        """
        if per_sample is None:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected by the caller
                per_sample = self.loss.per_sample(y, output)
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
        output, mask = self._run(x, training=True)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected just below
            per_sample, d_output = self.loss.per_sample_and_gradient(y, output)
        loss, weights = self._masked_loss(y, output, mask, per_sample)
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
        """One training step on one batch. Returns the loss before the update (and metrics).

        Raises:
            RuntimeError: while another thread trains or runs this model (see `fit`).
        """
        self._require_compiled("training")
        with self._training("train_on_batch"):
            x, y = self._check_xy(x, y)
            self._check_full_batch(x)
            metrics = self._metrics_for(y, self.output_shape_for(x.shape))
            if reset_metrics:
                for m in metrics:
                    m.reset_state()
            loss, output, weights = self._train_step(x, y)
            self._update_metrics(metrics, y, output, weights)
            return self._result(self._logs(loss, 1, metrics), return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        """The loss (and metrics) on one batch, without training. Safe from several threads."""
        self._require_compiled("evaluating")
        with self._inference("test_on_batch"):
            x, y = self._check_xy(x, y)
            self._check_full_batch(x)
            metrics = self._fresh_metrics(y, self.output_shape_for(x.shape))
            output, mask = self._run(x)
            loss, weights = self._masked_loss(y, output, mask)
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
            batch_size: samples per step (default 32; a stateful model's own batch size).
            epochs: the epoch to stop after (counting from 0 with `initial_epoch`).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, 'auto' = 1.
            callbacks: list of Callback.
            validation_split: fraction of the data, taken from the end before shuffling, to
                validate on after each epoch.
            validation_data: (x_val, y_val), instead of validation_split.
            shuffle: reshuffle the training samples every epoch.
            initial_epoch: the epoch to start from (to resume).
            validation_batch_size: samples per validation batch (default `batch_size`).
            validation_freq: validate every this many epochs (an int), or after the epochs listed
                (a list of epoch numbers counted from 1).

        Raises:
            ValueError / TypeError: before any weight changes, for bad arguments.
            RuntimeError: while another thread trains or runs this model (training is one thread
                at a time; refused at once, not queued).
        """
        self._require_compiled("training")
        with self._training("fit"):
            return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                             shuffle, initial_epoch, class_weight, sample_weight, steps_per_epoch,
                             validation_steps, validation_batch_size, validation_freq)

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             initial_epoch, class_weight, sample_weight, steps_per_epoch, validation_steps,
             validation_batch_size, validation_freq):
        # Every argument is checked here, before the first step changes anything.
        for name, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                            ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if value is not None:
                raise ValueError(f"Argument `{name}` is not supported by rnnkit. Received: {name}={value!r}")
        batch_given, validation_batch_given = batch_size, validation_batch_size
        batch_size = _check_batch_size(batch_size)
        validation_batch_size = (batch_size if validation_batch_size is None
                                 else _check_batch_size(validation_batch_size, "validation_batch_size"))
        verbose = _check_verbose(verbose)
        epochs = _check_count(epochs, "epochs", 0)
        initial_epoch = _check_count(initial_epoch, "initial_epoch", 0)
        if (isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer, np.floating))
                or not 0.0 <= validation_split < 1.0):
            raise ValueError(f"Argument `validation_split` must be a float in [0, 1). Received: {validation_split!r}")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"Argument `shuffle` must be True or False. Received: {shuffle!r}")
        validate_on = _check_validation_freq(validation_freq)
        user_callbacks = _check_callbacks(callbacks)
        x, y = self._check_xy(x, y)
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("Argument `validation_data` must be a tuple (x_val, y_val). Received: "
                                 + (f"a {type(validation_data).__name__} of {len(validation_data)} items"
                                    if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__))
            x_val, y_val = self._check_xy(*validation_data, x_argument="validation_data[0]",
                                          y_argument="validation_data[1]")
        elif validation_split:
            split_at = int(len(x) * (1.0 - validation_split))
            if split_at == 0 or split_at == len(x):
                raise ValueError(f"Argument `validation_split`={validation_split} leaves no sample on one side "
                                 f"of {len(x)}. Received: validation_split={validation_split!r}")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
        if validation_data is not None:
            counts = [("x", len(x)), ("validation_data", len(x_val))]
        elif x_val is not None:
            counts = [("validation_split", len(x), f"={validation_split} leaves training"),
                      ("validation_split", len(x_val), f"={validation_split} takes for validation")]
        else:
            counts = [("x", len(x))]
        batch_size = self._batch_for(batch_size, batch_given, counts)
        validation_batch_size = self._batch_for(validation_batch_size, validation_batch_given, [],
                                                "validation_batch_size")
        steps = math.ceil(len(x) / batch_size)
        metrics = self._metrics_for(y, self.output_shape_for(x.shape))
        logged = ["loss"] + [m.name for m in metrics]
        if x_val is not None:
            logged += [f"val_{name}" for name in logged]
        history = callbacks_module.History()
        progbar = [callbacks_module.ProgbarLogger(verbose)] if verbose else []
        callback_list = callbacks_module.CallbackList(
            progbar + user_callbacks + [history], self,
            {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size, "metrics": logged})
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
            if x_val is not None and not diverged and validate_on(epoch + 1):
                val_logs = self._evaluate_arrays(x_val, y_val, validation_batch_size)
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

    def _evaluate_arrays(self, x, y, batch_size, bar=None, callback_list=None):
        metrics = self._fresh_metrics(y, self.output_shape_for(x.shape))
        loss_total, seen = 0.0, 0
        steps = math.ceil(len(x) / batch_size)
        for step in range(steps):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step, {})
            x_batch, y_batch = x[step * batch_size:(step + 1) * batch_size], y[step * batch_size:(step + 1) * batch_size]
            output, mask = self._run(x_batch)
            loss, weights = self._masked_loss(y_batch, output, mask)
            loss_total += loss * len(x_batch)
            seen += len(x_batch)
            self._update_metrics(metrics, y_batch, output, weights)
            if bar is not None:
                bar.update(step + 1, list(self._logs(loss_total, seen, metrics).items()))
            if callback_list is not None:
                callback_list.on_test_batch_end(step, self._logs(loss_total, seen, metrics))
        return self._logs(loss_total, seen, metrics)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, callbacks=None,
                 sample_weight=None, steps=None):
        """The loss (and metrics) over a dataset, batch by batch, without training. Safe from
        several threads at once.

        Returns:
            The loss, or [loss, metric, ...] when compiled with metrics (a dict with return_dict).

        Raises:
            ValueError / TypeError: for bad arguments, before any batch runs.
        """
        self._require_compiled("evaluating")
        for name, value in (("sample_weight", sample_weight), ("steps", steps)):
            if value is not None:
                raise ValueError(f"Argument `{name}` is not supported by rnnkit. Received: {name}={value!r}")
        batch_given = batch_size
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        user_callbacks = _check_callbacks(callbacks)
        with self._inference("evaluate"):
            x, y = self._check_xy(x, y)
            batch_size = self._batch_for(batch_size, batch_given, [("x", len(x))])
            callback_list = callbacks_module.CallbackList(
                user_callbacks, self, {"verbose": verbose, "steps": math.ceil(len(x) / batch_size)})
            bar = callbacks_module.Progbar(math.ceil(len(x) / batch_size), verbose=verbose) if verbose else None
            callback_list.on_test_begin({})
            logs = self._evaluate_arrays(x, y, batch_size, bar, callback_list)
            callback_list.on_test_end(dict(logs))
            return self._result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` batch by batch and returns the stacked outputs. Safe from
        several threads at once (each gets exactly its one-thread result).

        Args:
            x: array of shape (samples, ...) matching the model's input.
            batch_size: samples per batch (default 32; a stateful model's own batch size).
            verbose: 0 silent, 1 or 'auto' a progress bar, 2 one line.
            callbacks: list of Callback (their on_predict_* hooks are called).

        Returns:
            An array, or a list of arrays when the last layer returns several.

        Raises:
            ValueError / TypeError: for bad arguments, before any batch runs.
        """
        if steps is not None:
            raise ValueError(f"Argument `steps` is not supported by rnnkit. Received: steps={steps!r}")
        batch_given = batch_size
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        user_callbacks = _check_callbacks(callbacks)
        with self._inference("predict"):
            x = self._prepare_input(x, allow_empty=False)
            batch_size = self._batch_for(batch_size, batch_given, [("x", len(x))])
            steps = math.ceil(len(x) / batch_size)
            hooks = (callbacks_module.CallbackList(user_callbacks, self, {"verbose": verbose, "steps": steps})
                     if user_callbacks else None)
            bar = callbacks_module.Progbar(steps, verbose=verbose) if verbose else None
            if hooks:
                hooks.on_predict_begin({})
            outputs = []
            for step in range(steps):
                if hooks:
                    hooks.on_predict_batch_begin(step, {})
                outputs.append(self._run(x[step * batch_size:(step + 1) * batch_size])[0])
                if hooks:
                    hooks.on_predict_batch_end(step, {"outputs": outputs[-1]})
                if bar is not None:
                    bar.update(step + 1)
            if hooks:
                hooks.on_predict_end({})
        if isinstance(outputs[0], list):
            return [np.concatenate([out[i] for out in outputs]) for i in range(len(outputs[0]))]
        return np.concatenate(outputs)

    def predict_on_batch(self, x):
        """Runs the model on a single batch. Safe from several threads at once."""
        with self._inference("predict_on_batch"):
            x = self._prepare_input(x)
            self._check_full_batch(x)
            return self._run(x)[0]


def _check_validation_freq(validation_freq):
    """A test `epoch number (from 1) -> validate?` from an int or a list of epoch numbers."""
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq >= 1:
            return lambda epoch: epoch % int(validation_freq) == 0
    elif isinstance(validation_freq, (list, tuple, set, range)) and all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in validation_freq):
        epochs = {int(e) for e in validation_freq}
        return lambda epoch: epoch in epochs
    raise ValueError("Argument `validation_freq` must be a positive int or a list of epoch numbers. "
                     f"Received: {validation_freq!r}")
