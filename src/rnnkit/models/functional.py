"""The functional API: `keras.Model(inputs, outputs)` over the nodes that layer calls recorded.

    inputs = keras.Input(shape=(10, 4), name="sequence")
    x = keras.layers.LSTM(8)(inputs)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

A Model is a directed acyclic graph of nodes (layer calls). It runs the nodes in topological
order with arrays, passing each call its inputs' masks as Keras does (Embedding(mask_zero) and
Masking make them, RNNs and merge layers consume and pass them on). A layer called several times
(a shared layer) has several nodes; a sub-model built later from the same tensors (an encoder for
inference) shares the layers and their weights.
"""

import collections
import math

import numpy as np

from rnnkit import backend
from rnnkit.layers.base import as_real_array, cast_checked
from rnnkit.layers.input_layer import InputLayer
from rnnkit.layers.symbolic import KerasTensor, is_symbolic, nodes_of, symbolic_call
from rnnkit.models.keras2_methods import GeneratorMethodsMixin
from rnnkit.models.nesting import ModelAsLayer, model_from_spec
from rnnkit.models.training import TrainingMixin
from rnnkit.utils.data_adapter import check_steps, is_batch_source, source_of, unpack


class _InputShapes(tuple):
    """The first input's shape (what code written for one input reads), carrying every input's."""

    def __new__(cls, first, every):
        shape = super().__new__(cls, first)
        shape.every = list(every)
        return shape


class GraphInputs:
    """A functional model's several inputs, indexed together: `inputs[idx]` slices every array
    the same way, so the training loop batches and shuffles them as it does one array."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return GraphInputs([array[index] for array in self.arrays])

    @property
    def shape(self):
        return _InputShapes(self.arrays[0].shape, [array.shape for array in self.arrays])

    @property
    def dtype(self):
        return self.arrays[0].dtype

    @property
    def ndim(self):
        return self.arrays[0].ndim


def _flatten(structure, argument):
    """A list of KerasTensors and the way to rebuild the user's structure (tensor, list or dict)."""
    if isinstance(structure, KerasTensor):
        return [structure], "single", None
    if isinstance(structure, dict):
        keys = list(structure)
        values = [structure[k] for k in keys]
        kind = "dict"
    elif isinstance(structure, (list, tuple)):
        keys, values, kind = None, list(structure), "list"
    else:
        raise TypeError(f"Argument `{argument}` must be a symbolic tensor (from keras.Input or a layer call), "
                        f"a list or a dict of them. Received: {type(structure).__name__}")
    for value in values:
        if not isinstance(value, KerasTensor):
            raise TypeError(f"Argument `{argument}` must hold symbolic tensors (from keras.Input or a layer "
                            f"call). Received: {type(value).__name__}")
    if not values:
        raise ValueError(f"Argument `{argument}` must hold at least one tensor. Received: an empty {kind}")
    return values, kind, keys


