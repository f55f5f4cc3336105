"""The Layer base class: arguments, shapes, weights and the forward/backward contract.

A layer owns `weights` (name -> array, in Keras's order) and, after `backward`, `grads` (same
keys). Weights are only ever changed in place, so optimizers and wrappers may hold references.

The contract (DESIGN.md):
    forward_with_cache(x, mask, training) -> (outputs, cache)   cache: None unless training; owned
                                                                  by the caller, one per call
    backward(d_out, cache) -> d_in        uses the cache up; ADDS the call's weight gradients to
                                          `grads` (a layer called twice, then backpropagated
                                          through both calls, holds the sum). `grads` restart at
                                          the first backward after a forward that found no other
                                          cache of the layer pending.
    gradients(d_out, cache) -> (d_in, {name: grad})   the same without touching `grads` (wrappers)
    forward(x, mask, training) -> outputs  the one-call convenience: in training it keeps the
                                          call's cache as the layer's pending one, which
                                          `backward(d_out)` without a cache uses.
A used cache, another layer's cache or no cache at all raise RuntimeError; no cache can be
overwritten by a later call (each holds its own buffers).
"""

from typing import NamedTuple, Optional

import numpy as np

from rnnkit import backend
from rnnkit.layers.symbolic import is_symbolic, symbolic_call

# Keyword arguments every Keras 2 layer accepts besides its own.
_BASE_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "input_dim", "input_length",
                "dtype", "name", "trainable", "weights", "autocast", "activity_regularizer"}


