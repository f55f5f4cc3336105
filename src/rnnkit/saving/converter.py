"""Converting a model file from any format rnnkit reads into any Keras format it writes.

    inputs   Keras 2.0-2.x / tf.keras / tf_keras `.h5`, Keras 2.15 / 3.x `.keras`, a TF SavedModel
             folder of a Keras model, rnnkit's `.npz`
    outputs  Keras 3 `.keras`, Keras 2 `.h5` (legacy full model), `.weights.h5` (Keras 3 weights layout;
             the architecture is not stored), rnnkit's `.npz`

The model is read into rnnkit's layers (built from the file's config with placeholder weights, then
given the file's arrays, every shape checked before reading) and written from them, so what comes
out is what rnnkit computes, in the layout the target's Keras reads. A target that cannot express
the model (Keras 2's hard_sigmoid in a Keras 3 file, say) is refused before anything is written.

`saving/` does not import `models/`: this module chains the layers itself (a Sequential is one path).
"""

import os

import numpy as np

from rnnkit.saving import keras_config, keras_files, rnnkit_format
from rnnkit.saving.errors import FileFormatError

_TARGETS = {".weights.h5": "Keras 3 weights (.weights.h5)", ".keras": "Keras 3 archive (.keras)",
            ".h5": "Keras 2 model (.h5)", ".hdf5": "Keras 2 model (.h5)", ".npz": "rnnkit model (.npz)"}


class FunctionalModel(FileFormatError):
    """A functional model's file: `rnnkit.models.convert` (the floor that knows Model) converts it."""


class LayerStack:
    """A Sequential's layers as read from a file: enough to predict and to write it again.

    Attributes:
        name: the model's name; layers: rnnkit layer objects, built, in order;
        input_shape: the batch-first input shape; source_format: what the file was.
    """

    def __init__(self, name, layers, input_shape, source_format):
        self.name, self.layers, self.input_shape, self.source_format = name, layers, input_shape, source_format

    @property
    def dtype(self):
        return self.layers[0].dtype if self.layers else "float32"

    def specs(self):
        from rnnkit import layers as layers_module
        return [layers_module.serialize(layer) for layer in self.layers]

    def weights(self):
        return [layer.get_weights() for layer in self.layers]

    def predict(self, x):
        """Runs the layers in inference mode, each getting the mask the one before emitted."""
        mask = None
        for layer in self.layers:
            next_mask = layer.compute_mask(x, mask)
            x = layer.forward(x, mask=mask, training=False)
            mask = next_mask
        return x

    def sample_input(self, batch_size=4, steps=7, seed=0):
        """A random batch the model takes: token ids (with trailing padding) for an Embedding,
        else standard normal values."""
        rng = np.random.default_rng(seed)
        shape = [batch_size] + [steps if d is None else d for d in self.input_shape[1:]]
        first = self.layers[0]
        if type(first).__name__ == "Embedding":
            ids = rng.integers(1, max(2, first.input_dim), size=shape)
            if ids.ndim == 2 and ids.shape[1] > 1:
                for row in range(1, ids.shape[0]):           # trailing zeros of varying length
                    ids[row, ids.shape[1] - row % ids.shape[1]:] = 0
            return ids.astype("int32")
        return rng.normal(size=shape).astype(self.dtype)


def _build_layers(path, specs, locations, input_shape):
    """rnnkit layers from a file's specs, built in a chain with placeholder weights; returns
    (layers, input shape). Any failure is a FileFormatError at the layer's place in the file."""
    from rnnkit import backend
    from rnnkit import layers as layers_module
    built = []
    with backend.placeholder_weights():
        for spec, location in zip(specs, locations):
            try:
                built.append(layers_module.deserialize(spec))
            except Exception as error:  # noqa: BLE001 - a stranger's config: every failure is the file's
                raise FileFormatError(path, location, str(error)) from None
        if input_shape is None and built:
            input_shape = built[0].batch_input_shape
        if input_shape is None:
            raise FileFormatError(path, None, "the file gives no input shape. Received: no InputLayer, "
                                              "batch_input_shape or build_config")
        if not isinstance(input_shape, (list, tuple)) or not 2 <= len(input_shape) <= 8 or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 2**31) for d in input_shape):
            raise FileFormatError(path, None, "the input shape must be a list of 2 to 8 positive ints or nulls. "
                                              f"Received: {input_shape!r:.200}")
        shape = (None,) + tuple(input_shape[1:])
        for layer, location in zip(built, locations):
            try:
                if not layer.built:
                    layer.compute_output_shape(shape)
                    layer.build(shape)
            except Exception as error:  # noqa: BLE001
                raise FileFormatError(path, location, f"the layer cannot be built for input shape {shape} "
                                                      f"({type(error).__name__}: {error})") from None
            shape = layer.output_shape
    return built, (None,) + tuple(input_shape[1:])