class Model(ModelAsLayer, TrainingMixin, GeneratorMethodsMixin):
    """A model given by its input and output tensors (Keras's functional API).

    Args:
        inputs: a KerasTensor from `keras.Input`, or a list or dict of them.
        outputs: a KerasTensor from a layer call, or a list or dict of them.
        name: the model's name; by default Keras 2's `model`, `model_1`, ...

    Raises:
        TypeError: for inputs or outputs that are not symbolic tensors.
        ValueError: for an output that needs an input not given, an input that is not a
            `keras.Input`, or two layers with one name; raised when the model is made.
    """

    keras_class_name = "Functional"    # what Keras 2.9+ prints and saves for a graph model

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if inputs is None or outputs is None:
            # A subclass's `super().__init__(self)` (TensorFlow's text-generation tutorial) passes the
            # model being made, which has no name yet: describe it, never repr it.
            received = ", ".join(f"{argument}=the {type(self).__name__} being made" if value is self
                                 else f"{argument}={value!r:.200}"
                                 for argument, value in (("inputs", inputs), ("outputs", outputs)))
            made_as = (f"{type(self).__name__}, a subclass of Model with its own call(),"
                       if callable(getattr(type(self), "call", None)) else "A subclassed Model with its own call()")
            raise TypeError("rnnkit builds models from tensors: keras.Model(inputs, outputs). "
                            f"{made_as} has no hand-derived gradient, so it is not supported; build "
                            f"the same graph with keras.Input and layer calls. Received: {received}")
        if kwargs:
            raise TypeError(f"Keyword arguments not understood by Model: {sorted(kwargs)}. Received: {kwargs!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"Argument `name` must be a non-empty string. Received: {name!r}")
        self.inputs, self._input_kind, self._input_keys = _flatten(inputs, "inputs")
        self.outputs, self._output_kind, self._output_keys = _flatten(outputs, "outputs")
        for tensor in self.inputs:
            if not isinstance(tensor.layer, InputLayer):
                raise ValueError("Model inputs must come from keras.Input. Received: a tensor made by layer "
                                 f"\"{tensor.layer.name}\"")
        self._nodes = self._nodes_in_order()
        self._layers = self._layers_in_keras_order()
        names = collections.Counter(layer.name for layer in self._layers)
        duplicates = sorted(n for n, count in names.items() if count > 1)
        if duplicates:
            raise ValueError(f"All layers of a model must have unique names. Received: {duplicates} used more "
                             "than once")
        self.name = name or backend.unique_name("model")
        self.built = True
        # Which Keras's mask rules the graph follows: Keras 2's (rnnkit's own), or Keras 3's for a
        # graph read from a Keras 3 file (whose masks are recorded as explicit `mask=` inputs).
        self.mask_rules = "keras2"
        self._pending = None  # a training run's caches and values, until `_backward` uses them
        super().__init__()

    # ---- the graph ------------------------------------------------------------------------------
    def _nodes_in_order(self):
        """The nodes the outputs depend on, inputs first, each after every node it reads from."""
        given = {id(t) for t in self.inputs}
        order, state, stack = [], {}, []
        for output in self.outputs:
            stack.append((output.node, False))
        while stack:
            node, expanded = stack.pop()
            if expanded:
                if state.get(id(node)) != "done":
                    state[id(node)] = "done"
                    order.append(node)
                continue
            if state.get(id(node)) == "done":
                continue
            if isinstance(node.layer, InputLayer):
                if id(node.outputs[0]) not in given:
                    raise ValueError(f"The graph needs input \"{node.layer.name}\", which is not among the model's "
                                     f"inputs. Received: inputs {[t.layer.name for t in self.inputs]}")
                state[id(node)] = "done"
                order.append(node)
                continue
            stack.append((node, True))
            for tensor in reversed(node.flat_inputs):
                stack.append((tensor.node, False))
        reached = {id(node.outputs[0]) for node in order if isinstance(node.layer, InputLayer)}
        for tensor in self.inputs:
            if id(tensor) not in reached:
                raise ValueError(f"Input \"{tensor.layer.name}\" is not connected to any output. Received: a "
                                 "disconnected graph")
        return order

    def _layers_in_keras_order(self):
        """model.layers in Keras's order: by depth from the outputs, deepest (inputs) first; within
        a depth, in the order a depth-first walk from the outputs first meets them (tf_keras's
        `_map_graph_network`). Also keeps, per depth, the nodes, for the summary's layout rule."""
        first_seen, post_order, finished = {}, [], set()

        def walk(node):
            if id(node) in finished:
                return
            first_seen.setdefault(id(node.layer), (len(first_seen), node.layer))
            for tensor in node.flat_inputs:
                walk(tensor.node)
            finished.add(id(node))
            post_order.append(node)

        for output in self.outputs:
            walk(output.node)
        node_depth, layer_depth = {}, {}
        for node in reversed(post_order):
            depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth
            node_depth[id(node)] = depth
            for tensor in node.flat_inputs:
                parent = tensor.node
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for tensor in self.inputs:  # an input no output reads was refused in _nodes_in_order
            layer_depth.setdefault(id(tensor.layer), 0)
        self._nodes_by_depth = collections.defaultdict(list)
        for node in post_order:
            self._nodes_by_depth[node_depth[id(node)]].append(node)
        by_depth = collections.defaultdict(list)
        for index, layer in first_seen.values():
            by_depth[layer_depth[id(layer)]].append((index, layer))
        return [layer for depth in sorted(by_depth, reverse=True) for _, layer in sorted(by_depth[depth],
                                                                                         key=lambda p: p[0])]

    def is_sequential_like(self):
        """tf_keras's rule for the summary's layout: one node per depth, each reading one tensor,
        and no layer called twice."""
        for depth_nodes in self._nodes_by_depth.values():
            if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].flat_inputs) > 1):
                return False
        seen = collections.Counter(id(node.layer) for node in self._nodes)
        return all(count == 1 for count in seen.values())

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index (Keras's `model.get_layer`)."""
        if (name is None) == (index is None):
            raise ValueError(f"Provide exactly one of `name` or `index`. Received: name={name!r}, index={index!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(self._layers) <= index < len(self._layers):
                raise ValueError(f"Argument `index` must be an int in [0, {len(self._layers)}). Received: {index!r}")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Received: name={name!r}; layers are "
                         f"{[layer.name for layer in self._layers]}")

    @property
    def input(self):
        """The model's input tensor (a list for several), as Keras's `model.input`."""
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        """The model's output tensor (a list for several), as Keras's `model.output`."""
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def input_names(self):
        return [t.layer.name for t in self.inputs]

    @property
    def output_names(self):
        return [t.layer.name for t in self.outputs]

    def node_index(self, node):
        """Keras's node index of a call: its position among the layer's calls."""
        return node.index

    # ---- weights --------------------------------------------------------------------------------
    def get_weights(self):
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Sets every layer's weights, in `get_weights()` order; all or nothing."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Argument `weights` must be a list of arrays. Received: {type(weights).__name__}")
        counts = [len(layer.get_weights()) for layer in self._layers]
        if len(weights) != sum(counts):
            raise ValueError(f"Model \"{self.name}\" expects {sum(counts)} weight arrays. Received: {len(weights)}")
        checked, start = [], 0
        for layer, count in zip(self._layers, counts):
            checked.append(layer.check_weights(list(weights[start:start + count])) if count else [])
            start += count
        for layer, arrays in zip(self._layers, checked):
            if arrays:
                layer.set_weights(arrays)

    def set_layer_weights_from_file(self, path, arrays_by_layer):
        """Sets each named layer's weights from a file's arrays; all checked before any is set."""
        checked = []
        for name, arrays in arrays_by_layer.items():
            layer = self.get_layer(name)
            try:
                checked.append((layer, layer.check_weights(list(arrays))))
            except (ValueError, TypeError) as error:
                raise type(error)(f"{path!r}: {error}") from None
        for layer, arrays in checked:
            if arrays:
                layer.set_weights(arrays)

    def weight_layout_of(self, name):
        """(shape, dtype) of each weight of the layer named `name`: what a file must hold for it."""
        return [(w.shape, w.dtype.name) for w in self.get_layer(name).weights.values()]

    def count_params(self):
        return int(sum(w.size for w in self.get_weights()))

    # ---- running --------------------------------------------------------------------------------
    def _as_input_list(self, x, argument="x", symbolic=False):
        if self._input_kind == "dict" or isinstance(x, dict):
            if not isinstance(x, dict):
                raise TypeError(f"Argument `{argument}` must be a dict keyed by input name. Received: "
                                f"{type(x).__name__}")
            names = self._input_keys if self._input_kind == "dict" else self.input_names
            unknown = sorted(set(x) - set(names))
            if unknown:
                raise ValueError(f"Argument `{argument}` has keys that name no input: {unknown}. Received: keys "
                                 f"{sorted(x)}; inputs are {names}")
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"Argument `{argument}` lacks inputs {missing}. Received: keys {sorted(x)}")
            values = [x[n] for n in names]
            if symbolic:
                return values
        elif len(self.inputs) == 1 and not (isinstance(x, (list, tuple)) and len(x) == 1
                                            and not np.isscalar(x[0]) and np.ndim(x[0]) == len(self.inputs[0].shape)):
            values = [x]
        else:
            if not isinstance(x, (list, tuple)) or len(x) != len(self.inputs):
                raise ValueError(f"Argument `{argument}` must be a list of {len(self.inputs)} arrays, one per input "
                                 f"{self.input_names}. Received: {type(x).__name__}"
                                 + (f" of length {len(x)}" if isinstance(x, (list, tuple)) else ""))
            values = list(x)
        arrays = []
        for tensor, value in zip(self.inputs, values):
            name = f"{argument}[{tensor.layer.name!r}]" if len(self.inputs) > 1 else argument
            array = as_real_array(value, name)
            expected = tensor.shape
            if array.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:], array.shape[1:])):
                raise ValueError(f"Argument `{name}` must have shape {expected} (batch first). Received: an array "
                                 f"of shape {array.shape}")
            if tensor.dtype in ("float32", "float64"):
                array = cast_checked(array, tensor.dtype, name)
            elif array.dtype != np.dtype(tensor.dtype):
                # An integer Input (token ids) takes integral values of any type, as Keras casts them.
                if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
                    raise TypeError(f"Argument `{name}` feeds an {tensor.dtype} input and must hold whole "
                                    f"numbers. Received: fractional values of dtype {array.dtype}")
                array = array.astype(tensor.dtype)
            arrays.append(array)
        lengths = {len(a) for a in arrays}
        if len(lengths) > 1:
            raise ValueError(f"Argument `{argument}`: every input needs the same number of samples. Received: "
                             f"{[len(a) for a in arrays]}")
        return arrays

    def _run_graph(self, arrays, training=False, activity=None):
        """Every node in order; returns the outputs (list) and their masks (list). In training,
        each call's cache (and each tensor's value) is kept for `_backward`; inference writes
        nothing of the model's, so several threads may predict at once."""
        outputs, masks, token = self._nested_forward(arrays, [None] * len(arrays), training, activity)
        if training:
            self._pending = token
        return outputs, masks

    def _nested_inputs(self):
        return self.inputs

    def _nested_forward(self, arrays, input_masks, training, activity):
        """The graph run on `arrays` whose masks are `input_masks`: (outputs, masks, token), the
        token (None unless training) holding every call's cache and every tensor's value."""
        values = {}
        for tensor, array, mask in zip(self.inputs, arrays, input_masks):
            values[id(tensor)] = (array, mask)
        caches = [] if training else None
        try:
            for node in self._nodes:
                if not isinstance(node.layer, InputLayer):
                    self._run_node(node, values, training, activity, caches)
        except BaseException:
            for _, cache in caches or ():
                cache.close()        # a failed call leaves no inner cache pending
            raise
        token = (caches, {key: value for key, (value, _) in values.items()}) if training else None
        results = [values[id(t)] for t in self.outputs]
        return [r[0] for r in results], [r[1] for r in results], token

    def _run_node(self, node, values, training, activity, caches):
        if isinstance(node.inputs, (list, tuple)):
            x = [values[id(t)][0] for t in node.inputs]
            mask = [values[id(t)][1] for t in node.inputs]
            if all(m is None for m in mask):
                mask = None
        else:
            x, mask = values[id(node.inputs)]
        if node.mask_input is not None:
            mask = values[id(node.mask_input)][0]
        elif self.mask_rules == "keras3" and node.state_inputs:
            mask = None  # Keras 3 does not pass an RNN called with initial_state the mask of its input
        kwargs = dict(node.constants)
        if self.mask_rules == "keras3" and hasattr(node.layer, "merge_keras3"):
            kwargs["mask_rule"] = "keras3"   # Keras 3 merges masked inputs by its own rules
        if node.state_inputs:
            kwargs["initial_state"] = [values[id(t)][0] for t in node.state_inputs]
        out, out_mask, cache = node.layer.forward_with_masks(x, mask, training, activity, **kwargs)
        if training:
            caches.append((node, cache))
        outs = [out] if node.single else list(out)
        masks = out_mask if isinstance(out_mask, list) else [out_mask] * len(outs) if node.single else \
            [out_mask] + [None] * (len(outs) - 1)
        for tensor, value, value_mask in zip(node.outputs, outs, masks):
            values[id(tensor)] = (value, value_mask)
        if activity is not None and getattr(node.layer, "activity_regularizer", None) is not None:
            # tf_keras penalizes every output of the call: an RNN's returned states too
            activity.extend(node.layer.activity_penalty(value) for value in outs)

    def _backward(self, d_out):
        """Backward through the last training forward (`_run_graph`)."""
        if self._pending is None:
            raise RuntimeError(f"Model \"{self.name}\": backward needs a training forward first. Received: none")
        token, self._pending = self._pending, None
        self._nested_backward(token, d_out if isinstance(d_out, list) else [d_out], need_input_grad=False)
        return None

    @staticmethod
    def _nested_release(token):
        for _, cache in token[0]:
            cache.close()

    def _nested_backward(self, token, d_outs, need_input_grad):
        """Backward through the nodes in reverse order, each with its call's cache: a tensor read by
        several calls (a fan-out, a shared layer) gets the sum of their gradients, and a shared
        layer's weight gradients sum over its calls (its caches share one ledger). Returns
        dL/d(input) per model input when `need_input_grad` (the model nested in another)."""
        caches, values = token
        grads = {id(t): d for t, d in zip(self.outputs, d_outs) if d is not None}

        def wanted(tensor):
            return need_input_grad or not isinstance(tensor.node.layer, InputLayer)

        for position in range(len(caches) - 1, -1, -1):
            node, cache = caches[position]
            d_outs = [grads.pop(id(t), None) for t in node.outputs]
            if all(d is None for d in d_outs):
                cache.close()    # nothing downstream of this call reaches the loss
                continue
            d_outs = [d if d is not None else np.zeros_like(values[id(t)]) for d, t in zip(d_outs, node.outputs)]
            if getattr(node.layer, "activity_regularizer", None) is not None:
                d_outs = [d + node.layer.activity_gradient(values[id(t)]) for d, t in zip(d_outs, node.outputs)]
            main = list(node.inputs) if isinstance(node.inputs, (list, tuple)) else [node.inputs]
            need = any(wanted(t) for t in main)
            d_in = node.layer.backward(d_outs[0] if node.single else d_outs, cache, need_input_grad=need)
            pairs = list(zip(main, d_in if isinstance(node.inputs, (list, tuple)) else [d_in])) if need else []
            if node.state_inputs:
                pairs += list(zip(node.state_inputs, _state_gradients(node.layer)))
            for tensor, grad in pairs:
                if grad is not None and wanted(tensor):
                    grads[id(tensor)] = grad if id(tensor) not in grads else grads[id(tensor)] + grad
        if not need_input_grad:
            return None
        return [grads[id(t)] if id(t) in grads else np.zeros_like(values[id(t)]) for t in self.inputs]

    # ---- the training loop's view of the graph (TrainingMixin) -------------------------------------
    def _prepare_input(self, x, argument="x", allow_empty=True):
        arrays = self._as_input_list(x, argument)
        if not allow_empty and len(arrays[0]) == 0:
            raise ValueError(f"Argument `{argument}` must hold at least one sample. Received: 0 samples")
        return arrays[0] if len(arrays) == 1 else GraphInputs(arrays)

    def _run(self, x, training=False, activity=None):
        outputs, masks = self._run_graph(x.arrays if isinstance(x, GraphInputs) else [x], training, activity)
        return outputs[0], masks[0]

    def output_shape_for(self, input_shape):
        """The first output's shape for inputs of these concrete shapes (every input's, when the
        model has several), by shape inference through the graph: a decoder's time axis comes
        from the decoder's input, not from the first input's."""
        return self._output_shapes(getattr(input_shape, "every", [input_shape]))[0]

    def compute_output_shape(self, input_shape):
        """The outputs' shapes for inputs of `input_shape` (a list of shapes for several inputs):
        what the model gives as a layer of another model."""
        several = len(self.inputs) > 1
        shapes = self._output_shapes(list(input_shape) if several else [input_shape])
        return shapes[0] if self._gives_one_array() else shapes

    def _gives_one_array(self):
        # Model(x, [y]) gives an array, not a list of one, when run or called: tf_keras 2 and
        # Keras 3 both unwrap a one-output list (checked by hand); its config still records the list.
        return self._output_kind == "single" or (self._output_kind == "list" and len(self.outputs) == 1)

    def _output_shapes(self, input_shapes):
        shapes = {}
        for tensor, shape in zip(self.inputs, input_shapes):
            shapes[id(tensor)] = tuple(shape)
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            given = [shapes[id(t)] for t in node.inputs] if isinstance(node.inputs, (list, tuple)) \
                else shapes[id(node.inputs)]
            out = node.layer.compute_output_shape(given)
            for tensor, shape in zip(node.outputs, [out] if node.single else out):
                shapes[id(tensor)] = tuple(shape)
        return [shapes[id(t)] for t in self.outputs]

    @property
    def batch_input_shape(self):
        return self.input_shape

    @property
    def output_dtype(self):
        return self.outputs[0].dtype

    @property
    def dtype(self):
        return self.outputs[0].dtype

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                **kwargs):
        """Configures training, as Sequential's `compile`; for several outputs, `loss`, `metrics`
        and `loss_weights` may also be lists (in output order) or dicts keyed by output name, and
        the total loss is sum_k loss_weight_k * loss_k (tf_keras's rule).

        Raises:
            ValueError / TypeError: for a loss, weight or metric that names no output, before
                anything changes.
        """
        for node in self._nodes:
            if node.state_inputs and _state_gradients(node.layer, check_only=True) is None:
                raise NotImplementedError(f"Layer \"{node.layer.name}\" takes initial states but gives no gradient "
                                          "for them, so this graph cannot train. Received: a graph that feeds it states")
        if len(self.outputs) == 1 and loss_weights is None and not isinstance(loss, (list, dict)) \
                and not isinstance(metrics, dict) and not isinstance(weighted_metrics, dict):
            self._heads = None
            return super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                                   weighted_metrics=weighted_metrics, **kwargs)
        heads = _heads(self.output_names, loss, metrics, loss_weights, weighted_metrics)
        super().compile(optimizer=optimizer, loss=heads[0]["loss_id"], **kwargs)   # optimizer, checks, guard
        self._heads = heads

    # ---- several outputs ----------------------------------------------------------------------------
    def _as_target_list(self, y, argument="y"):
        names = self.output_names
        if isinstance(y, dict):
            unknown = sorted(set(y) - set(names))
            if unknown or len(y) != len(names):
                raise ValueError(f"Argument `{argument}` must be keyed by the output names {names}. Received: keys "
                                 f"{sorted(y)}")
            values = [y[n] for n in names]
        elif isinstance(y, (list, tuple)) and len(y) == len(names):
            values = list(y)
        else:
            raise ValueError(f"Argument `{argument}` must be a list of {len(names)} arrays (one per output {names}) "
                             f"or a dict keyed by output name. Received: {type(y).__name__}")
        return [as_real_array(v, f"{argument}[{n!r}]") for v, n in zip(values, names)]

    def _head_metrics(self, ys, outputs):
        """Fresh metric objects per output, named `<output>_<metric>` as Keras 2 names them."""
        from rnnkit import metrics as metrics_module
        plain, weighted = [], []
        for head, y, out in zip(self._heads, ys, outputs):
            for identifier in head["metrics"]:
                metric = metrics_module.fresh_copy(metrics_module.get(identifier, head["loss"], y.shape, out.shape))
                metric.name = f"{head['name']}_{metric.name}"
                plain.append((head["index"], metric))
            for identifier in head["weighted_metrics"]:
                metric = metrics_module.fresh_copy(metrics_module.get(identifier, head["loss"], y.shape, out.shape))
                metric.name = f"{head['name']}_weighted_{metric.name}"
                weighted.append((head["index"], metric))
        return plain, weighted

    def _multi_step(self, x, ys, sample_weights, training):
        """Losses of every output (and the update when `training`): the total, the per-output ones,
        the outputs, and per output (metric mask, metric weights)."""
        arrays = x.arrays if isinstance(x, GraphInputs) else [x]
        activity = []
        outputs, masks = self._run_graph(arrays, training=training, activity=activity)
        total, losses, d_outputs, metric_args = 0.0, [], [], []
        for head, out, mask, y, sw in zip(self._heads, outputs, masks, ys, sample_weights):
            with np.errstate(over="ignore", invalid="ignore"):
                per_sample, d_out = head["loss"].per_sample_and_gradient(y, out)
                loss, weights, metric_mask, metric_weights = self._weighted_loss(per_sample, mask, sw)
            if weights is not None:
                d_out = d_out * weights.astype(out.dtype)[..., None]
            total += head["weight"] * loss
            losses.append(loss)
            d_outputs.append(d_out * np.asarray(head["weight"], out.dtype))
            metric_args.append((metric_mask, metric_weights))
        total += self._penalties(activity)
        if training:
            if not math.isfinite(total):
                self._pending = None
            else:
                self._backward(d_outputs)
                self._add_penalty_gradients()
                pairs = self._trainable_pairs()
                if all(math.isfinite(g.sum()) for g, _ in pairs):
                    self.optimizer.apply_gradients(pairs)
                    for layer in self._penalized_layers():
                        layer.apply_constraints()
        return total, losses, outputs, metric_args

    def _multi_results(self, total, losses, metrics):
        logs = {"loss": total}
        logs.update({f"{head['name']}_loss": loss for head, loss in zip(self._heads, losses)})
        logs.update({metric.name: metric.result() for _, metric in metrics[0] + metrics[1]})
        return logs

    def _multi_batch(self, x, y, sample_weight, training):
        arrays = self._as_input_list(x)
        ys = self._as_target_list(y)
        sws = sample_weight if isinstance(sample_weight, (list, tuple)) else \
            [sample_weight.get(n) for n in self.output_names] if isinstance(sample_weight, dict) else \
            [sample_weight] * len(self.outputs)
        batch = GraphInputs(arrays) if len(arrays) > 1 else arrays[0]
        total, losses, outputs, metric_args = self._multi_step(batch, ys, sws, training)
        metrics = self._head_metrics(ys, outputs)
        for index, metric in metrics[0]:
            metric.update_state(ys[index], outputs[index], metric_args[index][0])
        for index, metric in metrics[1]:
            weights = metric_args[index][1]
            metric.update_state(ys[index], outputs[index], weights if weights is not None else metric_args[index][0])
        return self._multi_results(total, losses, metrics)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        if getattr(self, "_heads", None) is None:
            return super().train_on_batch(x, y, sample_weight=sample_weight, class_weight=class_weight,
                                          reset_metrics=reset_metrics, return_dict=return_dict)
        if class_weight is not None:
            raise ValueError("Argument `class_weight` is not supported for a model with several outputs (as in "
                             "Keras); pass sample weights per output. Received: class_weight")
        with self._training("train_on_batch"):
            logs = self._multi_batch(x, y, sample_weight, training=True)
        return self._result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        if getattr(self, "_heads", None) is None:
            return super().test_on_batch(x, y, sample_weight=sample_weight, reset_metrics=reset_metrics,
                                         return_dict=return_dict)
        with self._inference("test_on_batch"):
            logs = self._multi_batch(x, y, sample_weight, training=False)
        return self._result(logs, return_dict)

    @property
    def metrics_names(self):
        if getattr(self, "_heads", None) is None:
            return super().metrics_names
        from rnnkit import metrics as metrics_module
        names = ["loss"] + [f"{head['name']}_loss" for head in self._heads]
        for key, prefix in (("metrics", ""), ("weighted_metrics", "weighted_")):
            for head in self._heads:
                for identifier in head[key]:
                    label = identifier if isinstance(identifier, str) else metrics_module.get(identifier).name
                    names.append(f"{head['name']}_{prefix}{label}")
        return names

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, shuffle=True,
            validation_data=None, sample_weight=None, **kwargs):
        """`fit` of Sequential; for several outputs: arrays (lists or dicts of them), per-epoch
        shuffling, validation data, callbacks, History named as Keras 2 names it
        (`<output>_loss`, `<output>_<metric>`, `val_...`)."""
        if getattr(self, "_heads", None) is None:
            return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                               shuffle=shuffle, validation_data=validation_data, sample_weight=sample_weight,
                               **kwargs)
        from rnnkit import callbacks as callbacks_module, distribute
        from rnnkit.models.training import _check_batch_size, _check_callbacks, _check_count, _check_verbose
        if distribute.distribution() is not None:
            raise NotImplementedError(f"Data-parallel training of a model with several outputs is not in rnnkit yet: "
                                      "fit it in one process, or on one output. Received: model \"{self.name}\" with "
                                      f"outputs {self.output_names}")
        if kwargs:
            raise TypeError(f"fit of a model with several outputs takes arrays; not supported: {sorted(kwargs)}. "
                            f"Received: {sorted(kwargs)}")
        batch_size, verbose = _check_batch_size(batch_size), _check_verbose(verbose)
        epochs = _check_count(epochs, "epochs", 0)
        arrays, ys = self._as_input_list(x), self._as_target_list(y)
        count = len(arrays[0])
        if any(len(a) != count for a in ys):
            raise ValueError(f"Arguments `x` and `y` must hold the same number of samples. Received: {count} and "
                             f"{[len(a) for a in ys]}")
        history = callbacks_module.History()
        steps = math.ceil(count / batch_size)
        hooks = callbacks_module.CallbackList(_check_callbacks(callbacks) + [history], self,
                                              {"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        hooks.on_train_begin({})
        with self._training("fit"):
            for epoch in range(epochs):
                hooks.on_epoch_begin(epoch, {})
                order = backend.rng().permutation(count) if shuffle else np.arange(count)
                bar = callbacks_module.Progbar(steps, verbose=verbose) if verbose else None
                if verbose == 1:
                    print(f"Epoch {epoch + 1}/{epochs}")
                totals, seen = collections.Counter(), 0
                for step in range(steps):
                    index = order[step * batch_size:(step + 1) * batch_size]
                    sw = None if sample_weight is None else [None if w is None else np.asarray(w)[index] for w in (
                        sample_weight if isinstance(sample_weight, (list, tuple)) else
                        [sample_weight.get(n) for n in self.output_names] if isinstance(sample_weight, dict)
                        else [sample_weight] * len(self.outputs))]
                    hooks.on_train_batch_begin(step, {})
                    logs = self._multi_batch([a[index] for a in arrays], [a[index] for a in ys], sw, training=True)
                    for key, value in logs.items():
                        totals[key] += value * len(index)
                    seen += len(index)
                    hooks.on_train_batch_end(step, logs)
                    if bar is not None:
                        bar.update(step + 1, [(k, totals[k] / seen) for k in logs])
                epoch_logs = {key: value / seen for key, value in totals.items()}
                if validation_data is not None:
                    val = self.evaluate(validation_data[0], validation_data[1], batch_size=batch_size, verbose=0,
                                        return_dict=True)
                    epoch_logs.update({f"val_{k}": v for k, v in val.items()})
                hooks.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        hooks.on_train_end({})
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False,
                 **kwargs):
        if getattr(self, "_heads", None) is None:
            return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                    return_dict=return_dict, **kwargs)
        from rnnkit.models.training import _check_batch_size
        batch_size = _check_batch_size(batch_size)
        arrays, ys = self._as_input_list(x), self._as_target_list(y)
        count = len(arrays[0])
        totals, seen = collections.Counter(), 0
        with self._inference("evaluate"):
            for start in range(0, count, batch_size):
                index = slice(start, start + batch_size)
                logs = self._multi_batch([a[index] for a in arrays], [a[index] for a in ys], None, training=False)
                size = len(arrays[0][index])
                for key, value in logs.items():
                    totals[key] += value * size
                seen += size
        return self._result({key: value / seen for key, value in totals.items()}, return_dict)

    def reset_states(self):
        for layer in self._leaf_layers():
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def _structure(self, outputs):
        if self._gives_one_array():
            return outputs[0]
        if self._output_kind == "dict":
            return dict(zip(self._output_keys, outputs))
        return list(outputs)

    def __call__(self, x, training=False, mask=None):
        """Runs the model on arrays (eager); on symbolic tensors, records the model as one layer of
        another model."""
        if isinstance(x, dict) and any(isinstance(v, KerasTensor) for v in x.values()):
            x = self._as_input_list(x, "inputs", symbolic=True)
        if is_symbolic(x):
            return symbolic_call(self, x[0] if isinstance(x, list) and len(self.inputs) == 1 else x, mask=mask,
                                 training=training)
        return self._structure(self._run_graph(self._as_input_list(x), training)[0])

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """The outputs for `x`, batch by batch, stacked: an array, or a list/dict when the model
        has several outputs.

        Args:
            x: an array, a list of arrays or a dict keyed by input name; or a generator /
                iterable / keras.utils.Sequence of batches, each `x`, `(x,)` or `(x, y, ...)`
                (targets are ignored), `x` in any of those forms.
            batch_size: samples per batch for arrays (default 32).
            steps: batches to run (default: all of them; needed for an endless generator).
            max_queue_size, workers, use_multiprocessing: Keras 2's options, accepted; batches
                are read in the calling thread.

        Raises:
            ValueError / TypeError: for bad arguments, before any batch runs (a batch of a
                generator is checked when it comes).
        """
        from rnnkit.models.training import _check_batch_size, _check_callbacks, _check_verbose
        from rnnkit import callbacks as callbacks_module
        for name in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(name, None)
        if kwargs:
            raise TypeError(f"Unexpected arguments to predict: {sorted(kwargs)}. Received: {kwargs!r}")
        steps = check_steps(steps, "steps")
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose)
        _check_callbacks(callbacks)
        if is_batch_source(x, None):
            source = source_of(x, "x", False, steps)   # a given `batch_size` is ignored, as Keras does
            batches = (self._as_input_list(unpack(item, "x", need_y=False)[0]) for item in source.epoch())
            total = steps if steps is not None else source.steps
        else:
            arrays = self._as_input_list(x)
            count = len(arrays[0])
            if count == 0:
                raise ValueError("Argument `x` must hold at least one sample. Received: 0 samples")
            total = math.ceil(count / batch_size) if steps is None else min(steps, math.ceil(count / batch_size))
            batches = ([a[step * batch_size:(step + 1) * batch_size] for a in arrays] for step in range(total))
        bar = callbacks_module.Progbar(total, verbose=verbose) if verbose else None
        pieces = []
        for batch in batches:
            pieces.append(self._run_graph(batch)[0])
            if bar is not None:
                bar.update(len(pieces), finalize=False)
            if len(pieces) == total:
                break
        if is_batch_source(x, None):
            source.on_epoch_end()
        if bar is not None:
            bar.target = len(pieces)
            bar.update(len(pieces), finalize=True)
        if not pieces:
            raise ValueError("Argument `x` yielded no batch to predict. Received: an empty input")
        stacked = [np.concatenate([p[i] for p in pieces]) for i in range(len(self.outputs))]
        return self._structure(stacked)


    # ---- configs and files --------------------------------------------------------------------------
    def _file_layers(self):
        """(layers, input refs, output refs) describing the graph for the writers in saving/:
        node indices are counted within this model, as Keras saves them."""
        from rnnkit import layers as layers_module
        nodes_of_layer = collections.defaultdict(list)
        for node in self._nodes:
            nodes_of_layer[id(node.layer)].append(node)
        relative = {}
        for nodes in nodes_of_layer.values():
            for position, node in enumerate(sorted(nodes, key=lambda n: n.index)):
                relative[id(node)] = position

        def ref(tensor):
            return {"name": tensor.node.layer.name, "node": relative[id(tensor.node)], "tensor": tensor.index,
                    "shape": tensor.shape, "dtype": tensor.dtype}

        layers = []
        for layer in self._layers:
            spec = {"class_name": "InputLayer", "config": layer.get_config()} if isinstance(layer, InputLayer) \
                else layers_module.serialize(layer)
            calls = []
            for node in sorted(nodes_of_layer[id(layer)], key=lambda n: n.index):
                if isinstance(layer, InputLayer):
                    continue
                inputs = [ref(t) for t in node.inputs] if isinstance(node.inputs, (list, tuple)) else ref(node.inputs)
                calls.append({"inputs": inputs, "states": [ref(t) for t in node.state_inputs],
                              "constants": [node.constants[k] for k in getattr(layer, "call_arguments", ())
                                            if k in node.constants],
                              "mask": ref(node.mask_input) if node.mask_input is not None else None})
            shape = layer.input_shape
            layers.append({"spec": spec, "calls": calls,
                           "input_shape": [list(s) for s in shape] if shape and isinstance(shape[0], (list, tuple))
                           else (list(shape) if shape is not None else None)})
        return layers, [ref(t) for t in self.inputs], [ref(t) for t in self.outputs]

    def file_spec(self):
        """This model's spec for the writers of a model it is nested in (saving/nested_models.py)."""
        from rnnkit.saving import graph_config
        layers, inputs, outputs = self._file_layers()
        specs = [layer["spec"] for layer in layers]
        return self._nested_spec(graph_config.keras2_functional_config(self.name, layers, inputs, outputs),
                                 graph_config.keras3_functional_config(self.name, layers, inputs, outputs,
                                                                       self._output_kind == "single"),
                                 [spec for spec in specs if spec["class_name"] != "InputLayer"], specs)

    def get_config(self):
        """Keras 2's functional config: layers with their `inbound_nodes`, input and output layers."""
        from rnnkit.saving import graph_config
        layers, inputs, outputs = self._file_layers()
        for layer in layers:
            if layer["spec"]["class_name"] == "InputLayer":
                layer["spec"] = {"class_name": "InputLayer", "config": dict(layer["spec"]["config"])}
        config = graph_config.keras2_functional_config(self.name, layers, inputs, outputs)["config"]
        for entry in config["layers"]:
            entry.pop("module", None)
            entry.pop("registered_name", None)
        return config

    @classmethod
    def from_config(cls, config):
        """A new Model (fresh weights) from `get_config()`'s output."""
        import json

        from rnnkit.models.sequential import model_from_json
        return model_from_json(json.dumps({"class_name": "Functional", "config": config}))

    def to_json(self, **kwargs):
        import json
        return json.dumps({"class_name": "Functional", "config": self.get_config(),
                           "keras_version": "2.21.0", "backend": "tensorflow"}, **kwargs)

    def save(self, filepath):
        """Saves the graph and weights: `.keras` (Keras 3), `.h5` (tf_keras 2.21) or `.npz`
        (rnnkit's own), atomically."""
        from rnnkit.models.sequential import _checked_path, check_classes_file_can_name
        path = _checked_path(filepath, (".keras", ".h5", ".hdf5", ".npz"))
        check_classes_file_can_name(self, path)
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            rnnkit_format.save(path, self.get_weights(), {"class_name": "Functional", "config": self.get_config()})
            return
        from rnnkit.saving import keras_files
        layers, inputs, outputs = self._file_layers()
        # a model compiled per output keeps no compile state in its file yet (one loss only)
        compile_state = None if getattr(self, "_heads", None) else self._file_compile_state()
        keras_files.write_functional_model(path, self.name, layers, inputs, outputs, self._output_kind == "single",
                                           [layer.get_weights() for layer in self._layers], self.mask_rules,
                                           compile_state)

    def save_weights(self, filepath):
        """`.weights.h5` (Keras 3 layout), another `.h5` (Keras 2 layout) or `.npz`, atomically."""
        from rnnkit.models.sequential import _checked_path, check_classes_file_can_name
        path = _checked_path(filepath, (".h5", ".hdf5", ".npz"))
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            rnnkit_format.save(path, self.get_weights())
            return
        check_classes_file_can_name(self, path)
        from rnnkit.saving import keras_files
        specs = [layer["spec"] for layer in self._file_layers()[0]]
        keras_files.write_weights(path, self.name, specs, [layer.get_weights() for layer in self._layers])

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Loads weights written by Keras or rnnkit for this architecture; all or nothing."""
        path = str(filepath)
        if skip_mismatch:
            raise ValueError("Argument `skip_mismatch=True` is not supported. Received: skip_mismatch=True")
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            _, weights = rnnkit_format.load(path)
            try:
                self.set_weights(weights)
            except (ValueError, TypeError) as error:
                raise type(error)(f"{path!r}: {error}") from None
            return
        from rnnkit.saving import keras_files
        specs = [layer["spec"] for layer in self._file_layers()[0]]
        layout = [[(w.shape, w.dtype.name) for w in layer.weights.values()] for layer in self._layers]
        per_layer = keras_files.read_weights(path, specs, layout, by_name=by_name)
        self.set_layer_weights_from_file(path, {layer.name: arrays for layer, arrays in zip(self._layers, per_layer)
                                                if arrays is not None})

    # ---- summary -----------------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
        """Prints the layers, their output shapes, parameter counts and what each is connected to,
        in Keras 2's functional-model table (tf_keras 2.21's columns, Keras 2.9's totals)."""
        from rnnkit.models.summary import functional_summary_lines
        lines = functional_summary_lines(self, line_length=line_length, positions=positions,
                                         show_trainable=show_trainable, expand_nested=expand_nested)
        emit = print_fn or print
        for line in lines:
            emit(line)

    def __repr__(self):
        return f"<Model name={self.name!r}, inputs={len(self.inputs)}, outputs={len(self.outputs)}>"