def shape_to_tuple(shape, argument):
    """Validates a shape (ints > 0 or None) and returns it as a tuple."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"Argument `{argument}` must be a tuple of ints. Received: {shape!r}") from None
    for dim in shape:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim <= 0):
            raise ValueError(
                f"Argument `{argument}` must hold positive ints or None. Received: {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


def as_real_array(value, argument):
    """`value` as a NumPy array of real numbers (bool, int or float), or a clear error.

    Complex numbers would lose their imaginary part and strings or objects fail deep inside
    NumPy, so both are refused here; so are ragged lists (samples of unequal lengths).
    """
    if value is None:
        raise ValueError(f"Argument `{argument}` is required. Received: {argument}=None")
    if isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"Argument `{argument}` must be an array of numbers. Received: {type(value).__name__}")
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except (ValueError, TypeError):
            lengths = sorted({len(v) for v in value if hasattr(v, "__len__")}) if isinstance(value, (list, tuple)) else []
            raise ValueError(
                f"Argument `{argument}` must be a rectangular array: every sample of the same shape "
                f"(pad sequences with `pad_sequences`). Received: a ragged {type(value).__name__}"
                + (f" with sample lengths {lengths[:5]}" if lengths else "")) from None
    if value.dtype.kind not in "biuf":
        what = {"c": "complex numbers (the imaginary part would be lost)", "O": "Python objects",
                "U": "strings", "S": "bytes"}.get(value.dtype.kind, f"dtype {value.dtype}")
        raise TypeError(f"Argument `{argument}` must hold real numbers (bool, int or float). "
                        f"Received: an array of {what}, dtype {value.dtype}")
    return value


def cast_checked(array, dtype, argument):
    """`array` cast to the float type `dtype`; ValueError if a finite value would become inf
    (1e39 is finite in float64 and overflows float32)."""
    dtype = np.dtype(dtype)
    if array.dtype == dtype:
        return array
    with np.errstate(over="ignore", invalid="ignore"):
        cast = array.astype(dtype)
    if array.dtype.kind == "f" and np.finfo(array.dtype).max > np.finfo(dtype).max and not np.isfinite(cast).all():
        overflow = np.isinf(cast) & np.isfinite(array)
        if overflow.any():
            raise ValueError(
                f"Argument `{argument}` holds values too large for {dtype} (largest magnitude "
                f"{float(np.finfo(dtype).max):.4g}); they would become inf. Received: "
                f"{int(overflow.sum())} such value(s), e.g. {float(array[overflow][0])!r}")
    return cast


def check_positive_int(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Argument `{argument}` must be a positive int. Received: {value!r}")
    if value <= 0:
        raise ValueError(f"Argument `{argument}` must be a positive int. Received: {value!r}")
    return int(value)


def check_unsupported(**options):
    """Keras options rnnkit does not implement must stay at their defaults (None): say so."""
    for argument, value in options.items():
        if value is not None:
            raise ValueError(
                f"Argument `{argument}` is not supported by rnnkit yet; leave it None. "
                f"Received: {value!r}")


class _Ledger:
    """How many caches of one layer are pending, and whether the next backward starts `grads` anew."""

    __slots__ = ("open", "fresh")

    def __init__(self):
        self.open, self.fresh = 0, True


class Cache:
    """What one training call of one layer keeps for its backward. Owned by the caller, used once;
    dropping it unused gives its buffers back (`release`)."""

    __slots__ = ("layer_name", "data", "_ledger", "_release", "_state")

    def __init__(self, layer_name, ledger, data, release=None):
        if ledger.open == 0:
            ledger.fresh = True
        ledger.open += 1
        self.layer_name, self._ledger, self.data, self._release, self._state = layer_name, ledger, data, release, "open"

    def take(self, ledger, layer_name):
        """The data, for the layer owning `ledger`; RuntimeError for a used or foreign cache."""
        if self._state != "open":
            raise RuntimeError(f"Layer \"{layer_name}\": this cache was already used by a backward pass; run "
                               "forward again. Received: a used cache")
        if ledger is not self._ledger:
            raise RuntimeError(f"Layer \"{layer_name}\": backward() got the cache of layer "
                               f"\"{self.layer_name}\". Received: another layer's cache")
        return self.data

    def close(self):
        if self._state == "open":
            self._state = "used"
            self._ledger.open -= 1
            self.data = None
            if self._release is not None:
                self._release()

    def __deepcopy__(self, memo):
        return None             # a copy of a layer or model starts with no pending call

    def __reduce__(self):
        return type(None), ()

    def __del__(self):
        if self._state == "open":
            try:
                self.close()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass


class KerasWeightGroup(NamedTuple):
    """One `vars` group of a layer in Keras's files: how a layer declares where Keras keeps its
    weights (`Layer.keras_weight_groups`), so that `saving/` asks the layer and names no class.

    path: the group under the layer's own Keras 3 group: `vars` (Dense), `cell/vars` (LSTM),
        `forward_layer/cell/vars` (Bidirectional), `cell/cells/lstm_cell/vars` (stacked cells).
    name: that group's `name` attribute in Keras 3 files: the object owning the weights
        (`lstm_cell`); None leaves it as written (a layer's own `vars` carries the layer's name).
    weights: the weight names in get_weights() order; empty for an object without weights (its
        group is still written: Keras 3 gives every object one).
    keras2_scope: what Keras 2 puts between the layer's name and a weight's
        (`lstm/lstm_cell/kernel:0`); None: the same as `name`; "" for nothing (`dense/kernel:0`).
    keras2_named_by_inner_layer: the weights of a model nested in another: Keras 2 names them by the
        inner layer alone (`lstm/lstm_cell/kernel:0` in the group of model `encoder`), so the scope
        is the whole name and the nested model's own name is left out.
    """

    path: str
    name: Optional[str]
    weights: tuple
    keras2_scope: Optional[str] = None
    keras2_named_by_inner_layer: bool = False

    @property
    def scope(self):
        """The Keras 2 scope as a string ("" for none)."""
        return (self.name or "") if self.keras2_scope is None else self.keras2_scope

    def keras2_names(self, layer_name):
        """Keras 2's dataset names of these weights in a layer called `layer_name`."""
        owner = "" if self.keras2_named_by_inner_layer else layer_name
        return ["/".join(part for part in (owner, self.scope, f"{weight}:0") if part) for weight in self.weights]


def own_weight_groups(weight_names):
    """The declaration of a layer keeping `weight_names` in its own `vars` (Dense, Conv1D, ...)."""
    return [KerasWeightGroup("vars", None, tuple(weight_names))] if weight_names else []


def kernel_and_bias_groups(config):
    """The declaration of a layer with `kernel` and, when `use_bias` (default True), `bias`."""
    return own_weight_groups(["kernel"] + (["bias"] if config.get("use_bias", True) else []))


