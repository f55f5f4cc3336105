"""What Sequential does with data: compile, fit, evaluate, predict and the *_on_batch calls.

A training step is: forward (layers keep caches), the loss and its gradient with respect to the
output, backward through the layers in reverse (each fills `grads`), then one optimizer update of
every trainable weight in place. Nothing is updated when the loss or a gradient is not finite.

Every argument is checked before the first step, so a refused call changes nothing. Inference
(predict, evaluate, __call__, predict_on_batch, test_on_batch) is safe from several threads at
once and gives each exactly its one-thread result; training is one thread at a time, and an
overlapping call is refused with RuntimeError (see `_ThreadGuard`).
"""

import contextlib
import math
import sys
import threading
import warnings

import numpy as np

from rnnkit import backend
from rnnkit import callbacks as callbacks_module
from rnnkit import distribute
from rnnkit import losses as losses_module
from rnnkit import metrics as metrics_module
from rnnkit import optimizers as optimizers_module
from rnnkit.layers.base import as_real_array, cast_checked, held_by
from rnnkit.utils.data_adapter import (RAN_OUT, ArraySource, check_class_weight, check_count, check_steps,
                                       class_sample_weights, is_batch_source, source_of, unpack)


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


_check_count = check_count  # one rule for counts, here and in the data adapter


def _check_callbacks(callbacks):
    """A list of Callback instances from `callbacks` (None, one Callback, a list or a tuple), or TypeError."""
    if callbacks is None:
        return []
    if isinstance(callbacks, callbacks_module.Callback):
        return [callbacks]  # Keras (2 and 3) takes one bare callback as a list of one; programs rely on it
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"Argument `callbacks` must be a list of Callback instances. Received: {callbacks!r}")
    for callback in callbacks:
        if not isinstance(callback, callbacks_module.Callback):
            raise TypeError("Argument `callbacks` must hold Callback instances. "
                            f"Received: {callback!r} of type {type(callback).__name__}")
    return list(callbacks)


def _check_finite(array, argument):
    for part in getattr(array, "arrays", [array]):  # a functional model's several inputs, each checked
        # One reduction first: a finite sum proves every value finite. Only a sum that is not (a bad
        # value, or finite values overflowing the sum) pays for the elementwise test, which decides.
        if part.dtype.kind == "f" and not math.isfinite(np.add.reduce(part, axis=None)) \
                and not np.isfinite(part).all():
            raise ValueError(f"Argument `{argument}` must hold finite numbers. Received: NaN or inf values")


def _check_layers_trainable(layers):
    """Asks every layer (and the layers and cells it holds) whether it can train: a recurrent
    layer whose cell has no `backward` raises ValueError naming it."""
    for layer in layers:
        check = getattr(layer, "check_trainable", None)
        if check is not None:
            check()
        _check_layers_trainable(held_by(layer))


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


def _plain_metrics(metrics):
    """Metric identifiers from a compile config: tf_keras nests them per output
    ([[{"class_name": "MeanMetricWrapper", "config": {"name": "mae", ...}}]]); Keras 3 lists names."""
    if not metrics:
        return None
    if isinstance(metrics, dict):
        raise ValueError(f"Argument `metrics` keyed by output needs a model with several outputs. Received: {metrics!r}")
    if len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]
    plain = []
    for metric in metrics:
        if isinstance(metric, dict) and metric.get("class_name") == "MeanMetricWrapper":
            metric = (metric.get("config") or {}).get("name")
        plain.append(metric)
    return plain or None


