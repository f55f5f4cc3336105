"""Sequential: a linear stack of layers, Keras 2's API."""

import contextlib
import os

import numpy as np

from rnnkit import backend
from rnnkit.layers.base import Layer, shape_to_tuple
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.input_layer import InputLayer
from rnnkit.layers.symbolic import KerasTensor, input_tensor, is_symbolic, offer_trace, symbolic_call
from rnnkit.models.summary import parameter_counts, summary_lines, summary_rows
from rnnkit.models.keras2_methods import ClassPredictionMixin, GeneratorMethodsMixin
from rnnkit.models.nesting import ModelAsLayer, model_from_spec
from rnnkit.models.training import TrainingMixin, as_real_array, cast_checked


def _is_multi(shape):
    return isinstance(shape, list)


class Sequential(ModelAsLayer, TrainingMixin, GeneratorMethodsMixin, ClassPredictionMixin):
    """A linear stack of layers.

    Args:
        layers: optional list of layers to add; the first may be `Input(shape=...)`.
        name: the model's name; by default `sequential`, `sequential_1`, ...

    Example:
        model = Sequential()
        model.add(SimpleRNN(3, input_shape=(2, 10)))
        model.summary()
    """

    def __init__(self, layers=None, name=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"Argument `name` must be a non-empty string. Received: {name!r}")
        self.name = name or backend.unique_name("sequential")
        self._layers = []
        # O(1) duplicate checks: with scans of the list, loading 20,000 layers took 21 s.
        self._layer_names, self._layer_ids = set(), set()
        self._input_shape = None  # batch-first, once known
        self._explicit_input = False  # the shape came from Input(), not from a layer
        self._input_layer = None      # that Input's layer
        self._trace = None            # (input tensor, [each layer's output tensor]) once asked for
        self._pending_caches = None   # the layers' caches of the last training forward, for `_backward`
        self.built = False
        super().__init__()
        for layer in layers or []:
            self.add(layer)

    # ---- structure ------------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        if self._input_shape is None:
            raise AttributeError(f'Model "{self.name}" has no input shape yet: it is not built.')
        return self._input_shape

    @property
    def output_shape(self):
        if not self.built:
            raise AttributeError(f'Model "{self.name}" has no output shape yet: it is not built.')
        return self._layers[-1].output_shape if self._layers else self._input_shape

    def add(self, layer):
        """Adds a layer on top of the stack, building it at once when the input shape is known.

        Raises:
            TypeError: if `layer` is not a Layer.
            ValueError: for a duplicate name, a layer after a multi-output layer, or an input
                shape the new layer cannot take. The model is left unchanged.
        """
        with self._guard.exclusive("add", "it changes the model's layers"):
            return self._add(layer)

    def _add(self, layer):
        if isinstance(layer, KerasTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer  # keras.Input(...) as a Sequential's first entry
        if isinstance(layer, InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError(
                    "An Input can only be the first entry of a Sequential model. "
                    f"Received: {layer.name!r} after {len(self._layers)} layer(s)")
            self._input_shape = layer.batch_input_shape
            self._explicit_input = True
            self._input_layer = layer
            self.built = True
            return
        if isinstance(layer, ModelAsLayer) and layer.takes_several_inputs:
            raise ValueError(f"A Sequential model's layers take one input; model \"{layer.name}\" takes "
                             f"{len(layer._nested_inputs())}. Received: layer={layer!r}")
        if isinstance(layer, ModelAsLayer) and layer is self:
            raise ValueError(f"Sequential \"{self.name}\" cannot hold itself. Received: layer={layer!r}")
        if not isinstance(layer, (Layer, ModelAsLayer)):
            raise TypeError(
                "The added layer must be an instance of class Layer. "
                f"Received: layer={layer!r} of type {type(layer).__name__}")
        if layer.name in self._layer_names:
            raise ValueError(
                "All layers added to a Sequential model should have unique names. Name "
                f"\"{layer.name}\" is already the name of a layer in this model. Update the `name` "
                f"argument to pass a unique name. Received: name={layer.name!r}")
        if id(layer) in self._layer_ids:
            raise ValueError(f"Layer \"{layer.name}\" is already in this model. Received: the same layer again")
        if self._layers and self.built and _is_multi(self._layers[-1].output_shape):
            raise ValueError(
                "All layers in a Sequential model should have a single output tensor. Layer "
                f"\"{self._layers[-1].name}\" returns several. Received: another layer after it")
        input_shape = self._input_shape
        if not self._layers and input_shape is None and layer.batch_input_shape is not None:
            input_shape = layer.batch_input_shape
        if self._layers:
            input_shape = self._layers[-1].output_shape if self.built else None
        if input_shape is not None and not layer.built:
            layer.build(input_shape)  # raises before anything of the model changes
        elif input_shape is not None and layer.built:
            self._check_built_layer_fits(layer, input_shape)
        if not self._layers and self._input_shape is None and input_shape is not None:
            self._input_shape = tuple(input_shape)
        self._layers.append(layer)
        self._leaf_cache = None
        self._layer_names.add(layer.name)
        self._layer_ids.add(id(layer))
        self.built = input_shape is not None
        offer_trace(layer, self)
        if self._trace is not None and self.built:
            self.symbolic_trace()     # Keras 2 calls the new layer on the model's output at once

    @staticmethod
    def _check_built_layer_fits(layer, input_shape):
        """A built layer takes any input its build shape allows (None matches every size)."""
        built, given = tuple(layer.input_shape[1:]), tuple(input_shape[1:])
        if len(built) != len(given) or any(b is not None and b != g for b, g in zip(built, given)):
            raise ValueError(
                f"Layer \"{layer.name}\" was built for input shape {layer.input_shape}. "
                f"Received: input_shape={tuple(input_shape)}")

    def pop(self):
        """Removes the last layer.

        Raises:
            TypeError: if the model has no layers.
        """
        with self._guard.exclusive("pop", "it changes the model's layers"):
            return self._pop()

    def _pop(self):
        if not self._layers:
            raise TypeError("There are no layers in the model. Received: pop() on an empty model")
        removed = self._layers.pop()
        self._leaf_cache = None
        self._layer_names.discard(removed.name)
        self._layer_ids.discard(id(removed))
        if self._trace is not None:
            del self._trace[1][len(self._layers):]    # the output is the new last layer's again
        if not self._layers and not self._explicit_input:
            self._input_shape = None
            self._trace = None
            self.built = False

    # ---- the stack as a graph: Keras's model.input / model.output --------------------------------
    def symbolic_trace(self):
        """(input tensor, [each layer's output tensor]): the stack called once on a `keras.Input`
        of the model's input shape, as Keras records a Sequential's graph. Recorded when first
        asked for (`model.input`, `model.output`, a layer's `output`), extended by `add` and cut
        by `pop` after that; until then the layers record nothing (and keep nothing alive).

        Raises:
            AttributeError: if the model is not built (its input shape is not known yet).
        """
        if not self.built or self._input_shape is None:
            raise AttributeError(
                f'Sequential "{self.name}" has no input or output tensors yet: it is not built. Give its first '
                "layer an `input_shape` (or start it with keras.Input), or call build(). Received: an unbuilt model")
        if self._trace is None:
            if self._input_layer is not None:
                tensor = input_tensor(self._input_layer)
            else:
                first = self._layers[0]
                # Keras 2 names the input after the first layer (`embedding_input`), of the float type.
                tensor = input_tensor(InputLayer(batch_input_shape=self._input_shape, name=f"{first.name}_input",
                                                 dtype=backend.floatx()))
            self._trace = (tensor, [])
        tensor, outputs = self._trace
        for layer in self._layers[len(outputs):]:
            outputs.append(symbolic_call(layer, outputs[-1] if outputs else tensor))
        return tensor, list(outputs)

    @property
    def input(self):
        """The model's input tensor: `keras.Model(model.input, model.layers[i].output)` extracts features."""
        return self.symbolic_trace()[0]

    @property
    def inputs(self):
        return [self.input]

    @property
    def output(self):
        tensor, outputs = self.symbolic_trace()
        return outputs[-1] if outputs else tensor

    @property
    def outputs(self):
        output = self.output
        return list(output) if isinstance(output, list) else [output]

    def build(self, input_shape=None):
        """Builds every layer for inputs of `input_shape` (batch first, e.g. `(None, 10, 5)`).

        Raises:
            ValueError: if no input shape is given or known. Nothing is built then.
        """
        if input_shape is None:
            input_shape = self._input_shape
        if input_shape is None:
            raise ValueError(
                "You must provide an `input_shape` argument to build the model, or give its "
                "first layer an `input_shape`. Received: input_shape=None")
        input_shape = shape_to_tuple(input_shape, "input_shape") if input_shape[0] is not None else \
            (None,) + shape_to_tuple(input_shape[1:], "input_shape")
        shape = input_shape
        planned = []
        for layer in self._layers:
            if layer.built:
                self._check_built_layer_fits(layer, shape)
                out = layer.output_shape
            else:
                out = layer.compute_output_shape(shape)  # validates before creating weights
            planned.append((layer, shape))
            if _is_multi(out) and layer is not self._layers[-1]:
                raise ValueError(
                    "All layers in a Sequential model should have a single output tensor. Layer "
                    f"\"{layer.name}\" returns several. Received: another layer after it")
            shape = out
        for layer, shape in planned:
            if not layer.built:
                layer.build(shape)
        if self._trace is not None and tuple(self._trace[0].shape) != tuple(input_shape):
            self._trace = None
        self._input_shape = input_shape
        self.built = True

    def get_layer(self, name=None, index=None):
        """A layer by name or by index.

        Raises:
            ValueError: if neither or both are given, or no layer matches.
        """
        if (name is None) == (index is None):
            raise ValueError(f"Provide exactly one of `name` or `index`. Received: name={name!r}, index={index!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(self._layers) <= index < len(self._layers):
                raise ValueError(
                    f"Argument `index` must be an int in [0, {len(self._layers)}). Received: index={index!r}")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name}. Existing layers are: {[layer.name for layer in self._layers]}. "
            f"Received: name={name!r}")

    # ---- weights --------------------------------------------------------------------------------
    def _require_built(self):
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling `build()` or by "
                "calling the model on a batch of data, or give the first layer an `input_shape`. "
                f"Received: model \"{self.name}\" with no known input shape")

    def get_weights(self):
        """Every layer's weights, in Keras's order."""
        self._require_built()
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Sets all weights from a list in Keras's order; validated first, all or nothing.

        Raises:
            ValueError: for a wrong count, wrong shapes or non-finite values.
        """
        self._require_built()
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Argument `weights` must be a list of arrays. Received: {type(weights).__name__}")
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model \"{self.name}\" expects {expected} weight arrays. Received: {len(weights)} arrays")
        checked, start = [], 0
        for layer in self._layers:
            count = len(layer.weights)
            checked.append((layer, layer.check_weights(list(weights[start:start + count]))))
            start += count
        with self._guard.exclusive("set_weights", "it replaces the weights other calls read"):
            for layer, arrays in checked:
                for current, new in zip(layer.weights.values(), arrays):
                    current[...] = new

    def count_params(self):
        self._require_built()
        return int(sum(layer.count_params() for layer in self._layers))

    # ---- running --------------------------------------------------------------------------------
    def _prepare_input(self, x, argument="x", allow_empty=True):
        """`x` checked against the model's input (building the model from it the first time) and
        cast to the first layer's float type; an error before anything changes."""
        if not isinstance(x, (np.ndarray, list, tuple)):
            raise TypeError(f"Argument `{argument}` must be a NumPy array. Received: "
                            + ("None" if x is None else type(x).__name__))
        x = as_real_array(x, argument)
        if x.ndim == 0:
            raise ValueError(f"Argument `{argument}` must have a batch axis first. Received: a scalar {x!r}")
        if not self._layers:
            raise ValueError(f"Model \"{self.name}\" has no layers. Received: a call with input of shape {x.shape}")
        if not allow_empty and len(x) == 0:
            raise ValueError(f"Argument `{argument}` must hold at least one sample. Received: shape {x.shape}")
        if not self.built:
            with self._guard.build_lock:   # two threads' first calls build once
                if not self.built:
                    self.build((None,) + x.shape[1:])
        expected = self._input_shape
        if x.ndim != len(expected) or any(
                want is not None and want != got for want, got in zip(expected[1:], x.shape[1:])):
            raise ValueError(
                f"Argument `{argument}` of model \"{self.name}\" must have shape "
                f"{summary_shape(expected)} (batch first). Received: an array of shape {x.shape}")
        first = self._layers[0]
        if x.dtype.kind == "f" and not isinstance(first, Embedding):
            x = cast_checked(x, first.dtype, argument)
        return x

    def output_shape_for(self, input_shape):
        """The output shape for a concrete input shape (shape inference through every layer)."""
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def _run(self, x, training=False, activity=None):
        """Runs every layer, passing each one the mask the layer before it emitted. Returns the
        output and the last layer's mask (the loss honours it, as Keras's does). Writes nothing
        of the model's in inference: several threads may predict at once. `activity`, a list,
        receives the activity regularizers' penalties of this call's layer outputs."""
        outputs, masks, token = self._nested_forward([x], [None], training, activity)
        if training:        # the model owns its call's caches until `_backward` uses them
            self._pending_caches = token
        return outputs[0], masks[0]

    def _nested_inputs(self):
        return [self._input_shape]

    def _nested_forward(self, arrays, input_masks, training, activity):
        """([output], [output mask], token): the layers run in order on `arrays[0]`; the token
        (None unless training) holds each layer's cache and the outputs activity penalties need."""
        x, mask = arrays[0], input_masks[0]
        caches, regularized = [], {}
        try:
            for index, layer in enumerate(self._layers):
                x, next_mask, cache = layer.forward_with_masks(x, mask, training, activity)
                caches.append(cache)
                if getattr(layer, "activity_regularizer", None) is not None:
                    regularized[index] = x
                    if activity is not None:
                        activity.append(layer.activity_penalty(x))
                mask = next_mask
        except BaseException:
            self._nested_release((caches, regularized))      # a failed call leaves no cache pending
            raise
        return [x], [mask], ((caches, regularized) if training else None)

    @staticmethod
    def _nested_release(token):
        for cache in token[0]:
            if cache is not None:
                cache.close()

    def _forward(self, x, training=False):
        """`_run`'s output alone."""
        return self._run(x, training)[0]

    def _backward(self, d_out):
        """Backward through every layer in reverse, each with its cache of the last training `_run`;
        the first layer skips dL/dx, which nothing needs."""
        token, self._pending_caches = self._pending_caches, None
        if token is None:
            raise RuntimeError(f"Model \"{self.name}\": backward needs a training forward first. Received: none")
        return self._nested_backward(token, [d_out], need_input_grad=False)[0]

    def _nested_backward(self, token, d_outs, need_input_grad):
        caches, regularized = token
        d_out = d_outs[0]
        for index in range(len(self._layers) - 1, -1, -1):
            if index in regularized:    # the activity penalty's gradient joins the loss's at this output
                d_out = d_out + self._layers[index].activity_gradient(regularized[index])
            d_out = self._layers[index].backward(d_out, caches[index], need_input_grad=index > 0 or need_input_grad)
        return [d_out]

    def compute_output_shape(self, input_shape):
        return self.output_shape_for(input_shape)

    @property
    def batch_input_shape(self):
        return self._input_shape

    @property
    def dtype(self):
        return self._layers[-1].dtype if self._layers else backend.floatx()

    def reset_states(self):
        """Zeros the states of every stateful layer."""
        for layer in self._leaf_layers():
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def __call__(self, x, training=False, mask=None):
        """Runs the model on one batch and returns its output. Inference (training=False) is safe
        from several threads at once; training=True keeps caches and is one thread at a time. On
        symbolic tensors, records the model as one layer of another model."""
        if is_symbolic(x):
            return symbolic_call(self, x, mask=mask, training=training)
        guard = self._training("__call__(training=True)") if training else self._inference("__call__")
        with guard:
            x = self._prepare_input(x)
            self._check_full_batch(x)
            output = self._run(x, training=training)[0]
            self._pending_caches = None         # nothing will backpropagate this call
            return output

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False):
        """Prints Keras 2.9's text summary: layers, output shapes and parameter counts.

        Args:
            line_length: total width (default 65).
            positions: column ends, relative or absolute (default [.45, .85, 1.]).
            print_fn: called with each line (default `print`).
            expand_nested: print a nested model's layers under it, as Keras 2.9 does (its
                Bidirectional and TimeDistributed are not expanded: they are not models).
            show_trainable: add a "Trainable" column (Y / N).

        Raises:
            ValueError: if the model is not built yet.
        """
        self._require_built()
        rows = summary_rows(self._layers, expand_nested)
        trainable, non_trainable = parameter_counts(self._layers)
        for line in summary_lines(self.name, rows, trainable, non_trainable, line_length, positions,
                                  show_trainable=show_trainable):
            (print_fn or print)(line)

    def get_config(self):
        """Keras's Sequential config: the name and each layer's {"class_name", "config"}."""
        from rnnkit import layers as layers_module
        from rnnkit.saving import nested_models
        specs = [layers_module.serialize(layer) for layer in self._layers]
        config = {"name": self.name, "layers": [nested_models.keras_entry(spec, "keras2")
                                                if nested_models.is_nested(spec) else spec for spec in specs]}
        if self._explicit_input and self._input_shape is not None:
            config["layers"].insert(0, {"class_name": "InputLayer", "config": {
                "batch_input_shape": list(self._input_shape), "dtype": self._layers[0].dtype
                if self._layers else "float32", "sparse": False, "ragged": False, "name": "input"}})
        return config

    @classmethod
    def from_config(cls, config):
        """A new Sequential from `get_config()`'s output (weights are fresh)."""
        from rnnkit import layers as layers_module
        layer_specs = config.get("layers")
        if not isinstance(layer_specs, list):
            raise ValueError(f"A Sequential config needs a list 'layers'. Received: {type(layer_specs).__name__}")
        built = []
        for spec in layer_specs:
            if spec.get("class_name") == "InputLayer":
                layer_config = dict(spec.get("config") or {})
                layer_config.pop("name", None)
                built.append(layers_module.InputLayer(**layer_config))
            else:
                built.append(layers_module.deserialize(spec))
        return cls(built, name=config.get("name"))

    # ---- files ----------------------------------------------------------------------------------
    def file_spec(self):
        """This model's spec for the writers of a model it is nested in (saving/nested_models.py)."""
        from rnnkit.saving import keras_files
        self._require_built()
        specs = self._layer_specs()
        arguments = (self.name, specs, self._input_shape, self.dtype, [list(layer.input_shape) for layer in self._layers])
        return self._nested_spec(keras_files.keras2_config(*arguments), keras_files.keras3_config(*arguments),
                                 specs, specs)

    def _layer_specs(self):
        from rnnkit import layers as layers_module
        return [layers_module.serialize(layer) for layer in self._layers]

    def save(self, filepath, *, extra_entries=None):
        """Saves the architecture and weights; the extension picks the format, as in Keras:
        `.keras` (Keras 3 archive), `.h5` (Keras 2 full model), `.npz` (rnnkit's own, which also
        keeps the compile settings). Written to a temporary file and renamed: a failed save leaves
        an earlier file intact.

        Args:
            extra_entries: rnnkit's extension, `.keras` only: {"assets/rnnkit/NAME": bytes} stored
                in the same archive (a vocabulary, say), so one rename saves both. Keras ignores them.

        Raises:
            ValueError: for another extension or an unbuilt model.
        """
        self._require_built()
        path = _checked_path(filepath, (".keras", ".h5", ".hdf5", ".npz"))
        check_classes_file_can_name(self, path)
        if extra_entries and not path.endswith(".keras"):
            raise ValueError(f"Argument `extra_entries` needs a .keras path. Received: {path!r}")
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            config = self.get_config()
            config["build_input_shape"] = list(self._input_shape)
            config["compile_config"] = self.get_compile_config()
            optimizer_state = self.get_optimizer_variables("keras3") \
                if self.optimizer is not None and self.optimizer.iterations else []
            if optimizer_state:  # after the weights, as more w_i entries; the header says how many
                config["optimizer_variables"] = {"count": len(optimizer_state), "layout": "keras3"}
            rnnkit_format.save(path, self.get_weights() + optimizer_state, config)
            return
        from rnnkit.saving import keras_files
        keras_files.write_model(path, self.name, self._layer_specs(), [layer.get_weights() for layer in self._layers],
                                self._input_shape, self._layers[0].dtype if self._layers else "float32",
                                [list(layer.input_shape) for layer in self._layers], extra_entries=extra_entries,
                                compile_state=self._file_compile_state())

    def to_json(self, **kwargs):
        """The model's architecture as Keras's `model.to_json()` writes it (Keras 2 form)."""
        import json
        return json.dumps({"class_name": "Sequential", "config": self.get_config(), "keras_version": "2.21.0",
                           "backend": "tensorflow"}, **kwargs)

    def save_weights(self, filepath):
        """Saves the weights: `.weights.h5` (Keras 3 layout), another `.h5` (Keras 2 layout) or
        `.npz` (rnnkit's), atomically."""
        self._require_built()
        path = _checked_path(filepath, (".h5", ".hdf5", ".npz"))
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            rnnkit_format.save(path, self.get_weights())
            return
        check_classes_file_can_name(self, path)
        from rnnkit.saving import keras_files
        keras_files.write_weights(path, self.name, self._layer_specs(), [layer.get_weights() for layer in self._layers])

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Loads weights saved by Keras 2 (`save_weights('x.h5')` or a full `.h5` model), Keras 3
        (`.weights.h5`, `.keras`) or rnnkit (`.npz`). All or nothing: every array is checked before
        any is assigned.

        Args:
            by_name: match layers by name (Keras 2 layout only); unmatched layers keep theirs.

        Raises:
            FileNotFoundError: for a missing file.
            ValueError: naming the file, for a damaged file or weights that do not fit.
        """
        self._require_built()
        path = os.fspath(filepath)
        if skip_mismatch:
            raise ValueError("Argument `skip_mismatch=True` is not supported. Received: skip_mismatch=True")
        if path.endswith(".npz"):
            from rnnkit.saving import rnnkit_format
            _, weights = rnnkit_format.load(path)
            self._set_weights_from_file(path, weights)
            return
        from rnnkit.saving import keras_files
        per_layer = keras_files.read_weights(path, self._layer_specs(), self._weight_layout(), by_name=by_name)
        if by_name:
            current = [layer.get_weights() for layer in self._layers]
            per_layer = [theirs if theirs is not None else mine for theirs, mine in zip(per_layer, current)]
        self._set_weights_from_file(path, [w for arrays in per_layer for w in arrays])

    def _weight_layout(self):
        """Per layer, the (shape, dtype) of each weight array: what a file must hold for it."""
        return [[(w.shape, w.dtype.name) for w in layer.weights.values()] for layer in self._layers]

    def _set_weights_from_file(self, path, weights):
        try:
            self.set_weights(weights)
        except ValueError as error:
            raise ValueError(f"{path!r}: {error}") from None

    def __repr__(self):
        return f"<Sequential name={self.name!r}, layers={len(self._layers)}, built={self.built}>"


def _checked_path(filepath, extensions):
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Argument `filepath` must be a path. Received: {filepath!r}")
    path = os.fspath(filepath)
    if not path.endswith(extensions):
        # tf.keras 2 writes a SavedModel folder (save) or a TF checkpoint (save_weights) where the
        # name has no extension, as keras-io's older lstm_seq2seq.py does with model.save("s2s").
        hint = ("; a name without one is TensorFlow's SavedModel folder or checkpoint in tf.keras 2, "
                "which rnnkit reads (load_model) but does not write" if not os.path.splitext(path)[1] else "")
        raise ValueError(f"Argument `filepath` must end in one of {extensions}{hint}. Received: {path!r}")
    return path


def check_classes_file_can_name(model, path):
    """Refuses, before anything is written, a file that would name a class of the user's own (a
    custom cell or layer): rnnkit builds only its own classes from a file, so that file could
    never be loaded. The weights alone (`.npz`) name no class and stay possible."""
    from rnnkit.layers import get_class
    from rnnkit.layers.base import held_by
    pending = list(model._leaf_layers())
    while pending:
        item = pending.pop()
        name = type(item).__name__
        try:
            known = get_class(name) is type(item)
        except ValueError:
            known = False
        if not known:
            raise ValueError(
                f"Argument `filepath`: model \"{model.name}\" holds a {name} ({type(item).__module__}), a class of "
                "your own. A saved model names its classes, and rnnkit builds only its own from a file (it "
                "never runs code that a file names), so this file could not be loaded. Save the weights with "
                f"`model.save_weights('weights.npz')` and rebuild the model in code to load them. Received: {path!r}")
        pending.extend(held_by(item))


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by Keras 2 (`.h5`), Keras 3 (`.keras`) or rnnkit (`.npz`).

    Nothing in the file is executed: layers are found by class name among rnnkit's, and a file
    naming any other class (a `Lambda`, a custom layer) is refused.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: naming the file, for a damaged file, a weights-only file, an unknown layer
            or option, or weights that do not fit the architecture.
    """
    if custom_objects:
        raise ValueError("Argument `custom_objects` is not supported: rnnkit never loads code from a file. "
                         f"Received: {sorted(custom_objects)}")
    path = os.fspath(filepath)
    if path.endswith(".npz"):
        return _load_rnnkit_model(path, compile)
    from rnnkit.saving import keras_files
    built = {}

    def build(specs, locations, input_shape, name, graph=None):
        if graph is not None:
            from rnnkit.models import functional
            built["model"] = model = functional.model_from_graph(path, name, specs, locations, graph)
            return [model.weight_layout_of(spec["config"]["name"]) for spec in specs]
        built["model"] = model = _model_from_file_config(path, name, specs, locations, input_shape)
        return model._weight_layout()

    stored = keras_files.read_model(path, build)
    model = built["model"]
    # rnnkit's extension: which file format and which Keras wrote it (what `rnnkit summary` tells).
    model.source = {"path": path, "format": stored.get("format"), "keras_version": stored.get("keras_version")}
    if stored.get("graph") is not None or not isinstance(model, Sequential):
        model.set_layer_weights_from_file(path, {spec["config"]["name"]: arrays
                                                 for spec, arrays in zip(stored["layers"], stored["weights"])})
    else:
        model._set_weights_from_file(path, [w for arrays in stored["weights"] for w in arrays])
    if compile and stored.get("compile"):
        _restore_compile_state(path, model, stored["compile"])
    return model


