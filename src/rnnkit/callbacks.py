"""Keras-style callbacks and the progress bar.

Hook names are Keras's: on_train_begin/end, on_epoch_begin/end, on_train_batch_begin/end,
on_test_begin/end, on_test_batch_begin/end, on_predict_begin/end, on_predict_batch_begin/end.
"""

import math
import os
import string
import sys
import time
import warnings

import numpy as np


class Progbar:
    """Keras's progress bar: `32/32 [==============================] - 0s 2ms/step - loss: 0.1234`.

    Args:
        target: total number of steps.
        width: bar width in characters.
        verbose: 1 for the bar (redrawn in place on a terminal, one final line otherwise),
            2 for one line when finished, 0 for nothing.
        stream: where to write (default sys.stdout).
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream or sys.stdout
        self.dynamic = bool(getattr(self.stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules
        self._start = time.time()
        self._last_update = 0.0
        self._total_width = 0

    @staticmethod
    def format_time(seconds, unit_name):
        if seconds >= 1 or seconds == 0:
            return f" {seconds:.0f}s/{unit_name}"
        if seconds >= 1e-3:
            return f" {seconds * 1e3:.0f}ms/{unit_name}"
        return f" {seconds * 1e6:.0f}us/{unit_name}"

    @staticmethod
    def format_values(values):
        text = ""
        for key, value in values:
            text += f" - {key}:"
            text += f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"
        return text

    def _bar(self, current):
        if self.target is None:      # Keras 2: an iterable of unknown length
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        bar = f"{current:{digits}d}/{self.target} ["
        width = int(self.width * current / self.target) if self.target else self.width
        if width > 0:
            bar += "=" * (width - 1) + (">" if current < self.target else "=")
        return bar + "." * (self.width - width) + "]"

    def update(self, current, values=(), finalize=None):
        """Shows `current` steps done with the running `values` [(name, number), ...]. With an
        unknown target (None) the bar reads `n/Unknown` until the caller sets `target`."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        if self.verbose == 1:
            if not finalize and (not self.dynamic or now - self._last_update < self.interval):
                return
            bar = self._bar(current)
            if finalize or self.target is None:      # Keras 2: elapsed and time per step
                info = f" - {elapsed:.0f}s" + self.format_time(per_step, self.unit_name)
            else:
                eta = per_step * (self.target - current)
                eta_text = (f"{eta // 3600:.0f}:{(eta % 3600) // 60:02.0f}:{eta % 60:02.0f}" if eta > 3600
                            else f"{eta // 60:.0f}:{eta % 60:02.0f}" if eta > 60 else f"{eta:.0f}s")
                info = f" - ETA: {eta_text}"
            line = bar + info + self.format_values(values)
            padding = " " * max(0, self._total_width - len(line))
            self._total_width = len(line)
            prefix = "\r" if self.dynamic else ""
            self.stream.write(prefix + line + padding + ("\n" if finalize else ""))
            self.stream.flush()
            self._last_update = now
        elif self.verbose == 2 and finalize:
            target = self.target if self.target is not None else current
            digits = int(math.log10(target)) + 1 if target > 0 else 1
            line = f"{current:{digits}d}/{target} - {elapsed:.0f}s" + self.format_values(values)
            line += " -" + self.format_time(elapsed, "epoch") + " -" + self.format_time(per_step, self.unit_name)
            self.stream.write(line + "\n")
            self.stream.flush()