def _assign(path, layers, per_layer):
    for layer, arrays in zip(layers, per_layer):
        try:
            layer.set_weights(arrays)
        except ValueError as error:
            raise FileFormatError(path, None, str(error)) from None


def load_layers(path):
    """A model file of any format rnnkit reads as a `LayerStack`.

    Raises:
        FileNotFoundError: for a missing path.
        FileFormatError: naming the file and the place inside it, for anything it cannot load.
    """
    path = os.fspath(path)
    if path.endswith(".npz") and not os.path.isdir(path):
        return _load_rnnkit(path)
    state = {}

    def build(specs, locations, input_shape, name, graph=None):
        if graph is not None:
            raise FunctionalModel(path, None, "is a functional model: convert it with `rnnkit convert` or "
                                              "rnnkit.models.convert(), which know functional models. Received: a "
                                              "functional model")
        state["layers"], state["input_shape"] = _build_layers(path, specs, locations, input_shape)
        return [[(w.shape, w.dtype.name) for w in layer.weights.values()] for layer in state["layers"]]

    stored = keras_files.read_model(path, build)
    _assign(path, state["layers"], stored["weights"])
    return LayerStack(stored.get("name") or "sequential", state["layers"], state["input_shape"], stored["format"])


def _load_rnnkit(path):
    try:
        config, weights = rnnkit_format.load(path)
    except ValueError as error:
        raise FileFormatError(path, None, str(error)) from None
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise FileFormatError(path, "__rnnkit__", "holds no model config (a weights-only file?). "
                                                  f"Received: {type(config).__name__}")
    specs, locations, input_shape = [], [], config.get("build_input_shape")
    for index, spec in enumerate(config["layers"]):
        if isinstance(spec, dict) and spec.get("class_name") == "InputLayer":
            input_shape = input_shape or (spec.get("config") or {}).get("batch_input_shape")
        else:
            specs.append(spec)
            locations.append(f"__rnnkit__.config.layers[{index}]")
    layers, input_shape = _build_layers(path, specs, locations, input_shape)
    counts = [len(layer.weights) for layer in layers]
    if sum(counts) != len(weights):
        raise FileFormatError(path, None, f"the model has {sum(counts)} weight arrays. Received: {len(weights)}")
    per_layer, start = [], 0
    for count in counts:
        per_layer.append(weights[start:start + count])
        start += count
    _assign(path, layers, per_layer)
    return LayerStack(config.get("name") or "sequential", layers, input_shape, "rnnkit")


# ---- hard_sigmoid across Keras versions ------------------------------------------------------------
# Keras 2's hard_sigmoid is clip(0.2 z + 0.5, 0, 1), Keras 3's is clip(z / 6 + 0.5, 0, 1), so
#     hard_sigmoid_keras2(z) = hard_sigmoid_keras3(1.2 z),   hard_sigmoid_keras3(z) = hard_sigmoid_keras2(z / 1.2).
# Where the activation's argument is linear in the layer's weights (a Dense's or SimpleRNN's
# activation, an LSTM's or GRU's recurrent_activation, a GRU's candidate activation), scaling the
# weights that feed it by 1.2 (or 1 / 1.2) makes the other Keras's hard_sigmoid compute the same
# function exactly (up to float rounding, ~1e-7 relative). An LSTM's `activation` also acts on the
# cell state c_t, which no weight scales: that one is refused.
_SCALE_TO = {"keras3": ("hard_sigmoid", keras_config.KERAS3_HARD_SIGMOID, 1.2),
             "keras2": (keras_config.KERAS3_HARD_SIGMOID, "hard_sigmoid", 1.0 / 1.2)}


def _gate_columns(class_name, key, units, config):
    """Which output columns of kernel / recurrent_kernel / bias feed `key`'s activation."""
    H = units
    if class_name in ("Dense", "SimpleRNN") and key == "activation":
        return slice(None)
    if class_name == "LSTM" and key == "recurrent_activation":
        return np.r_[0:2 * H, 3 * H:4 * H]
    if class_name == "GRU":
        return slice(0, 2 * H) if key == "recurrent_activation" else slice(2 * H, 3 * H)
    return None