def _restore_compile_state(path, model, state):
    """Compiles `model` as the file says, with the optimizer's saved slots and step count, so that
    training goes on where it stopped. What rnnkit cannot restore (a custom loss, a functional
    model's training) leaves the model uncompiled, with a warning that names it: the model itself
    is still fine to use."""
    import warnings
    try:
        model.compile_from_config(state["config"])
    except (ValueError, TypeError, NotImplementedError) as error:
        warnings.warn(f"{path!r}: loaded uncompiled; its compile state can't be restored ({error})", stacklevel=3)
        return
    if state.get("problem"):
        warnings.warn(f"{path!r}: compiled, but its optimizer's saved state was left out ({state['problem']})",
                      stacklevel=3)
    if state.get("optimizer_variables"):
        try:
            model.set_optimizer_variables(state["optimizer_variables"], layout=state["layout"])
        except (ValueError, TypeError) as error:
            warnings.warn(f"{path!r}: compiled, but its optimizer's saved state does not fit and was left out "
                          f"({error})", stacklevel=3)


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from the JSON of Keras's `model.to_json()` (Keras 2 or 3).

    Raises:
        FileFormatError: naming the place in the JSON, for a malformed config, an unknown layer
            or option, or a model kind rnnkit does not build yet (the functional API).
    """
    from rnnkit.saving import guarded, keras_files
    if custom_objects:
        raise ValueError("Argument `custom_objects` is not supported: rnnkit never loads code. "
                         f"Received: {sorted(custom_objects)}")
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"Argument `json_string` must be a str. Received: {type(json_string).__name__}")
    source = "<model JSON>"
    config = guarded.parse_json(json_string, source, "$")
    specs, locations, input_shape, graph = keras_files.model_layers(config, source, "$")
    inner = config.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    if graph is not None:
        from rnnkit.models import functional
        return functional.model_from_graph(source, name, specs, locations, graph, placeholders=False)
    return _model_from_file_config(source, name, specs, locations, input_shape, placeholders=False)


def _model_from_file_config(path, name, specs, locations, input_shape, placeholders=True):
    """A Sequential built from a file's layer specs with placeholder weights; any failure is a
    FileFormatError naming the file and the layer's place in the config."""
    from rnnkit import backend
    from rnnkit import layers as layers_module
    from rnnkit.saving import nested_models
    from rnnkit.saving.errors import FileFormatError

    def refuse(location, error):
        reason = str(error) if isinstance(error, (ValueError, TypeError)) else \
            f"the layer cannot be built from this config ({type(error).__name__}: {error})"
        return FileFormatError(path, location, reason)

    with backend.placeholder_weights() if placeholders else contextlib.nullcontext():
        try:
            model = Sequential(name=name if isinstance(name, str) and name else None)
        except (ValueError, TypeError) as error:
            raise refuse("model name", error) from None
        if input_shape is not None:
            # The InputLayer's shape is the model's (a Keras 2 Embedding can say [None, None]
            # while the InputLayer says [None, 12]); Keras builds from the InputLayer too.
            model.add(layers_module.InputLayer(batch_input_shape=_file_input_shape(path, input_shape)))
        for spec, location in zip(specs, locations):
            try:
                model.add(model_from_spec(spec, path, placeholders) if nested_models.is_nested(spec)
                          else layers_module.deserialize(spec))
            except FileFormatError:
                raise
            except Exception as error:  # noqa: BLE001 - a stranger's config: every failure is the file's
                raise refuse(location, error) from None
        if not model.built:
            if input_shape is None:
                raise FileFormatError(path, None, "the file gives no input shape. Received: no InputLayer, "
                                                  "batch_input_shape or build_config")
            try:
                model.build(_file_input_shape(path, input_shape))
            except FileFormatError:
                raise
            except Exception as error:  # noqa: BLE001
                raise refuse("the input shape", error) from None
    return model