class TrainingMixin:
    """Compiling, training, evaluating and predicting; mixed into Sequential."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.compiled_weighted_metrics = []
        self._metric_ids = []
        self._weighted_metric_ids = []
        self._loss_id = None
        self.stop_training = False
        self._guard = _ThreadGuard()
        self._leaf_cache = None     # the layers that own weights, while the model's layers stay the same

    # ---- compile --------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None, jit_compile=None, **kwargs):
        """Configures training.

        Args:
            optimizer: name ('sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam', 'adamax',
                'adadelta', 'ftrl', 'lion'), a config dict or an Optimizer.
            loss: name ('mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy',
                'sparse_categorical_crossentropy'), a Loss instance or class, or a function of
                `rnnkit.losses`.
            metrics: list of names ('accuracy', 'mae', 'AUC', ...), Metric objects or functions;
                they ignore sample and class weights (as in Keras).
            weighted_metrics: the same, weighted by sample weights: sum(s_i m_i) / sum(s_i); named
                `weighted_<name>` in logs and History.

        Raises:
            ValueError / TypeError: for unknown names; the model keeps its previous compilation.
        """
        if kwargs:
            raise TypeError(f"Unexpected arguments to compile: {sorted(kwargs)}. Received: {kwargs!r}")
        if loss is None:
            raise ValueError("Argument `loss` is required to train. Received: loss=None")
        if loss_weights is not None:
            raise ValueError("Argument `loss_weights` is for models with several outputs; a Sequential has one. "
                             f"Received: loss_weights={loss_weights!r}")
        _check_layers_trainable(self._leaf_layers())  # a user cell without backward is refused here, not mid-epoch
        new_optimizer = optimizers_module.get(optimizer)
        new_loss = losses_module.get(loss)
        metric_ids = metrics_module.check_names(metrics, "metrics")
        weighted_ids = metrics_module.check_names(weighted_metrics, "weighted_metrics")
        with self._guard.exclusive("compile", "compiling replaces the loss and the optimizer"):
            self.optimizer, self.loss, self._loss_id = new_optimizer, new_loss, loss
            self._metric_ids, self._weighted_metric_ids = metric_ids, weighted_ids
            self.compiled_metrics, self.compiled_weighted_metrics = [], []

    def get_compile_config(self):
        """What `compile` was given, as plain JSON-able data in Keras 3's layout (None when never
        compiled): optimizer and loss as {"module", "class_name", "config", "registered_name"},
        metrics and weighted_metrics as names or class configs (a custom function is left out)."""
        if self.loss is None:
            return None
        loss = self._loss_id if isinstance(self._loss_id, str) else {
            "module": "keras.losses", "class_name": type(self.loss).__name__, "config": self.loss.get_config(),
            "registered_name": None}
        metrics = [m for m in map(metrics_module.serialize, self._metric_ids) if m is not None]
        weighted = [m for m in map(metrics_module.serialize, self._weighted_metric_ids) if m is not None]
        return {"optimizer": optimizers_module.serialize(self.optimizer), "loss": loss, "loss_weights": None,
                "metrics": metrics or None, "weighted_metrics": weighted or None, "run_eagerly": False,
                "steps_per_execution": 1, "jit_compile": False}

    def _file_compile_state(self):
        """The compile settings and optimizer state a Keras file stores (None when not compiled)."""
        config = self.get_compile_config() if self.optimizer is not None else None
        if not config:
            return None
        from rnnkit import layers as layers_module
        from rnnkit.saving import keras_files, keras_weights
        stepped = bool(self.optimizer.iterations)
        names = []
        if stepped:
            trainable = []
            for layer in self._layers:
                chosen = {id(w) for w in layer.trainable_weights}
                names = keras_weights.keras2_weight_names(layers_module.serialize(layer))
                trainable += [name.split(":")[0] for name, w in zip(names, layer.weights.values()) if id(w) in chosen]
            names = [f"{n}:0" if not n.endswith(":0") else n for n in self.optimizer.variable_names(trainable, "tf_keras")]
        return keras_files.compile_state_for(
            config, self.get_optimizer_variables("keras3") if stepped else [],
            self.get_optimizer_variables("tf_keras") if stepped else [], names,
            (config["optimizer"].get("config") or {}).get("name", "optimizer"))

    def compile_from_config(self, config):
        """Compiles from `get_compile_config()`'s data, Keras 3's `compile_config` (config.json of a
        .keras) or tf_keras's `training_config` (a Keras 2 .h5's attribute: `optimizer_config`,
        metrics nested per output as MeanMetricWrapper configs).

        Raises:
            ValueError / TypeError: for a config that names something rnnkit does not have.
        """
        if not isinstance(config, dict) or "loss" not in config:
            raise ValueError(f"Argument `config` must be a compile config dict with a loss. Received: {config!r:.200}")
        optimizer = config.get("optimizer") or config.get("optimizer_config") or "rmsprop"
        self.compile(optimizer=optimizer, loss=config["loss"],
                     metrics=_plain_metrics(config.get("metrics")),
                     weighted_metrics=_plain_metrics(config.get("weighted_metrics")))

    def get_optimizer_variables(self, layout="tf_keras"):
        """The optimizer's state as arrays in Keras's order, for saving (rnnkit's extension).

        Args:
            layout: 'tf_keras' ([iterations, slots...], a Keras 2 .h5's `optimizer_weights`) or
                'keras3' ([iteration, learning_rate, slots...], a .keras's `optimizer/vars`).

        Returns:
            A list of arrays ([iterations] alone before the first step); [] when not compiled.
        """
        if self.optimizer is None:
            return []
        return self.optimizer.get_variables(layout)

    def set_optimizer_variables(self, values, layout="tf_keras"):
        """Restores the optimizer's state from Keras's ordered list (all or nothing), building
        its slots for this model's trainable weights; training then goes on where it stopped.

        Raises:
            RuntimeError: when the model is not compiled.
            ValueError: for a count, shape or value that does not fit.
        """
        self._require_compiled("restoring an optimizer's state")
        with self._guard.exclusive("set_optimizer_variables", "it replaces the optimizer's state"):
            self.optimizer.set_variables(values, variables=self._trainable_arrays(), layout=layout)

    def _require_compiled(self, call):
        if self.loss is None:
            raise RuntimeError(f"You must compile your model before {call}. Call `model.compile(optimizer, loss)`. "
                               "Received: a model that was never compiled")

    # ---- threads --------------------------------------------------------------------------------
    def _is_stateful(self):
        return any(getattr(layer, "stateful", False) for layer in self._leaf_layers())

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

    def _check_sample_weight(self, sample_weight, x, argument="sample_weight"):
        """Per-sample (samples,) or per-step (samples, time) weights fitting the loss's per-sample
        values, as float64; None stays None."""
        if sample_weight is None:
            return None
        sw = as_real_array(sample_weight, argument)
        _check_finite(sw, argument)
        output_shape = self.output_shape_for(x.shape)
        values_shape = (len(x),) + tuple(output_shape[1:-1])
        if sw.ndim == len(values_shape) + 1 and sw.shape[-1] == 1:
            sw = sw[..., 0]
        if sw.shape != values_shape and sw.shape != values_shape[:1]:
            raise ValueError(
                f"Argument `{argument}` must have shape {values_shape[:1]}"
                + (f" or {values_shape} (one weight per time step)" if len(values_shape) > 1 else "")
                + f" for {len(x)} samples and outputs of shape {tuple(output_shape)}. Received: shape {sw.shape}")
        return sw.astype(np.float64)

    def _check_batch(self, x, y, sw, class_table, argument="x"):
        """One batch checked: (x, y, combined sample weights or None)."""
        names = (argument, "y", "sample_weight") if argument == "x" else (
            f"{argument}[0]", f"{argument}[1]", f"{argument}[2]")
        raw_y = y
        x, y = self._check_xy(x, y, names[0], names[1])
        sw = self._check_sample_weight(sw, x, names[2])
        if class_table is not None:
            cw = class_sample_weights(class_table, as_real_array(raw_y, names[1]), names[1])
            if sw is None:
                sw = cw
            else:
                sw = sw * cw.reshape((-1,) + (1,) * (sw.ndim - 1))
        return x, y, sw

    def _batch_for(self, batch_size, given, counts, argument="batch_size"):
        """The batch size to use. A stateful model runs only full batches of the size it was built
        for: that size is the default, another one is refused, and so is any sample count that
        is not a multiple of it, all before the first step changes a state or a weight."""
        fixed = next((layer.input_shape[0] for layer in self._leaf_layers() if getattr(layer, "stateful", False)), None)
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
        fixed = next((layer.input_shape[0] for layer in self._leaf_layers() if getattr(layer, "stateful", False)), None)
        if fixed is not None and len(x) != fixed:
            raise ValueError(
                f"Argument `{argument}` must hold exactly one batch of the model: model \"{self.name}\" is "
                f"stateful with batch size {fixed}. Received: a batch of {len(x)}")

    def _resolve_metrics(self, identifiers, y, output_shape, prefix=""):
        resolved = []
        for identifier in identifiers:
            metric = metrics_module.get(identifier, self.loss, y.shape, output_shape)
            if isinstance(identifier, metrics_module.Metric) and prefix:
                metric = metrics_module.fresh_copy(identifier)
            if prefix:
                metric.name = prefix + metric.name
            resolved.append(metric)
        return resolved

    def _fresh_metrics(self, y, output_shape):
        """New metric objects for one evaluation (never shared between threads or calls)."""
        plain = [metrics_module.fresh_copy(m) if isinstance(m, metrics_module.Metric) else m
                 for m in self._resolve_metrics(self._metric_ids, y, output_shape)]
        weighted = [metrics_module.fresh_copy(m) if isinstance(m, metrics_module.Metric) else m
                    for m in self._resolve_metrics(self._weighted_metric_ids, y, output_shape, "weighted_")]
        return plain, weighted

    def _metrics_for(self, y, input_shape):
        """The compiled metric objects, resolved (for targets `y` and outputs of inputs shaped
        `input_shape`) at the first call that needs them."""
        if not self.compiled_metrics and self._metric_ids:
            self.compiled_metrics = self._resolve_metrics(self._metric_ids, y, self.output_shape_for(input_shape))
        if not self.compiled_weighted_metrics and self._weighted_metric_ids:
            self.compiled_weighted_metrics = self._resolve_metrics(self._weighted_metric_ids, y,
                                                                   self.output_shape_for(input_shape), "weighted_")
        return self.compiled_metrics, self.compiled_weighted_metrics

    @property
    def metrics_names(self):
        """Keras 2's names of what train_on_batch / evaluate return, in order (known from
        compile on: a name is the string given, a function's name or a metric object's name)."""
        def name(identifier):
            if isinstance(identifier, str) and (identifier in ("accuracy", "acc")
                                                or identifier in metrics_module._FUNCTIONS):
                return identifier
            if isinstance(identifier, metrics_module.Metric):
                return identifier.name
            return metrics_module.get(identifier).name
        if self.loss is None:
            return []
        return (["loss"] + [name(m) for m in self._metric_ids]
                + ["weighted_" + name(m) for m in self._weighted_metric_ids])

    # ---- one batch ------------------------------------------------------------------------------
    def _trainable_keys(self):
        """(layer, weight name) of every weight the optimizer updates, in Keras's order: a layer's
        `trainable_weights` only (a BatchNormalization's moving statistics get no slots and no
        weight decay; a frozen layer none at all)."""
        keys = []
        for layer in self._leaf_layers():
            weights, trainable = layer.weights, layer.trainable_weights
            if len(trainable) == len(weights):      # a subset as large as the set: all of them train
                keys += [(layer, key) for key in weights]
                continue
            trainable = {id(w) for w in trainable}
            keys += [(layer, key) for key, w in weights.items() if id(w) in trainable]
        return keys

    def _trainable_pairs(self):
        return [(layer.grads[key], layer.weights[key]) for layer, key in self._trainable_keys()]

    def _trainable_arrays(self):
        """The trainable weights, in the order the optimizer's slots follow."""
        return [layer.weights[key] for layer, key in self._trainable_keys()]

    def _trainable_names(self):
        return [f"{layer.name}/{key}" for layer, key in self._trainable_keys()]

    def _drop_caches(self):
        self._pending_caches = None     # the caches give their buffers back to the layers
        self._pending = None


    def _weighted_loss(self, per_sample, mask, sample_weight):
        """tf_keras's reduction: loss = sum(w_i l_i) / (number of values), where w = the output
        mask scaled by total / valid (so masked steps drop out of the mean) times the sample
        weights. Returns (loss, w or None, mask for metrics or None, sample weights for weighted
        metrics or None). Callers ignore overflow (np.errstate): they detect divergence themselves."""
        weights, metric_mask = None, None
        if mask is not None and np.shape(mask) == per_sample.shape:
            metric_mask = np.asarray(mask, bool)
            valid = metric_mask.sum()
            weights = metric_mask.astype(np.float64) * ((metric_mask.size / valid) if valid else 0.0)
        metric_weights = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, np.float64)
            sw = np.broadcast_to(sw.reshape(sw.shape + (1,) * (per_sample.ndim - sw.ndim)), per_sample.shape)
            weights = sw if weights is None else weights * sw
            metric_weights = sw if metric_mask is None else sw * metric_mask
        count = max(per_sample.size, 1)
        if weights is None:
            loss = float(per_sample.sum(dtype=np.float64)) / count
        else:
            loss = float(np.sum(per_sample * weights, dtype=np.float64)) / count
        return loss, weights, metric_mask, metric_weights

    def _masked_loss(self, y, output, mask, per_sample=None, sample_weight=None):
        with np.errstate(over="ignore", invalid="ignore"):
            if per_sample is None:
                per_sample = self.loss.per_sample(y, output)
            return self._weighted_loss(per_sample, mask, sample_weight)

    @staticmethod
    def _update_metrics(metrics, y, output, metric_mask, metric_weights):
        plain, weighted = metrics
        for m in plain:
            m.update_state(y, output, metric_mask)
        for m in weighted:
            m.update_state(y, output, metric_weights if metric_weights is not None else metric_mask)

    def _train_step(self, x, y, sample_weight=None, session=None):
        """Forward, loss, backward, update. Returns (loss, output, metric mask, metric weights);
        no update if the loss or a gradient is not finite. Under a data-parallel `session` the
        gradients and the loss become the global batch's (one allreduce) before the update."""
        activity = []
        penalized = self._penalized_layers()    # asked three times below: once per step is enough
        output, mask = self._run(x, training=True, activity=activity)
        if session is not None and not len(x):   # an empty shard of a short last batch: adds nothing
            self._drop_caches()
            loss, count, metric_mask, metric_weights = 0.0, 0, None, None
            pairs = [(np.zeros_like(w), w) for w in self._trainable_arrays()]
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected just below
                per_sample, d_output = self.loss.per_sample_and_gradient(y, output)
                loss, weights, metric_mask, metric_weights = self._weighted_loss(per_sample, mask, sample_weight)
            # tf_keras: weight penalties on the weights before this step's update, activity penalties of
            # this call's layer outputs (each / batch size)
            loss += self._penalties(activity, penalized)
            diverged = not math.isfinite(loss)
            if diverged:
                self._drop_caches()
                if session is None:
                    return loss, output, metric_mask, metric_weights
            else:
                if weights is not None:
                    d_output = d_output * weights.astype(output.dtype)[..., None]
                self._backward(d_output)
                self._add_penalty_gradients(penalized)
            pairs = None if diverged else self._trainable_pairs()
            count = metric_mask.sum() if metric_mask is not None else per_sample.size   # the mean's denominator
        if session is not None:     # every rank joins the step's allreduce, one whose loss diverged too
            loss = session.reduce_gradients(pairs, loss, count)
            if not math.isfinite(loss):
                return loss, output, metric_mask, metric_weights
        if not all(math.isfinite(np.add.reduce(g, axis=None)) for g, _ in pairs):
            return float("nan"), output, metric_mask, metric_weights
        if getattr(self.optimizer, "_exclude_names", None):     # names only where a regex needs them
            self.optimizer.apply_gradients(pairs, variable_names=self._trainable_names())
        else:
            self.optimizer.apply_gradients(pairs)
        for layer in penalized:  # Keras projects constrained weights after each update
            layer.apply_constraints()
        return loss, output, metric_mask, metric_weights

    def _penalized_layers(self):
        return [layer for layer in self._leaf_layers() if getattr(layer, "has_penalties", None) and layer.has_penalties()]

    def _leaf_layers(self):
        """The layers that own weights, nested models opened: what the optimizer, the penalties and
        the stateful rules see. Asked several times a step, so kept while the model's layers stay
        the same (a model holding models walks them again: their own layers may have changed)."""
        if self._leaf_cache is not None:       # Sequential.add and pop drop it
            return self._leaf_cache
        from rnnkit.models.nesting import ModelAsLayer, leaf_layers
        leaves = leaf_layers(self._layers)
        if not any(isinstance(layer, ModelAsLayer) for layer in self._layers):
            self._leaf_cache = leaves
        return leaves

    def _penalties(self, activity, penalized=None):
        """What tf_keras adds to the data loss: the weight penalties and this call's activity penalties."""
        return self._weight_penalty(penalized) + float(sum(activity))

    def _weight_penalty(self, penalized=None):
        """The weight regularizers' penalties (L1/L2 of kernels, biases, ...), which tf_keras adds to
        the loss it reports and trains on."""
        layers = self._penalized_layers() if penalized is None else penalized
        return float(sum(layer.regularization_penalty() for layer in layers if layer.trainable))

    def _add_penalty_gradients(self, penalized=None):
        for layer in self._penalized_layers() if penalized is None else penalized:
            if layer.trainable:
                for name, grad in layer.regularization_gradients().items():
                    layer.grads[name] = layer.grads[name] + grad

    @staticmethod
    def _logs(loss_total, seen, metrics):
        logs = {"loss": loss_total / seen if seen else 0.0}
        for group in metrics:
            logs.update({m.name: m.result() for m in group})
        return logs

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One training step on one batch. Returns the loss before the update (and metrics).

        Args:
            sample_weight: (samples,) or, for sequence outputs, (samples, time) weights.
            class_weight: {class: weight}, turned into sample weights as Keras does.

        Raises:
            RuntimeError: while another thread trains or runs this model (see `fit`).
        """
        self._require_compiled("training")
        class_table = check_class_weight(class_weight)
        with self._training("train_on_batch"):
            x, y, sw = self._check_batch(x, y, sample_weight, class_table)
            self._check_full_batch(x)
            metrics = self._metrics_for(y, x.shape)
            if reset_metrics:
                for m in metrics[0] + metrics[1]:
                    m.reset_state()
            loss, output, metric_mask, metric_weights = self._train_step(x, y, sw)
            self._update_metrics(metrics, y, output, metric_mask, metric_weights)
            return self._result(self._logs(loss, 1, metrics), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        """The loss (and metrics) on one batch, without training. Safe from several threads."""
        self._require_compiled("evaluating")
        with self._inference("test_on_batch"):
            x, y, sw = self._check_batch(x, y, sample_weight, None)
            self._check_full_batch(x)
            metrics = self._fresh_metrics(y, self.output_shape_for(x.shape))
            activity = []
            output, mask = self._run(x, activity=activity)
            loss, _, metric_mask, metric_weights = self._masked_loss(y, output, mask, sample_weight=sw)
            loss += self._penalties(activity)
            self._update_metrics(metrics, y, output, metric_mask, metric_weights)
            return self._result(self._logs(loss, 1, metrics), return_dict)

    @staticmethod
    def _result(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ---- whole datasets ---------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, **kwargs):
        """Trains for `epochs` epochs of mini-batches and returns a History.

        Args:
            x, y: inputs and targets (same number of samples); or `x` alone as a generator, an
                iterable of batches (x, y) / (x, y, sample_weight), or a keras.utils.Sequence /
                PyDataset (then `y`, `batch_size`, `sample_weight` and `validation_split` are
                not given). Batches are read one at a time, never all at once.
            batch_size: samples per step (default 32; a stateful model's own batch size).
            epochs: the epoch to stop after (counting from 0 with `initial_epoch`).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, 'auto' = 1.
            callbacks: list of Callback.
            validation_split: fraction of the data, taken from the end before shuffling, to
                validate on after each epoch (arrays only).
            validation_data: (x_val, y_val) or (x_val, y_val, val_sample_weight), or a generator,
                iterable or Sequence of such batches.
            shuffle: reshuffle the training samples (a Sequence's batch order) every epoch.
            class_weight: {class index: weight} for every class 0..K-1; becomes sample weights.
            sample_weight: (samples,) weights, or (samples, time) for sequence outputs.
            initial_epoch: the epoch to start from (to resume).
            steps_per_epoch: batches per epoch (default: all of them; required for an endless
                generator). A generator goes on across epochs where the last one stopped.
            validation_steps: batches per validation (default: all of them).
            validation_batch_size: samples per validation batch (default `batch_size`).
            validation_freq: validate every this many epochs (an int), or after the epochs listed
                (a list of epoch numbers counted from 1).

        Raises:
            ValueError / TypeError: before any weight changes, for bad arguments (a batch of a
                generator is checked when it comes: a bad batch stops training before its step).
            RuntimeError: while another thread trains or runs this model (training is one thread
                at a time; refused at once, not queued).
        """
        self._require_compiled("training")
        for name in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(name, None)           # Keras 2's generator options: nothing to run in parallel
        if kwargs:
            raise TypeError(f"Unexpected arguments to fit: {sorted(kwargs)}. Received: {kwargs!r}")
        strategy = distribute.distribution()
        with self._training("fit"), (strategy.fit_session(self) if strategy else contextlib.nullcontext()) as session:
            return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                             shuffle, initial_epoch, class_weight, sample_weight, steps_per_epoch,
                             validation_steps, validation_batch_size, validation_freq, session)

    def _validation_source(self, validation_data, validation_batch_size, validation_steps):
        """(source, arrays_checked) for validation_data: arrays are checked now, batches later."""
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and not all(
                isinstance(item, tuple) for item in validation_data):
            x_val, y_val = self._check_xy(validation_data[0], validation_data[1], x_argument="validation_data[0]",
                                          y_argument="validation_data[1]")
            sw_val = self._check_sample_weight(validation_data[2] if len(validation_data) == 3 else None, x_val,
                                               "validation_data[2]")
            return ArraySource((x_val, y_val, sw_val), validation_batch_size, False, False), len(x_val)
        if is_batch_source(validation_data, None):
            return source_of(validation_data, "validation_data", False, validation_steps), None
        raise ValueError("Argument `validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                         "sample_weight), or a generator / iterable / Sequence of batches. Received: "
                         + (f"a {type(validation_data).__name__} of {len(validation_data)} items"
                            if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__))

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             initial_epoch, class_weight, sample_weight, steps_per_epoch, validation_steps,
             validation_batch_size, validation_freq, session=None):
        # Every argument is checked here, before the first step changes anything.
        batch_given, validation_batch_given = batch_size, validation_batch_size
        batch_size = _check_batch_size(batch_size)
        validation_batch_size = (batch_size if validation_batch_size is None
                                 else _check_batch_size(validation_batch_size, "validation_batch_size"))
        verbose = _check_verbose(verbose)
        epochs = _check_count(epochs, "epochs", 0)
        initial_epoch = _check_count(initial_epoch, "initial_epoch", 0)
        steps_per_epoch = check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = check_steps(validation_steps, "validation_steps")
        if (isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.integer, np.floating))
                or not 0.0 <= validation_split < 1.0):
            raise ValueError(f"Argument `validation_split` must be a float in [0, 1). Received: {validation_split!r}")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"Argument `shuffle` must be True or False. Received: {shuffle!r}")
        validate_on = _check_validation_freq(validation_freq)
        user_callbacks = _check_callbacks(callbacks)
        class_table = check_class_weight(class_weight)
        streaming = is_batch_source(x, y)
        val_source = None
        if streaming:
            # `batch_size` is checked above but otherwise ignored here, as Keras does: a stream's batches
            # come sized, and programs written for Keras pass it anyway.
            for name, value in (("y", y), ("sample_weight", sample_weight)):
                if value is not None:
                    raise ValueError(f"Argument `{name}` must not be given when `x` is a generator, an iterable of "
                                     f"batches or a Sequence: each batch holds its own. Received: {name}={value!r:.100}")
            if validation_split:
                raise ValueError("Argument `validation_split` needs arrays; pass `validation_data` with a "
                                 f"generator or Sequence. Received: validation_split={validation_split!r}")
            train_source = source_of(x, "x", bool(shuffle), steps_per_epoch)
            counts = []
        else:
            x, y, sw = self._check_batch(x, y, sample_weight, None)
            x_val = None
            if validation_data is None and validation_split:
                split_at = int(len(x) * (1.0 - validation_split))
                if split_at == 0 or split_at == len(x):
                    raise ValueError(f"Argument `validation_split`={validation_split} leaves no sample on one side "
                                     f"of {len(x)}. Received: validation_split={validation_split!r}")
                x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
                sw_val = None if sw is None else sw[split_at:]
                sw = None if sw is None else sw[:split_at]
            if class_table is not None:     # the training samples only: tf_keras splits validation off first
                cw = class_sample_weights(class_table, y)
                sw = cw if sw is None else sw * cw.reshape((-1,) + (1,) * (sw.ndim - 1))
            if validation_data is not None:
                counts = [("x", len(x))]
            elif x_val is not None:
                counts = [("validation_split", len(x), f"={validation_split} leaves training"),
                          ("validation_split", len(x_val), f"={validation_split} takes for validation")]
            else:
                counts = [("x", len(x))]
            batch_size = self._batch_for(batch_size, batch_given, counts)
            validation_batch_size = self._batch_for(validation_batch_size, validation_batch_given, [],
                                                    "validation_batch_size")
            train_source = ArraySource((x, y, sw), batch_size, bool(shuffle), steps_per_epoch is not None)
            if x_val is not None:
                val_source = ArraySource((x_val, y_val, sw_val), validation_batch_size, False, False)
        if validation_data is not None:
            val_source, val_count = self._validation_source(validation_data, validation_batch_size, validation_steps)
            if val_count is not None and not streaming:
                self._batch_for(validation_batch_size, validation_batch_given, [("validation_data", val_count)],
                                "validation_batch_size")
        steps = steps_per_epoch if steps_per_epoch is not None else train_source.steps

        # The first batch of a stream is read and checked before training begins, so that a stream
        # of the wrong shape fails before any callback or step runs.
        pending = None
        if streaming:
            iterator = train_source.epoch()
            try:
                item = next(iterator)
            except StopIteration:
                raise ValueError("Argument `x` yielded no batch: the dataset or generator is empty. "
                                 "Received: an empty input") from None
            pending = self._check_batch(*unpack(item, "x"), class_table)
            first_epoch_iterator = iterator
        y_probe = pending[1] if pending else train_source.arrays[1]
        x_probe = pending[0] if pending else train_source.arrays[0]
        metrics = self._metrics_for(y_probe, x_probe.shape)
        if session is not None:     # refuses what cannot be split; rank 0 alone prints and writes files
            verbose, user_callbacks = session.prepare(train_source, batch_size, len(x_probe) if streaming else None,
                                                      metrics, verbose, user_callbacks)
        logged = ["loss"] + [m.name for group in metrics for m in group]
        if val_source is not None:
            logged += [f"val_{name}" for name in logged]
        history = callbacks_module.History()
        self.history = history
        progbar = [callbacks_module.ProgbarLogger(verbose=verbose)] if verbose else []
        callback_list = callbacks_module.CallbackList(
            progbar + user_callbacks + [history], self,
            {"epochs": epochs, "steps": steps, "verbose": verbose,
             "batch_size": None if streaming else batch_size, "metrics": logged,
             "do_validation": val_source is not None})
        self.stop_training = False
        logs = {}
        self._initial_epoch = None
        callback_list.on_train_begin({})
        if self._initial_epoch is not None:     # BackupAndRestore resumes an interrupted fit
            initial_epoch, self._initial_epoch = max(initial_epoch, self._initial_epoch), None
        if session is not None:     # every rank starts from rank 0's weights and optimizer state
            initial_epoch = session.begin(initial_epoch)
        first = True
        for epoch in range(initial_epoch, epochs):
            if pending is not None and first:
                first = False
                iterator = first_epoch_iterator
            else:
                iterator = train_source.epoch()
            for m in metrics[0] + metrics[1]:
                m.reset_state()
            loss_total, seen, epoch_logs, diverged, ran_out = 0.0, 0, None, False, False
            step = 0
            epoch_started = False
            while steps is None or step < steps:
                if pending is not None:
                    batch, pending = pending, None
                else:
                    try:
                        item = next(iterator)
                    except StopIteration:
                        ran_out = steps is not None or step == 0
                        break
                    batch = (self._check_batch(*unpack(item, "x"), class_table) if streaming else item)
                if not epoch_started:
                    callback_list.on_epoch_begin(epoch, {})
                    epoch_started = True
                x_batch, y_batch, sw_batch = batch
                batch_rows = len(x_batch)
                if session is not None:
                    x_batch, y_batch, sw_batch = session.shard(x_batch, y_batch, sw_batch)
                callback_list.on_train_batch_begin(step, {})
                loss, output, metric_mask, metric_weights = self._train_step(x_batch, y_batch, sw_batch, session)
                loss_total += loss * batch_rows
                seen += batch_rows
                self._update_metrics(metrics, y_batch, output, metric_mask, metric_weights)
                epoch_logs = self._logs(loss_total, seen, metrics if session is None else session.summed(metrics))
                step += 1
                callback_list.on_train_batch_end(step - 1, dict(epoch_logs))
                if not math.isfinite(loss):
                    diverged = True
                    break
                if self.stop_training:
                    break
            if ran_out:
                warnings.warn(RAN_OUT, stacklevel=3)
                self.stop_training = True
            if not epoch_started:
                break
            if steps is None and train_source.steps is None and not diverged:
                steps = step            # Keras 2 learns an unknown epoch length from the first epoch
            logs = epoch_logs
            if session is not None:
                session.end_epoch()
            if (val_source is not None and not diverged and validate_on(epoch + 1)):
                val_logs = self._evaluate_source(val_source, validation_steps, None, None)
                if val_logs is not None:
                    logs.update({f"val_{key}": value for key, value in val_logs.items()})
            train_source.on_epoch_end()
            callback_list.on_epoch_end(epoch, logs)
            if diverged:
                sys.stderr.write(
                    f"Epoch {epoch + 1}, batch {step}: the loss became {loss}; training stopped. "
                    "The weights are those of the last finite step.\n")
                self.stop_training = True
            if session is not None:
                self.stop_training = session.agree_to_stop(self.stop_training)
            if self.stop_training:
                break
        callback_list.on_train_end(dict(logs))
        return history

    def _evaluate_source(self, source, steps, bar, callback_list, argument="validation_data"):
        """Loss and metrics over a source's batches (arrays already checked; batches of a
        stream checked one by one). None when the source yields nothing."""
        limit = steps if steps is not None else source.steps
        iterator = source.epoch()
        metrics = None
        loss_total, seen, step = 0.0, 0, 0
        streaming = not isinstance(source, ArraySource)
        while limit is None or step < limit:
            try:
                item = next(iterator)
            except StopIteration:
                break
            if streaming:
                x_batch, y_batch, sw_batch = self._check_batch(*unpack(item, argument), None, argument)
            else:
                x_batch, y_batch, sw_batch = item
            if metrics is None:
                metrics = self._fresh_metrics(y_batch, self.output_shape_for(x_batch.shape))
            if callback_list is not None:
                callback_list.on_test_batch_begin(step, {})
            activity = []
            output, mask = self._run(x_batch, activity=activity)
            loss, _, metric_mask, metric_weights = self._masked_loss(y_batch, output, mask, sample_weight=sw_batch)
            loss += self._penalties(activity)
            loss_total += loss * len(x_batch)
            seen += len(x_batch)
            self._update_metrics(metrics, y_batch, output, metric_mask, metric_weights)
            step += 1
            logs = self._logs(loss_total, seen, metrics)
            if bar is not None:
                bar.update(step, list(logs.items()), finalize=False)
            if callback_list is not None:
                callback_list.on_test_batch_end(step - 1, dict(logs))
        source.on_epoch_end()
        if metrics is None:
            warnings.warn(RAN_OUT.replace("interrupting training", "no batch to evaluate"), stacklevel=3)
            return None
        logs = self._logs(loss_total, seen, metrics)
        if bar is not None:
            if bar.target is None:
                bar.target = step
            bar.update(step, list(logs.items()), finalize=True)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss (and metrics) over a dataset, batch by batch, without training. Safe from
        several threads at once.

        Args:
            x, y: arrays, or `x` alone as a generator / iterable / Sequence of batches.
            sample_weight: (samples,) or (samples, time) weights (arrays only).
            steps: batches to evaluate (default: all).

        Returns:
            The loss, or [loss, metric, ...] when compiled with metrics (a dict with return_dict).

        Raises:
            ValueError / TypeError: for bad arguments, before any batch runs.
        """
        self._require_compiled("evaluating")
        for name in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(name, None)
        if kwargs:
            raise TypeError(f"Unexpected arguments to evaluate: {sorted(kwargs)}. Received: {kwargs!r}")
        batch_given = batch_size
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        steps = check_steps(steps, "steps")
        user_callbacks = _check_callbacks(callbacks)
        with self._inference("evaluate"):
            if is_batch_source(x, y):
                if sample_weight is not None:   # a given `batch_size` is ignored, as in fit
                    raise ValueError("Argument `sample_weight` must not be given when `x` is a generator or "
                                     "Sequence: each batch holds its own. Received: "
                                     f"sample_weight={sample_weight!r:.60}")
                source = source_of(x, "x", False, steps)
            else:
                x, y, sw = self._check_batch(x, y, sample_weight, None)
                batch_size = self._batch_for(batch_size, batch_given, [("x", len(x))])
                source = ArraySource((x, y, sw), batch_size, False, False)
            total = steps if steps is not None else source.steps
            callback_list = callbacks_module.CallbackList(user_callbacks, self, {"verbose": verbose, "steps": total})
            bar = callbacks_module.Progbar(total, verbose=verbose) if verbose else None
            callback_list.on_test_begin({})
            logs = self._evaluate_source(source, steps, bar, callback_list, "x")
            if logs is None:
                raise ValueError("Argument `x` yielded no batch to evaluate. Received: an empty input")
            callback_list.on_test_end(dict(logs))
            return self._result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Runs the model on `x` batch by batch and returns the stacked outputs. Safe from
        several threads at once (each gets exactly its one-thread result).

        Args:
            x: array of shape (samples, ...) matching the model's input, or a generator /
                iterable / Sequence of batches (x, (x,) or (x, y, ...): targets are ignored).
            batch_size: samples per batch (default 32; a stateful model's own batch size).
            verbose: 0 silent, 1 or 'auto' a progress bar, 2 one line.
            steps: batches to run (default: all).
            callbacks: list of Callback (their on_predict_* hooks are called).

        Returns:
            An array, or a list of arrays when the last layer returns several.

        Raises:
            ValueError / TypeError: for bad arguments, before any batch runs.
        """
        for name in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(name, None)
        if kwargs:
            raise TypeError(f"Unexpected arguments to predict: {sorted(kwargs)}. Received: {kwargs!r}")
        steps = check_steps(steps, "steps")
        batch_given = batch_size
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        user_callbacks = _check_callbacks(callbacks)
        with self._inference("predict"):
            if is_batch_source(x, None):
                source = source_of(x, "x", False, steps)   # a given `batch_size` is ignored, as in fit
                streaming = True
            else:
                x = self._prepare_input(x, allow_empty=False)
                batch_size = self._batch_for(batch_size, batch_given, [("x", len(x))])
                source = ArraySource((x,), batch_size, False, False)
                streaming = False
            total = steps if steps is not None else source.steps
            hooks = (callbacks_module.CallbackList(user_callbacks, self, {"verbose": verbose, "steps": total})
                     if user_callbacks else None)
            bar = callbacks_module.Progbar(total, verbose=verbose) if verbose else None
            if hooks:
                hooks.on_predict_begin({})
            outputs = []
            iterator = source.epoch()
            step = 0
            while total is None or step < total:
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                if streaming:
                    x_batch = self._prepare_input(unpack(item, "x", need_y=False)[0], allow_empty=False)
                else:
                    x_batch = item[0]
                if hooks:
                    hooks.on_predict_batch_begin(step, {})
                outputs.append(self._run(x_batch)[0])
                if hooks:
                    hooks.on_predict_batch_end(step, {"outputs": outputs[-1]})
                step += 1
                if bar is not None:
                    bar.update(step, finalize=False)
            source.on_epoch_end()
            if bar is not None:
                if bar.target is None:
                    bar.target = step
                bar.update(step, finalize=True)
            if hooks:
                hooks.on_predict_end({})
        if not outputs:
            raise ValueError("Argument `x` yielded no batch to predict. Received: an empty input")
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