def rescale_hard_sigmoid(spec, arrays, dialect, notes):
    """(spec, arrays) with hard_sigmoid rewritten for `dialect` (the weights feeding it scaled so that
    the other Keras's hard_sigmoid computes the same function), or unchanged."""
    import copy
    old, new, scale = _SCALE_TO[dialect]
    class_name, config = spec["class_name"], spec["config"]
    if class_name in ("Bidirectional", "TimeDistributed"):
        spec = copy.deepcopy(spec)
        if class_name == "TimeDistributed":
            spec["config"]["layer"], arrays = rescale_hard_sigmoid(spec["config"]["layer"], arrays, dialect, notes)
            return spec, arrays
        inner = spec["config"]["layer"]
        half = len(arrays) // 2
        spec["config"]["layer"], forward = rescale_hard_sigmoid(inner, arrays[:half], dialect, notes)
        backward_spec = spec["config"].get("backward_layer")
        if backward_spec:
            spec["config"]["backward_layer"], backward = rescale_hard_sigmoid(backward_spec, arrays[half:], dialect, notes)
        else:
            _, backward = rescale_hard_sigmoid(inner, arrays[half:], dialect, [])
        return spec, forward + backward
    keys = [key for key in ("activation", "recurrent_activation") if config.get(key) == old]
    if not keys:
        return spec, arrays
    spec, arrays = copy.deepcopy(spec), [np.array(a) for a in arrays]
    for key in keys:
        columns = _gate_columns(class_name, key, config.get("units"), config)
        if columns is None:
            raise keras_config.TargetCannotHold(
                f"Layer {config.get('name')!r} ({class_name}) uses {old!r} as its `{key}`, and the other Keras's "
                "hard_sigmoid cannot stand in for it (it also acts on a value no weight scales). Keep the "
                f"original Keras version's format. Received: {key}={old!r}")
        for array in arrays:                  # kernel, recurrent_kernel, bias: gates along the last axis
            array[..., columns] *= np.asarray(scale, array.dtype)
        spec["config"][key] = new
        notes.append(f"layer {config.get('name')!r}: `{key}` hard_sigmoid rewritten for "
                     f"{'Keras 3' if dialect == 'keras3' else 'Keras 2'} as its hard_sigmoid of {scale:.6g} x "
                     f"(the weights feeding it scaled by {scale:.6g}): the same function")
    return spec, arrays


def _for_target(stack, kind, notes):
    """(specs, per-layer arrays) ready for the target: hard_sigmoid rewritten where it means
    something else there; raises TargetCannotHold for what the target cannot express."""
    specs, arrays = stack.specs(), stack.weights()
    dialect = {".keras": "keras3", ".weights.h5": "keras3", ".h5": "keras2", ".hdf5": "keras2"}.get(kind)
    if dialect is None:
        return specs, arrays
    pairs = [rescale_hard_sigmoid(spec, layer_arrays, dialect, notes) for spec, layer_arrays in zip(specs, arrays)]
    specs, arrays = [p[0] for p in pairs], [p[1] for p in pairs]
    for spec in specs:                        # anything else the target cannot express
        (keras_config.to_keras3 if dialect == "keras3" else keras_config.to_keras2)(spec)
    return specs, arrays


def _target_kind(out_path):
    for suffix in _TARGETS:
        if out_path.endswith(suffix):
            return suffix
    return None


def write_layers(stack, out_path, specs=None, arrays=None):
    """Writes a `LayerStack` (or other `specs` and `arrays` for its layers) in the format
    `out_path`'s extension names.

    Raises:
        ValueError: for an unknown extension, or a model the target cannot express.
    """
    kind = _target_kind(out_path)
    specs = stack.specs() if specs is None else specs
    arrays = stack.weights() if arrays is None else arrays
    if kind == ".weights.h5":
        keras_files.write_weights(out_path, stack.name, specs, arrays)
    elif kind in (".keras", ".h5", ".hdf5"):
        keras_files.write_model(out_path, stack.name, specs, arrays, stack.input_shape, stack.dtype,
                                [list(layer.input_shape) for layer in stack.layers])
    elif kind == ".npz":
        config = {"name": stack.name, "layers": specs, "build_input_shape": list(stack.input_shape)}
        rnnkit_format.save(out_path, [w for layer_arrays in arrays for w in layer_arrays], config)
    else:
        raise ValueError("Argument `out_path` must end in '.keras', '.h5', '.weights.h5' or '.npz' (a SavedModel "
                         f"cannot be written without TensorFlow). Received: {out_path!r}")