class Callback:
    """Base class: override the hooks you need. `self.model` and `self.params` are set by fit.

    `chief_only`: under data-parallel training (`rnnkit.distribute`), a callback whose class sets
    it True runs on rank 0 alone; those that write files do, so that N ranks never write one file.
    """

    chief_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls every hook on each callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"Argument `callbacks` must hold Callback instances. Received: {callback!r}")
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def call_all(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call_all


class EpochLogs(dict):
    """`History.history`: each logged name's list. It also answers Keras 2.0-2.2's name of the
    accuracy metric (`acc`, `val_acc`) where Keras 2.3 and later (and rnnkit) log `accuracy`, and
    the other way, without listing either twice: programs of both eras read their own name."""

    _OTHER_ERA = {"acc": "accuracy", "accuracy": "acc", "val_acc": "val_accuracy", "val_accuracy": "val_acc"}

    def __missing__(self, key):
        other = self._OTHER_ERA.get(key)
        if other is not None and dict.__contains__(self, other):
            return dict.__getitem__(self, other)
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class History(Callback):
    """Records each epoch's logs: `history.history["loss"]` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = EpochLogs()
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar per epoch (fit's verbose=1), or one line (verbose=2).

    With an input of unknown length the first epoch's bar counts `n/Unknown`; from its end on
    the bar knows the count (Keras 2's `_finalize_progbar`).

    Args:
        count_mode: 'steps' (Keras 2 also had 'samples'; rnnkit counts steps).
        stateful_metrics: accepted for Keras 2 compatibility.
        verbose: 1 or 2; default fit's.
        stream: where to write (default sys.stdout).
    """

    def __init__(self, count_mode="steps", stateful_metrics=None, verbose=None, stream=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"Argument `count_mode` must be 'steps' or 'samples'. Received: {count_mode!r}")
        if verbose is not None and verbose not in (0, 1, 2):
            raise ValueError(f"Argument `verbose` must be 0, 1 or 2. Received: {verbose!r}")
        self.verbose, self.stream = verbose, stream
        self.bar = None
        self.target = None
        self.seen = 0

    def on_train_begin(self, logs=None):
        self.target = self.params.get("steps")

    def _verbose(self):
        return self.verbose if self.verbose is not None else self.params.get("verbose", 1)

    def on_epoch_begin(self, epoch, logs=None):
        if not self._verbose():
            return
        if self.params.get("epochs", 1) > 1:
            (self.stream or sys.stdout).write(f"Epoch {epoch + 1}/{self.params['epochs']}\n")
        self.seen = 0
        self.bar = Progbar(self.target, verbose=self._verbose(), stream=self.stream)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.bar is not None and (self.target is None or batch + 1 < self.target):
            self.bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is None:
            return
        if self.target is None:
            self.target = self.seen
            self.bar.target = self.target
        self.bar.update(self.target, list((logs or {}).items()), finalize=True)


def _check_monitor(monitor):
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"Argument `monitor` must be the name of a logged quantity, e.g. 'val_loss'. "
                        f"Received: {monitor!r}")
    return monitor