def _file_input_shape(path, shape):
    from rnnkit.saving.errors import FileFormatError
    if not isinstance(shape, (list, tuple)) or not 2 <= len(shape) <= 8 or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 2**31) for d in shape):
        raise FileFormatError(path, None, "the input shape must be a list of 2 to 8 positive ints or nulls. "
                                          f"Received: {shape!r:.200}")
    return tuple(shape)


def _load_rnnkit_model(path, compile=True):
    from rnnkit.saving import rnnkit_format
    config, weights = rnnkit_format.load(path)
    if isinstance(config, dict) and config.get("class_name") == "Functional":
        import json
        model = model_from_json(json.dumps(config))
        try:
            model.set_weights(weights)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{path!r}: {error}") from None
        return model
    if config is None:
        raise ValueError(f"{path!r} holds only weights; build the model and call load_weights(). "
                         "Received: a weights file")
    model = Sequential.from_config(config)
    if not model.built and config.get("build_input_shape"):
        model.build(tuple(config["build_input_shape"]))
    saved_state = config.get("optimizer_variables")
    count = saved_state.get("count") if isinstance(saved_state, dict) else 0
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= len(weights):
        raise ValueError(f"{path!r}: the header's optimizer_variables count must be an int from 0 to "
                         f"{len(weights)}. Received: {count!r}")
    optimizer_state = weights[len(weights) - count:] if count else []
    model._set_weights_from_file(path, weights[:len(weights) - count])
    if compile and config.get("compile_config"):
        _restore_compile_state(path, model, {"config": config["compile_config"],
                                             "optimizer_variables": optimizer_state, "layout": "keras3"})
    return model


def summary_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