def convert(in_path, out_path, check=False, force=False):
    """Converts a model file into another format: Keras 3 `.keras`, Keras 2 `.h5`, Keras 3
    `.weights.h5` or rnnkit `.npz`, by `out_path`'s extension.

    Args:
        in_path: a Keras `.h5` (any Keras 2 era), `.keras`, a TF SavedModel folder of a Keras model,
            or an rnnkit `.npz`.
        out_path: the file to write (atomically: a failure leaves any earlier file intact).
        check: predict a random batch with the model as read and as written back, and report the
            largest absolute difference.
        force: overwrite `out_path` if it exists.

    Returns:
        A report dict: `input`, `input_format`, `output`, `output_format`, `model`, `layers` (class
        names), `parameters`, `notes` (what the target leaves out), and with `check` `max_abs_diff`
        and `checked_batch_shape`.

    Raises:
        FileNotFoundError: for a missing input.
        FileExistsError: if `out_path` exists and `force` is False.
        FileFormatError: for an input rnnkit cannot load.
        ValueError: for an unknown target extension, or a model the target cannot express (the
            reason says what and why); nothing is written then.
    """
    in_path, out_path = os.fspath(in_path), os.fspath(out_path)
    kind = _target_kind(out_path)
    if kind is None:
        raise ValueError("Argument `out_path` must end in '.keras', '.h5', '.weights.h5' or '.npz' (a SavedModel "
                         f"cannot be written without TensorFlow). Received: {out_path!r}")
    if os.path.exists(out_path) and not force:
        raise FileExistsError(f"Argument `out_path` names an existing file; pass force=True to overwrite it. "
                              f"Received: {out_path!r}")
    if os.path.abspath(out_path) == os.path.abspath(in_path):
        raise ValueError(f"Argument `out_path` must differ from `in_path`. Received: {out_path!r}")
    stack = load_layers(in_path)   # a functional model raises FunctionalModel: rnnkit.models.convert takes it
    notes = []
    specs, arrays = _for_target(stack, kind, notes)   # refuses before anything is written
    if kind == ".weights.h5":
        notes.append("a .weights.h5 file holds the weights only: rebuild the architecture, then load_weights()")
    x = stack.sample_input() if check else None
    before = stack.predict(x) if check else None
    write_layers(stack, out_path, specs, arrays)
    report = {"input": in_path, "input_format": stack.source_format, "output": out_path,
              "output_format": _TARGETS[kind], "model": stack.name,
              "layers": [type(layer).__name__ for layer in stack.layers],
              "parameters": int(sum(layer.count_params() for layer in stack.layers)), "notes": notes}
    if check:
        if kind == ".weights.h5":
            again = _rebuilt_with_weights(stack, specs, out_path)
        else:
            again = load_layers(out_path)
        after = again.predict(x)
        report["max_abs_diff"] = float(np.max(np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64))))
        report["checked_batch_shape"] = list(np.shape(x))
    return report


def _rebuilt_with_weights(stack, specs, weights_path):
    """The written architecture with fresh layers, given the weights read back from `weights_path`."""
    layers, _ = _build_layers(weights_path, specs, [f"layer {i}" for i in range(len(specs))], stack.input_shape)
    expected = [[(w.shape, w.dtype.name) for w in layer.weights.values()] for layer in layers]
    _assign(weights_path, layers, keras_files.read_weights(weights_path, specs, expected))
    return LayerStack(stack.name, layers, stack.input_shape, "keras3-weights")


def format_report(report):
    """The report as the text `rnnkit convert` prints."""
    lines = [f"{report['input']} ({report['input_format']}) -> {report['output']} ({report['output_format']})",
             f"model {report['model']!r}: {len(report['layers'])} layers ({', '.join(report['layers'])}), "
             f"{report['parameters']:,} parameters"]
    lines += [f"note: {note}" for note in report["notes"]]
    if "max_abs_diff" in report:
        lines.append(f"check: max |difference| {report['max_abs_diff']:.3g} over a batch of shape "
                     f"{tuple(report['checked_batch_shape'])}")
    return "\n".join(lines)


__all__ = ["convert", "format_report", "load_layers", "write_layers", "LayerStack"]