def _check_real(value, argument, low=None, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or (
            low is not None and value < low):
        what = "an int" if integer else "a finite number"
        raise ValueError(f"Argument `{argument}` must be {what}" + (f" >= {low}" if low is not None else "")
                         + f". Received: {value!r}")
    return value


def _monitor_op(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"Argument `mode` must be 'auto', 'min' or 'max'. Received: {mode!r}")
    if mode == "max" or (mode == "auto" and (monitor.endswith("acc") or monitor.endswith("accuracy")
                                             or monitor.endswith("auc"))):
        return np.greater
    return np.less


class EarlyStopping(Callback):
    """Stops training when `monitor` stops improving.

    Args:
        monitor: the logged quantity, default 'val_loss'.
        min_delta: the least change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: 'min', 'max' or 'auto' (max for accuracies).
        baseline: a value the monitored quantity must beat.
        restore_best_weights: put back the weights of the best epoch when stopping.
        start_from_epoch: epochs to wait before watching.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        _check_monitor(monitor)
        _check_real(min_delta, "min_delta")
        _check_real(patience, "patience", 0, integer=True)
        _check_real(start_from_epoch, "start_from_epoch", 0, integer=True)
        if baseline is not None:
            _check_real(baseline, "baseline")
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.monitor_op = _monitor_op(mode, monitor)
        self.min_delta = abs(min_delta) * (1 if self.monitor_op is np.greater else -1)
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = -np.inf if self.monitor_op is np.greater else np.inf

    def _improved(self, value, reference):
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            if current is None:   # Keras's warning, word for word
                warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                              f"Available metrics are: {','.join(list((logs or {}).keys()))}", stacklevel=2)
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after every epoch, or only when `monitor` improves.

    Args:
        filepath: may hold format fields from the epoch and logs, e.g. 'model-{epoch:02d}.npz'.
        monitor: the logged quantity for save_best_only.
        save_best_only: keep only the best so far.
        save_weights_only: save only the weights.
        mode: 'min', 'max' or 'auto'.
    """

    chief_only = True     # it writes files

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch"):
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise ValueError(f"Argument `save_freq` must be 'epoch' or a positive number of batches. "
                             f"Received: {save_freq!r}")
        self.save_freq = save_freq
        self._batches_seen = 0
        self._current_epoch = 0
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"Argument `filepath` must be a path. Received: {filepath!r}")
        _check_monitor(monitor)
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self._fields = _format_fields(self.filepath)
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        # what model.save_weights / model.save write: refused here, not after an epoch's work
        extensions = (".h5", ".hdf5", ".npz") if save_weights_only else (".keras", ".h5", ".hdf5", ".npz")
        if not self.filepath.endswith(extensions):
            raise ValueError(f"Argument `filepath` of ModelCheckpoint must end in one of {extensions} (with "
                             f"save_weights_only={bool(save_weights_only)}). Received: filepath={self.filepath!r}")
        self.monitor_op = _monitor_op(mode, monitor)
        self.best = -np.inf if self.monitor_op is np.greater else np.inf

    def on_train_begin(self, logs=None):
        # fit lists the keys its logs will hold (Keras 2's params["metrics"]): a filepath field
        # that none of them fills is refused before the first step, not after an epoch's work.
        known = self.params.get("metrics")
        self._batches_seen = 0
        if known is not None:
            allowed = {"epoch"} | ({"batch"} if self.save_freq != "epoch" else set())
            missing = sorted(self._fields - allowed - set(known))
            if missing:
                raise ValueError(
                    f"Argument `filepath` of ModelCheckpoint names {missing}, which fit will not log; "
                    f"available: ['epoch'] + {sorted(known)}. Received: filepath={self.filepath!r}")

    def _path(self, epoch, logs, batch=None):
        """The file name for this epoch; a field that is neither `epoch` nor a logged value is
        named with the keys there are, before anything is written."""
        known = {"epoch"} | ({"batch"} if batch is not None else set())
        missing = sorted(self._fields - known - set(logs))
        if missing:
            raise ValueError(
                f"Argument `filepath` of ModelCheckpoint names {missing}, which epoch {epoch + 1}'s logs do "
                f"not hold; available: {sorted(known)} + {sorted(logs)}. Received: filepath={self.filepath!r}")
        extra = {} if batch is None else {"batch": batch + 1}
        return self.filepath.format(epoch=epoch + 1, **extra, **logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # Keras: with an integer save_freq, save after every save_freq batches (counted across epochs).
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._current_epoch, logs or {}, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs, batch=None):
        path = self._path(epoch, logs, batch)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:   # Keras's warning, word for word
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", stacklevel=2)
                return
            if not self.monitor_op(current, self.best):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class _AnyNumber(dict):
    def __missing__(self, key):
        return 0.0


def _format_fields(filepath):
    """The names `filepath` formats, after a trial format (epoch 1, every logged value 0.0) that
    finds a bad pattern at construction rather than after the first epoch's training."""
    try:
        fields = {name.split(".")[0].split("[")[0]
                  for _, name, _, _ in string.Formatter().parse(filepath) if name is not None}
        if any(not name or name.isdigit() for name in fields):
            raise ValueError("positional fields ('{}' or '{0}') have no value; name them, e.g. '{epoch:02d}'")
        filepath.format_map(_AnyNumber(epoch=1))
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as error:
        raise ValueError(
            "Argument `filepath` must be a path whose format fields are `epoch` or logged values, "
            f"e.g. 'model-{{epoch:02d}}-{{val_loss:.2f}}.keras' ({error}). Received: {filepath!r}") from None
    return fields