def held_by(layer):
    """The layers and cells `layer` holds directly: a wrapper's inner layer(s), an RNN's cell,
    stacked cells' cells (a layer that is its own cell, as SimpleRNN's delegation, is left out)."""
    held = []
    for key in ("cell", "cells", "layer", "forward_layer", "backward_layer"):
        value = getattr(layer, key, None)
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if item is not None and item is not layer:
                held.append(item)
    return held


def nested_weight_groups(attribute, name, spec, keras2_scope, keep_inner_scopes=True):
    """The groups of the layer or cell `spec` ({"class_name", "config"}) kept under `attribute`
    of an outer object (Bidirectional's `forward_layer`, RNN's `cell`), as the outer one declares
    them: the inner object's own `vars` first (`name`: its name attribute), then its inner groups.

    keras2_scope: what Keras 2 puts before the inner object's weights (`forward_lstm`, or "").
    keep_inner_scopes: False drops the inner object's own Keras 2 scopes (TimeDistributed).
    """
    from rnnkit.layers import get_class   # the registry lives in the package, one file up
    inner = [KerasWeightGroup(*group) for group in get_class(spec["class_name"]).keras_weight_groups(spec["config"])]
    own = [group.weights for group in inner if group.path == "vars"]
    groups = [KerasWeightGroup(f"{attribute}/vars", name, own[0] if own else (), keras2_scope)]
    for group in inner:
        if group.path != "vars":
            scope = "/".join(part for part in (keras2_scope, group.scope) if part) if keep_inner_scopes else ""
            groups.append(KerasWeightGroup(f"{attribute}/{group.path}", group.name, group.weights, scope))
    return groups