def _per_output(value, names, what, default):
    """A compile argument per output: one value for all, a list in output order, or a dict by name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"Argument `{what}` names no output: {unknown}. Received: keys {sorted(value)}; outputs "
                             f"are {names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)) and what in ("loss", "loss_weights"):
        if len(value) != len(names):
            raise ValueError(f"Argument `{what}` must have one entry per output {names}. Received: {len(value)} "
                             "entries")
        return list(value)
    return [value] * len(names)


def _heads(names, loss, metrics, loss_weights, weighted_metrics):
    """Per output: its name, loss object, loss weight and metric identifiers."""
    from rnnkit import losses as losses_module
    from rnnkit import metrics as metrics_module
    if loss is None:
        raise ValueError("Argument `loss` is required to train. Received: loss=None")
    losses = _per_output(loss, names, "loss", None)
    weights = _per_output(loss_weights, names, "loss_weights", 1.0) if loss_weights is not None else [1.0] * len(names)
    metric_lists = _per_output(metrics, names, "metrics", None) if isinstance(metrics, dict) else [metrics] * len(names)
    weighted_lists = _per_output(weighted_metrics, names, "weighted_metrics", None) \
        if isinstance(weighted_metrics, dict) else [weighted_metrics] * len(names)
    heads = []
    for index, name in enumerate(names):
        if losses[index] is None:
            raise ValueError(f"Argument `loss` gives no loss for output {name!r}. Received: {loss!r}")
        weight = weights[index]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ValueError(f"Argument `loss_weights` must hold finite numbers. Received: {weight!r} for {name!r}")
        own = metric_lists[index]
        heads.append({"index": index, "name": name, "loss_id": losses[index], "loss": losses_module.get(losses[index]),
                      "weight": float(weight),
                      "metrics": metrics_module.check_names([own] if isinstance(own, str) else own, "metrics"),
                      "weighted_metrics": metrics_module.check_names(
                          [weighted_lists[index]] if isinstance(weighted_lists[index], str) else weighted_lists[index],
                          "weighted_metrics")})
    return heads


def _state_gradients(layer, check_only=False):
    """dL/d(initial states) of a recurrent layer's last backward (a Bidirectional's: its forward
    layer's, then its backward layer's); None for a layer that gives none."""
    if hasattr(layer, "forward_layer") and hasattr(layer, "backward_layer"):
        parts = [_state_gradients(layer.forward_layer, check_only), _state_gradients(layer.backward_layer, check_only)]
        return None if any(p is None for p in parts) else (True if check_only else parts[0] + parts[1])
    if not hasattr(layer, "initial_state_grads"):
        return None
    return True if check_only else list(layer.initial_state_grads or [])


def model_from_graph(path, name, specs, locations, graph, placeholders=True):
    """A Model from a file's functional config (see saving/graph_config), built with placeholder
    weights; any failure is a FileFormatError naming the file and the place in the config."""
    import contextlib

    from rnnkit import layers as layers_module
    from rnnkit.layers.symbolic import input_tensor
    from rnnkit.saving import nested_models
    from rnnkit.saving.errors import FileFormatError

    def refuse(location, error):
        reason = str(error) if isinstance(error, (ValueError, TypeError)) else \
            f"the layer cannot be built from this config ({type(error).__name__}: {error})"
        return FileFormatError(path, location, reason)

    tensors, layers = {}, {}
    with backend.placeholder_weights() if placeholders else contextlib.nullcontext():
        for layer_name, spec in graph["input_layers"].items():
            config = dict(spec["config"])
            config.pop("name", None)
            try:
                from rnnkit.models.sequential import _file_input_shape
                config["batch_input_shape"] = _file_input_shape(path, config.get("batch_input_shape"))
                layer = InputLayer(name=layer_name, **{k: v for k, v in config.items() if k in (
                    "batch_input_shape", "dtype", "sparse", "ragged")})
            except FileFormatError as error:
                raise FileFormatError(path, f"input layer {layer_name!r}", error.reason) from None
            except Exception as error:  # noqa: BLE001 - a stranger's config: every failure is the file's
                raise refuse(f"input layer {layer_name!r}", error) from None
            tensors[(layer_name, 0, 0)] = input_tensor(layer)
        for spec, location in zip(specs, locations):
            try:
                layers[spec["config"]["name"]] = (model_from_spec(spec, path, placeholders)
                                                  if nested_models.is_nested(spec) else layers_module.deserialize(spec),
                                                  location)
            except FileFormatError:
                raise
            except Exception as error:  # noqa: BLE001
                raise refuse(location, error) from None
        pending, made = list(graph["calls"]), collections.Counter()
        while pending:
            progress, waiting_layers = False, set()
            for call in list(pending):
                layer_name = call["layer"]
                if layer_name in waiting_layers:
                    continue  # a layer's calls are made in their file order: that is their node index
                refs = (call["inputs"] if isinstance(call["inputs"], list) else [call["inputs"]]) + call["states"] + \
                    ([call["mask"]] if call.get("mask") else [])
                if not all(ref in tensors for ref in refs):
                    waiting_layers.add(layer_name)
                    continue
                layer, _ = layers[layer_name]
                inputs = [tensors[r] for r in call["inputs"]] if isinstance(call["inputs"], list) \
                    else tensors[call["inputs"]]
                states = [tensors[r] for r in call["states"]] or None
                kwargs = {"initial_state": states} if states else {}
                if call.get("mask"):
                    kwargs["mask"] = tensors[call["mask"]]
                names = getattr(layer, "call_arguments", ())
                if len(call.get("constants", ())) > len(names):
                    raise FileFormatError(path, call["where"], f"layer {layer_name!r} takes {len(names)} constant "
                                                               f"arguments. Received: {call['constants']!r:.100}")
                kwargs.update(zip(names, call.get("constants", ())))
                try:
                    result = layer(inputs, **kwargs)
                except Exception as error:  # noqa: BLE001
                    raise refuse(call["where"], error) from None
                for index, tensor in enumerate(result if isinstance(result, list) else [result]):
                    tensors[(layer_name, made[layer_name], index)] = tensor
                made[layer_name] += 1
                pending.remove(call)
                progress = True
            if not progress:
                raise FileFormatError(path, pending[0]["where"], "refers to a tensor no layer makes (or the calls "
                                                                 "form a cycle). Received: an unresolvable graph")
        ends = {}
        for key in ("inputs", "outputs"):
            missing = [ref for ref in graph[key] if ref not in tensors]
            if missing:
                raise FileFormatError(path, f"config.{key[:-1]}_layers", f"names tensors no layer makes: {missing}. "
                                                                          "Received: a dangling reference")
            ends[key] = [tensors[ref] for ref in graph[key]]
        try:
            model = Model(ends["inputs"] if len(ends["inputs"]) > 1 else ends["inputs"][0],
                          ends["outputs"][0] if graph["single_output"] else ends["outputs"],
                          name=name if isinstance(name, str) and name else None)
        except (ValueError, TypeError) as error:
            raise FileFormatError(path, "config", str(error)) from None
        model.mask_rules = graph.get("mask_rules", "keras2")
        in_model = {layer.name for layer in model.layers}
        for layer_name, (layer, location) in layers.items():
            if layer_name not in in_model:
                raise FileFormatError(path, location, f"layer {layer_name!r} is not connected to the model's outputs. "
                                                      "Received: a disconnected layer")
        return model


def layer_calls(layer):
    """The nodes recorded for `layer` (for summaries and files)."""
    return nodes_of(layer)