class LambdaCallback(Callback):
    """A callback from plain functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_batch_begin(batch, logs), on_train_batch_end(batch, logs), on_train_begin(logs),
    on_train_end(logs)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin, on_train_batch_end=on_train_batch_end,
                     **kwargs)
        for hook, fn in given.items():
            if hook not in _HOOKS:
                raise TypeError(f"LambdaCallback has no hook {hook!r}. Received: {hook}={fn!r}")
            if fn is not None and not callable(fn):
                raise TypeError(f"Argument `{hook}` must be a function. Received: {fn!r}")
            if fn is not None:
                setattr(self, hook, fn)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite (fit does this by default too)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved for `patience`
    epochs (Keras 2's rule: improvement means beating the best by `min_delta`; after a
    reduction `cooldown` epochs pass before counting again; never below `min_lr`). Adds the
    learning rate to the epoch's logs as `lr`, as Keras 2 does.

    Raises:
        ValueError: for factor >= 1 and other bad arguments.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:             # Keras 2's old name
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                          stacklevel=2)
        if kwargs:
            raise TypeError(f"Unexpected arguments to ReduceLROnPlateau: {sorted(kwargs)}. Received: {kwargs!r}")
        _check_monitor(monitor)
        _check_real(factor, "factor")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor!r}")
        _check_real(patience, "patience", 0, integer=True)
        _check_real(cooldown, "cooldown", 0, integer=True)
        _check_real(min_delta, "min_delta")
        _check_real(min_lr, "min_lr", 0)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Argument `mode` must be 'auto', 'min' or 'max'. Received: {mode!r}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, min_delta, cooldown, float(min_lr)
        self._reset()

    def _reset(self):
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = self.model.optimizer.learning_rate
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to `schedule(epoch, lr)` (or
    `schedule(epoch)`), epochs counted from 0; adds it to the epoch's logs as `lr` (Keras 2).

    Raises:
        TypeError: for a schedule that is not callable.
        ValueError: when the schedule returns something other than a float (as Keras).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"Argument `schedule` must be a function of the epoch. Received: {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:               # Keras 2: a schedule of the epoch alone
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)) or not math.isfinite(lr) or lr < 0:
            raise ValueError('The output of the "schedule" function should be a finite float >= 0. '
                             f"Received: {lr!r}")
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Writes each epoch's logs to a CSV file: a header `epoch,<keys sorted>` then one row per
    epoch (Keras 2's format; a list value is written `"[a, b]"`).

    Args:
        filename: the file.
        separator: the field separator.
        append: add to an existing file (no second header) instead of overwriting it.
    """

    chief_only = True     # it writes files

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"Argument `filename` must be a path. Received: {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"Argument `separator` must be one character. Received: {separator!r}")
        self.filename, self.sep, self.append = os.fspath(filename), separator, bool(append)
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as handle:
                    self.append_header = not bool(len(handle.readline()))
            mode = "a"
        else:
            mode = "w"
        # O_NOFOLLOW: a symbolic link planted at the log's name must not redirect the write to
        # another file (the log sits at a predictable name beside a model).
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)
        try:
            descriptor = os.open(self.filename, flags, 0o666)
        except OSError as error:
            raise OSError(f"CSVLogger cannot write {self.filename!r} ({error.strerror}; a symbolic link is "
                          "refused). Received: an unwritable log path") from None
        self.csv_file = os.fdopen(descriptor, "w", newline="", encoding="utf-8")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        import csv

        logs = logs or {}

        def handle_value(value):
            if isinstance(value, str):
                return value
            if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) > 0:
                return f"\"[{', '.join(map(str, np.ravel(value)))}]\""
            return value

        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.model is not None and self.model.stop_training:
            logs = {k: logs.get(k, "NA") for k in self.keys}
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file, self.writer = None, None