class Layer:
    """Base class of every rnnkit layer.

    Args:
        name: the layer's name; by default Keras 2's automatic name (`simple_rnn`, `simple_rnn_1`...).
        trainable: whether fit updates the weights.
        dtype: the weights' float type; `backend.floatx()` by default.
        input_shape: shape of one sample, e.g. `(timesteps, features)`; only the first layer's counts.
        batch_input_shape: the same with a fixed batch size in front, e.g. `(8, 2, 10)`.
        batch_size: fixed batch size to combine with `input_shape`.
        input_dim, input_length: Keras 2's older spelling of `input_shape=(input_length, input_dim)`.
    """

    supports_masking = False

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, input_dim=None, input_length=None,
                 **kwargs):
        unknown = set(kwargs) - _BASE_KWARGS
        if unknown:
            raise TypeError(
                f"Keyword argument not understood by {type(self).__name__}: {sorted(unknown)}. "
                f"Received: {kwargs!r}")
        initial_weights = kwargs.get("weights")
        if initial_weights is not None and not isinstance(initial_weights, (list, tuple)):
            raise TypeError("Argument `weights` must be a list of arrays in get_weights() order. "
                            f"Received: {type(initial_weights).__name__}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"Argument `name` must be a non-empty string. Received: {name!r}")
        if dtype is not None and dtype not in ("float32", "float64"):
            raise ValueError(f"Argument `dtype` must be 'float32' or 'float64'. Received: {dtype!r}")
        self.name = name or backend.unique_name(self._default_name())
        self.trainable = bool(trainable)
        self.dtype = dtype or backend.floatx()
        self._batch_input_shape = self._resolve_input_shape(
            input_shape, batch_input_shape, batch_size, input_dim, input_length)
        self.weights = {}
        self.grads = {}
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._ledger = _Ledger()
        self._pending = None        # the cache `forward(training=True)` keeps for `backward(d_out)`
        # Keras 2's `weights=[...]` (e.g. a pretrained embedding matrix): assigned when built
        self._initial_weights = None if initial_weights is None else list(initial_weights)

    # ---- names and shapes -------------------------------------------------------------------
    @classmethod
    def _default_name(cls):
        return backend.to_snake_case(cls.__name__)

    def _resolve_input_shape(self, input_shape, batch_input_shape, batch_size, input_dim, input_length):
        if batch_input_shape is not None:
            return shape_to_tuple(batch_input_shape, "batch_input_shape")
        if input_shape is None and (input_dim is not None or input_length is not None):
            input_shape = self._shape_from_input_dim(input_dim, input_length)
        if input_shape is None:
            return None
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
        return (batch_size,) + shape_to_tuple(input_shape, "input_shape")

    def _shape_from_input_dim(self, input_dim, input_length):
        # Keras 2's recurrent layers read these as (input_length, input_dim); others as (input_dim,).
        return (input_dim,)

    @property
    def batch_input_shape(self):
        return self._batch_input_shape

    def compute_output_shape(self, input_shape):
        """The output shape (batch first) for an input of `input_shape`."""
        return tuple(input_shape)

    def compute_mask(self, x, mask=None):
        """The mask the next layer gets; layers that do not support masking drop it."""
        return mask if self.supports_masking else None

    # ---- weights --------------------------------------------------------------------------------
    def _assign_initial_weights(self):
        """Keras 2's `weights=[...]`, assigned once the weights exist: every `build` (the base's,
        and those of cells, which do not call it) ends with this. All or nothing: a wrong shape
        raises and leaves the layer unbuilt."""
        if self._initial_weights is not None and not backend.building_placeholders():
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def build(self, input_shape):
        """Creates the weights for inputs of `input_shape` (batch first). Subclasses call this last."""
        self._assign_initial_weights()
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def add_weight(self, name=None, shape=None, initializer="glorot_uniform"):
        """Creates the weight `name` of `shape` (Keras's keywords work too: `add_weight(shape=...,
        initializer="uniform", name="kernel")`); `initializer`: an Initializer, name or config."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"Argument `name` of add_weight must be a non-empty string. Received: {name!r}")
        if not callable(initializer):
            from rnnkit import initializers
            initializer = initializers.get(initializer, "initializer")
        if backend.building_placeholders():
            value = np.zeros(tuple(shape), dtype=self.dtype)  # the loader assigns the file's arrays next
        else:
            value = initializer(tuple(shape), dtype=self.dtype)
        value = np.asarray(value, dtype=self.dtype)
        if value.shape != tuple(shape):
            raise ValueError(
                f"Initializer for weight `{name}` of layer \"{self.name}\" must return shape "
                f"{tuple(shape)}. Received: shape {value.shape}")
        self.weights[name] = np.ascontiguousarray(value)
        return self.weights[name]

    def get_weights(self):
        """Copies of the weights, in Keras's order."""
        return [w.copy() for w in self.weights.values()]

    def check_weights(self, weights, argument="weights"):
        """Validates `weights` against this layer's and returns them cast, without assigning."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Argument `{argument}` must be a list of arrays. Received: {type(weights).__name__}")
        if len(weights) != len(self.weights):
            raise ValueError(
                f"Layer \"{self.name}\" expects {len(self.weights)} weight arrays "
                f"({', '.join(self.weights) or 'none'}). Received: {len(weights)} arrays")
        cast = []
        for (key, current), new in zip(self.weights.items(), weights):
            try:
                new = np.asarray(new)
            except (ValueError, TypeError):
                raise ValueError(f"Weight `{key}` of layer \"{self.name}\" must be a rectangular array. "
                                 f"Received: a ragged {type(new).__name__}") from None
            if new.shape != current.shape:
                raise ValueError(
                    f"Weight `{key}` of layer \"{self.name}\" must have shape {current.shape}. "
                    f"Received: shape {new.shape}")
            if new.dtype.kind not in "biuf":
                raise TypeError(
                    f"Weight `{key}` of layer \"{self.name}\" must hold real numbers. "
                    f"Received: an array of dtype {new.dtype}")
            with np.errstate(over="ignore", invalid="ignore"):
                new = new.astype(current.dtype)   # checked AFTER the cast: 1e39 is finite in float64 only
            if not np.all(np.isfinite(new)):
                raise ValueError(
                    f"Weight `{key}` of layer \"{self.name}\" must hold finite {current.dtype} numbers. "
                    f"Received: an array with NaN, inf or values beyond the {current.dtype} range")
            cast.append(new)
        return cast

    def set_weights(self, weights):
        """Sets the weights from a list of arrays in Keras's order; all or nothing."""
        cast = self.check_weights(weights)
        for current, new in zip(self.weights.values(), cast):
            current[...] = new

    @property
    def trainable_weights(self):
        """The weights fit updates: all of them, or none when `trainable` is False (frozen)."""
        return list(self.weights.values()) if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [] if self.trainable else list(self.weights.values())

    @classmethod
    def keras_weight_groups(cls, config):
        """Where Keras keeps the weights of a layer of this class built from `config` (the
        layer's `get_config()`): a list of `KerasWeightGroup`, weights in get_weights() order.
        `saving/` reads and writes Keras files from this alone. The default is a layer without
        weights; a layer with weights declares them (`own_weight_groups` for its own `vars`)."""
        return []

    def count_params(self):
        return int(sum(w.size for w in self.weights.values()))

    # ---- calling --------------------------------------------------------------------------------
    def check_input(self, x, argument="x"):
        """Returns x as an array of the layer's dtype, after checking rank and fixed dims."""
        if not isinstance(x, (np.ndarray, list, tuple)):
            raise TypeError(f"Argument `{argument}` of layer \"{self.name}\" must be an array. "
                            f"Received: {type(x).__name__}")
        x = as_real_array(x, argument)
        expected = self.input_shape
        if expected is not None:
            if x.ndim != len(expected):
                raise ValueError(
                    f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                    f"ndim={len(expected)}, shape {self._shape_text(expected)}. Received: an array "
                    f"of shape {x.shape}")
            for axis, (want, got) in enumerate(zip(expected, x.shape)):
                if axis > 0 and want is not None and want != got:
                    raise ValueError(
                        f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                        f"axis {axis} of input shape to have value {want}, shape "
                        f"{self._shape_text(expected)}. Received: an array of shape {x.shape}")
        return self._cast_input(x, argument)

    def _cast_input(self, x, argument="x"):
        return cast_checked(x, self.dtype, argument)

    @staticmethod
    def _shape_text(shape):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")

    def __call__(self, x, mask=None, training=False, **kwargs):
        """Builds the layer from `x`'s shape if needed and runs the forward pass; on symbolic
        tensors (`keras.Input`), records the call for a functional model instead."""
        if is_symbolic(x):
            return symbolic_call(self, x, mask=mask, training=training, **kwargs)
        if not self.built:
            if not isinstance(x, (np.ndarray, list, tuple)):
                raise TypeError(f"Argument `x` of layer \"{self.name}\" must be an array. "
                                f"Received: {type(x).__name__}")
            x_arr = as_real_array(x, "x")   # checked before the layer builds from it
            if x_arr.ndim == 0:
                raise ValueError(f"Argument `x` of layer \"{self.name}\" must have a batch axis. "
                                 f"Received: a scalar {x_arr!r}")
            self.build((None,) + x_arr.shape[1:])
        return self.forward(x, mask=mask, training=training, **kwargs)

    def forward(self, x, mask=None, training=False, **kwargs):
        """Runs the layer on `x` and returns its output. In training the call's cache is kept as
        the layer's pending cache, for `backward(d_out)` (one call, one backward)."""
        if training:
            self._pending = None        # an unused earlier cache gives its buffers back first
        outputs, cache = self.forward_with_cache(x, mask, training, **kwargs)
        if cache is not None:
            self._pending = cache
        return outputs

    def forward_with_masks(self, x, mask=None, training=False, activity=None, **kwargs):
        """(outputs, output mask, cache): what a model's loop asks of every layer it runs. A
        wrapper (`collects_inner_activity`) is handed `activity`, the list its inner layers'
        activity penalties join; a nested model (models/nesting.py) gives its inner graph's mask."""
        if activity is not None and getattr(self, "collects_inner_activity", False):
            kwargs["activity"] = activity
        out_mask = self.compute_mask(x, mask)
        outputs, cache = self.forward_with_cache(x, mask=mask, training=training, **kwargs)
        return outputs, out_mask, cache

    def forward_with_cache(self, x, mask=None, training=False, **kwargs):
        """Runs the layer; returns (outputs, cache). The cache (None unless `training`) is the
        caller's: pass it to `backward`. Each call has its own, never overwritten by another."""
        result = self._forward(x, mask, training, **kwargs)
        if not training:
            return result[0], None
        return result[0], Cache(self.name, self._ledger, result[1], result[2] if len(result) > 2 else None)

    def _forward(self, x, mask, training, **kwargs):
        """(outputs, cache data[, release]) : what subclasses implement."""
        raise NotImplementedError(f"{type(self).__name__} has no forward pass")

    def _backward(self, d_out, data, need_input_grad):
        """(d_in, {name: grad}) from a cache's data: what subclasses implement."""
        raise NotImplementedError(f"{type(self).__name__} has no backward pass")

    def _take_cache(self, cache):
        if cache is None:
            cache, self._pending = self._pending, None
            if cache is None:
                raise RuntimeError(
                    f"Layer \"{self.name}\": backward() needs the cache of a forward(training=True) of this "
                    "layer, and none is pending. Received: cache=None")
        if not isinstance(cache, Cache):
            raise TypeError(f"Argument `cache` of layer \"{self.name}\" must be the cache its forward returned. "
                            f"Received: {type(cache).__name__}")
        return cache

    def gradients(self, d_out, cache=None, need_input_grad=True):
        """Uses up `cache` and returns (dL/d(input), {weight name: dL/dweight}) for this call alone,
        leaving `grads` as they are (what wrappers call on the layers they hold)."""
        cache = self._take_cache(cache)
        data = cache.take(self._ledger, self.name)
        try:
            return self._backward(d_out, data, need_input_grad)
        finally:
            cache.close()

    def backward(self, d_out, cache=None, need_input_grad=True):
        """Adds this call's weight gradients to `grads` and returns dL/d(input) (None when not
        `need_input_grad`, which a model's first layer is told).

        Args:
            d_out: dL/d(output), shaped like the output (a list for several outputs).
            cache: what `forward_with_cache` returned for the call; None for the layer's pending
                cache (kept by `forward(training=True)`).

        Raises:
            RuntimeError: without a pending cache, with a used cache or another layer's.
        """
        if cache is True or cache is False:     # the older signature, backward(d_out, need_input_grad)
            cache, need_input_grad = None, cache
        ledger = self._ledger
        fresh = ledger.fresh
        if type(cache) is not Cache or cache._ledger is not ledger or cache._state != "open":
            cache = self._take_cache(cache)
            cache.take(ledger, self.name)           # raises for a used or foreign cache
        try:
            d_in, grads = self._backward(d_out, cache.data, need_input_grad)
        finally:
            cache.close()
        if fresh or grads.keys() != self.grads.keys():
            self.grads = grads if type(grads) is dict else dict(grads)
        else:
            self.grads = {key: self.grads[key] + grad for key, grad in grads.items()}
        ledger.fresh = False
        return d_in

    # ---- the layer's calls on symbolic tensors ----------------------------------------------------
    def get_input_at(self, node_index):
        """The input tensor(s) of the layer's `node_index`-th call on symbolic tensors."""
        return self._node_at(node_index, "input").inputs

    def get_output_at(self, node_index):
        """The output tensor(s) of the layer's `node_index`-th call on symbolic tensors."""
        return self._node_at(node_index, "output").result()

    @property
    def input(self):
        """The input tensor(s) of the layer's first call on symbolic tensors (Keras 3's rule)."""
        return self.get_input_at(0)

    @property
    def output(self):
        """The output tensor(s) of the layer's first call on symbolic tensors (Keras 3's rule)."""
        return self.get_output_at(0)

    def _node_at(self, node_index, what):
        from rnnkit.layers.symbolic import recorded_calls
        nodes = recorded_calls(self)
        if not nodes:
            raise AttributeError(f"Layer \"{self.name}\" has never been called on symbolic tensors and thus has no "
                                 f"defined {what}. Received: a layer with no calls")
        if isinstance(node_index, bool) or not isinstance(node_index, (int, np.integer)) \
                or not 0 <= node_index < len(nodes):
            raise ValueError(f"Argument `node_index` must be an int in [0, {len(nodes)}): layer \"{self.name}\" was "
                             f"called {len(nodes)} time(s). Received: {node_index!r}")
        return nodes[node_index]

    # ---- config ---------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"