class BackupAndRestore(Callback):
    """Backs up training at the end of every epoch so that an interrupted fit resumes where it
    stopped: the next `fit` with this callback (same folder) restores the weights and the
    optimizer's state (slots, step count, learning rate) and starts at the epoch after the last
    one backed up. The folder is cleared when training ends normally (`delete_checkpoint`).

    The backup is rnnkit's own format: `weights-<epoch>.npz` (model.save_weights) and
    `state.json` (the epoch, the weights file's name, the optimizer's variables in tf_keras's
    order), each written to a temporary file and renamed; `state.json` is written last, so a
    crash mid-backup leaves the previous backup whole.

    Args:
        backup_dir: the folder (created if missing).
        save_freq: 'epoch' (rnnkit backs up at epoch ends only).
        delete_checkpoint: clear the folder when fit ends normally.

    Raises:
        ValueError / TypeError: for bad arguments; ValueError naming the file for a damaged backup.
    """

    chief_only = True     # it writes files

    STATE = "state.json"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, save_before_preemption=False):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise TypeError(f"Argument `backup_dir` must be a folder path. Received: {backup_dir!r}")
        if save_freq != "epoch":
            raise ValueError(f"Argument `save_freq` must be 'epoch' in rnnkit. Received: save_freq={save_freq!r}")
        if save_before_preemption:
            raise ValueError("Argument `save_before_preemption` is for distributed TensorFlow training. "
                             f"Received: save_before_preemption={save_before_preemption!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)

    def _state_path(self):
        return os.path.join(self.backup_dir, self.STATE)

    def _variables(self):
        return self.model._trainable_arrays()

    def on_train_begin(self, logs=None):
        import json

        path = self._state_path()
        if not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8") as handle:
                state = json.load(handle)
            epoch = state["epoch"]
            weights_file = state["weights"]
            if not isinstance(epoch, int) or epoch < 0 or not isinstance(weights_file, str) \
                    or os.path.basename(weights_file) != weights_file:
                raise ValueError("bad epoch or weights entry")
            values = [np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for v in state["optimizer"]]
            learning_rate = state.get("learning_rate")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path!r}: not a BackupAndRestore state file ({error}). "
                             "Received: a damaged backup") from None
        from rnnkit.saving import rnnkit_format
        _, weights = rnnkit_format.load(os.path.join(self.backup_dir, weights_file))
        self.model.set_weights(weights)
        optimizer = self.model.optimizer
        optimizer.set_variables(values, variables=self._variables())
        if learning_rate is not None and not callable(optimizer._learning_rate):
            optimizer.learning_rate = learning_rate
        self.model._initial_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        import json
        import tempfile

        os.makedirs(self.backup_dir, exist_ok=True)
        weights_file = f"weights-{epoch + 1}.npz"
        self.model.save_weights(os.path.join(self.backup_dir, weights_file))
        optimizer = self.model.optimizer
        variables = optimizer.get_variables("tf_keras") if optimizer.built else [np.array(optimizer.iterations)]
        state = {"epoch": epoch + 1, "weights": weights_file,
                 "learning_rate": None if callable(optimizer._learning_rate) else optimizer.learning_rate,
                 "optimizer": [{"shape": list(v.shape), "dtype": v.dtype.name, "data": v.ravel().tolist()}
                               for v in variables]}
        handle, temporary = tempfile.mkstemp(prefix=".rnnkit-", suffix=".tmp", dir=self.backup_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(state, out)
            os.replace(temporary, self._state_path())
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
        for name in os.listdir(self.backup_dir):        # older weights, now unreferenced
            if name.startswith("weights-") and name.endswith(".npz") and name != weights_file:
                os.remove(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            if name == self.STATE or (name.startswith("weights-") and name.endswith(".npz")):
                os.remove(os.path.join(self.backup_dir, name))
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass


class RemoteMonitor(Callback):
    """Keras's RemoteMonitor posts logs to a server; rnnkit makes no network connections, so it
    is refused at construction. Log to a file with CSVLogger instead."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        raise ValueError("RemoteMonitor sends training logs over the network, which rnnkit does not do; use "
                         f"CSVLogger to write them to a file. Received: root={root!r}, path={path!r}")
