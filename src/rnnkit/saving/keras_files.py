"""Keras model and weight files, read and written as plain data: layer specs (rnnkit's dialect of
Keras configs) and, per layer, its arrays in `get_weights()` order.

Formats, by extension as Keras chooses them:
    .keras        Keras 3 archive: a zip of config.json, metadata.json, model.weights.h5
    .h5 / .hdf5   Keras 2 full model: attribute model_config + group model_weights (legacy layout)
    .weights.h5   Keras 3 weights layout (tf_keras 2.21 writes this one too)
    save_weights to another .h5: Keras 2 legacy weights layout at the root
Every write goes to a temporary file beside the target and is renamed over it at the end, so a
failed save leaves any earlier file intact. Reading never runs code from a file.
"""

import datetime
import io
import json
import os
import zipfile

from rnnkit import __version__
from rnnkit.saving import graph_config
from rnnkit.saving import guarded
from rnnkit.saving import keras_config
from rnnkit.saving import keras_weights
from rnnkit.saving import nested_models
from rnnkit.saving.errors import FileFormatError
from rnnkit.saving.rnnkit_format import write_atomic

KERAS2_VERSION = "2.21.0"
KERAS3_VERSION = "3.15.1"
# Keras's loaders read keras_version (kept at the version whose layout is written); this says who
# really wrote the file: an extra root attribute / metadata field, which Keras ignores.
WRITER_ATTRIBUTE = "written_by"
WRITER = f"rnnkit {__version__}"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


def _h5py():
    return guarded._h5py()


def is_weights_only_name(path):
    return str(path).endswith(".weights.h5")


# ---- reading models -------------------------------------------------------------------------------
def read_model(path, build):
    """A Keras 2 `.h5` or Keras 3 `.keras` model, or a TF SavedModel folder of a Keras model
    (`saving.savedmodel`), as
    {"name", "layers": [spec], "locations": [JSON path of each spec], "input_shape",
     "weights": [[array] per layer], "format"}.

    Args:
        build: `build(specs, locations, input_shape, name)` makes the model from the config and returns,
            per layer, the (shape, dtype) of each weight array. It runs before any weight is read,
            so that every dataset is checked against the model's shapes first and a config that
            does not fit its weights costs nothing.

    Raises:
        FileNotFoundError: for a missing file.
        FileFormatError: naming the file and the place inside it, for a damaged file, a
            weights-only file, an unsupported architecture or layer, or weights that do not fit.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        from rnnkit.saving import savedmodel
        if savedmodel.is_savedmodel(path):
            return savedmodel.read_model(path, build)
        raise FileFormatError(path, None, "is a folder without saved_model.pb: not a TensorFlow SavedModel. "
                                          "Received: a folder")
    head = guarded.check_regular_file(path)
    if head.startswith(_ZIP_MAGIC):
        return _read_archive(path, build)
    if head.startswith(_HDF5_MAGIC):
        return _read_legacy_model(path, build)
    raise FileFormatError(path, None, "is neither a Keras .keras archive nor an HDF5 (.h5) model file. "
                                      f"Received: a file starting with {head!r}")


def _dialect(model_config, path, where, keras_version, legacy):
    """('keras2' or 'keras3', legacy) for a model config: from the writer's version, else from the
    config itself. Refuses Keras 1."""
    if not isinstance(model_config, dict):
        raise FileFormatError(path, where, "the model config must be a JSON object. "
                                           f"Received: {type(model_config).__name__}")
    if keras_version is None and isinstance(model_config.get("keras_version"), str):
        keras_version = model_config["keras_version"]
        legacy = legacy or keras_config.dialect_of(keras_version) == "keras2"
    elif keras_version is None and (model_config.get("module") == "keras" or str(model_config.get("module")).startswith(
            "keras.src.models")):
        keras_version = "3"   # Keras 3's to_json() writes no version; its module paths say it
    try:
        keras_config.refuse_keras1(keras_version, "the model")
    except ValueError as error:
        raise FileFormatError(path, where, str(error)) from None
    return keras_config.dialect_of(keras_version), legacy


def sequential_layers(model_config, path, where, keras_version=None, legacy=False):
    """(specs, their JSON locations, input shape) of a Sequential model config.

    Args:
        keras_version: the version of Keras that wrote the file (default: the config's own
            `keras_version`, which `model.to_json()` writes); it decides what 'hard_sigmoid' means
            and refuses Keras 1.
        legacy: a Keras 2 `.h5` file: a GRU config without `reset_after` (Keras 2.0-2.1 had
            none) computes reset_after=False.
    """
    dialect, legacy = _dialect(model_config, path, where, keras_version, legacy)
    class_name = model_config.get("class_name")
    if class_name != "Sequential":
        shown = class_name if isinstance(class_name, str) else type(class_name).__name__
        # model_layers sends "Functional" and "Model" to the graph reader; only a SavedModel comes here with one.
        reason = ("rnnkit reads functional models from Keras .h5 and .keras files, and only Sequential ones from "
                  "a SavedModel folder" if class_name in ("Functional", "Model") else
                  "rnnkit loads Sequential and functional ('Functional', 'Model') models; a subclassed model's "
                  "call() is Python code, which rnnkit never loads from a file")
        raise FileFormatError(path, f"{where}.class_name", f"{reason}. Received: a {shown!r} model")
    inner = model_config.get("config")
    # Keras 2.0-2.1 wrote a Sequential's config as the plain list of its layers.
    layers = inner if isinstance(inner, list) else inner.get("layers") if isinstance(inner, dict) else None
    layers_where = f"{where}.config" if isinstance(inner, list) else f"{where}.config.layers"
    if not isinstance(layers, list):
        raise FileFormatError(path, layers_where, "the model config needs a list of layers. "
                                                  f"Received: {type(layers).__name__}")
    input_shape, specs, locations = None, [], []
    if not [entry for entry in layers if not (isinstance(entry, dict) and entry.get("class_name") == "InputLayer")]:
        raise FileFormatError(path, layers_where, "the model has no layers. Received: an empty layer list")
    for index, entry in enumerate(layers):
        location = f"{layers_where}[{index}]"
        if legacy:
            entry = _reset_before_where_unsaid(entry)
        try:
            spec = nested_models.parse(entry, path, location, "3" if dialect == "keras3" else "2", legacy) \
                if nested_models.is_nested(entry) else keras_config.to_rnnkit(entry, "layer", dialect=dialect)
        except FileFormatError:
            raise
        except (ValueError, TypeError) as error:
            raise FileFormatError(path, location, str(error)) from None
        if spec["class_name"] == "InputLayer":
            input_shape = spec["config"].get("batch_input_shape")
            if input_shape is None:
                input_shape = spec["config"].get("batch_shape")
        else:
            specs.append(spec)
            locations.append(location)
    return specs, locations, input_shape


def model_layers(model_config, path, where, keras_version=None, legacy=False):
    """(specs, locations, input shape, graph) of a Sequential or functional model config; the
    graph (see graph_config) is None for a Sequential, the input shape None for a functional model."""
    if isinstance(model_config, dict) and model_config.get("class_name") in ("Functional", "Model"):
        dialect, legacy = _dialect(model_config, path, where, keras_version, legacy)
        fix = _reset_before_where_unsaid if legacy else None
        specs, locations, graph = graph_config.functional_layers(model_config, path, where, dialect, fix)
        return specs, locations, None, graph
    specs, locations, input_shape = sequential_layers(model_config, path, where, keras_version, legacy)
    return specs, locations, input_shape, None


def _build(build, specs, locations, input_shape, name, graph):
    if graph is None:
        return build(specs, locations, input_shape, name)
    return build(specs, locations, input_shape, name, graph=graph)


def _reset_before_where_unsaid(entry, depth=0):
    """Keras 2.0-2.1 wrote no `reset_after` (their GRU applied the reset gate before the
    recurrent product); every later Keras writes it. A copy with reset_after=False where unsaid."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict) or depth > 8:
        return entry
    config = dict(entry["config"])
    if entry.get("class_name") == "GRU" and "reset_after" not in config:
        config["reset_after"] = False
    for key in ("layer", "backward_layer"):
        if isinstance(config.get(key), dict):
            config[key] = _reset_before_where_unsaid(config[key], depth + 1)
    return dict(entry, config=config)


def _name_of(config):
    inner = config.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return name if isinstance(name, str) else None


_ARCHIVE_ENTRIES = ("config.json", "metadata.json", "model.weights.h5")


def _read_archive(path, build):
    entries, names = guarded.read_zip_entries(path, set(_ARCHIVE_ENTRIES))
    for needed in ("config.json", "model.weights.h5"):
        if needed not in entries:
            raise FileFormatError(path, None, f"is not a Keras archive: it has no {needed}. "
                                              f"Received: entries {sorted(names)[:6]}")
    config = guarded.parse_json(entries["config.json"], path, "config.json")
    metadata = guarded.parse_json(entries["metadata.json"], path, "metadata.json") \
        if "metadata.json" in entries else {}
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    # A .keras archive without a version is Keras 3's (Keras 2.15 wrote one too, with its version).
    specs, locations, input_shape, graph = model_layers(config, path, "config.json",
                                                        version if isinstance(version, str) else "3")
    if graph is not None and isinstance(metadata, dict) and metadata.get("mask_rules") in ("keras2", "keras3"):
        graph["mask_rules"] = metadata["mask_rules"]
    if input_shape is None and isinstance(config, dict) and isinstance(config.get("build_config"), dict):
        input_shape = config["build_config"].get("input_shape")
    expected = _build(build, specs, locations, input_shape, _name_of(config), graph)
    with guarded.open_h5(entries["model.weights.h5"], path, "model.weights.h5") as h5:
        weights = keras_weights.read_keras3(h5, specs, expected, path, "model.weights.h5/")
        optimizer, optimizer_problem = _optional_optimizer_variables(h5, "optimizer/vars", None, path,
                                                                     "model.weights.h5/", weights)
    compile_config = config.get("compile_config") if isinstance(config, dict) else None
    return {"name": _name_of(config), "layers": specs, "locations": locations, "input_shape": input_shape,
            "weights": weights, "format": "keras3", "graph": graph, "keras_version": version,
            "compile": _compile_state(compile_config, optimizer, "keras3", optimizer_problem)}


def _read_legacy_model(path, build):
    with guarded.open_h5(path, path) as h5:
        raw = guarded.read_string_attribute(h5, "model_config", path, "")
        if raw is None:
            kind = "a weights-only file: build the model and call load_weights()" \
                if ("layers" in h5 or "layer_names" in h5.attrs) else "an HDF5 file that is not a Keras model"
            raise FileFormatError(path, "@model_config", f"is missing: the file is {kind}. Received: attributes "
                                                         f"{sorted(h5.attrs)[:6]}")
        config = guarded.parse_json(raw, path, "@model_config")
        version = guarded.read_string_attribute(h5, "keras_version", path, "")
        specs, locations, input_shape, graph = model_layers(config, path, "@model_config", version or "2",
                                                            legacy=True)
        rules = guarded.read_string_attribute(h5, "mask_rules", path, "") if graph is not None else None
        if rules in ("keras2", "keras3"):
            graph["mask_rules"] = rules
        group = guarded.walk(h5, "model_weights", path)
        if group is None:
            raise FileFormatError(path, "model_weights", f"is missing. Received: groups {sorted(h5)[:6]}")
        stored = keras_weights.legacy_datasets(group, path, "model_weights")
        expected = _build(build, specs, locations, input_shape, _name_of(config), graph)
        training_config = guarded.read_string_attribute(h5, "training_config", path, "")
        weights = []
        for spec, location, wanted in zip(specs, locations, expected):
            name = spec["config"].get("name")
            if name not in stored:
                if not wanted:
                    weights.append([])
                    continue
                raise FileFormatError(path, "model_weights", f"has no weights for layer {name!r} ({location}). "
                                                             f"Received: weights for {sorted(stored)[:8]}")
            weights.append(keras_weights.read_legacy_layer(stored[name], wanted, path, spec,
                                                            f"model_weights/{name}"))
        optimizer, optimizer_problem = _optional_optimizer_variables(
            h5, "optimizer_weights", "weight_names", path, "", weights) if training_config is not None else (None, None)
        compile_config = guarded.parse_json(training_config, path, "@training_config") \
            if training_config is not None else None
    return {"name": _name_of(config), "layers": specs, "locations": locations, "input_shape": input_shape,
            "weights": weights, "format": "keras2", "graph": graph, "keras_version": version,
            "compile": _compile_state(compile_config, optimizer, "tf_keras", optimizer_problem)}


def _read_optimizer_variables(h5, group_path, names_attribute, path, prefix, weights):
    """An optimizer's saved variables in the file's order, or None when there are none. Each must
    be a scalar or have the shape of one of the model's weights: a file cannot make rnnkit
    allocate more than the model it describes."""
    group = guarded.walk(h5, group_path, path, prefix.rstrip("/"))
    if group is None:
        return None
    where = f"{prefix}{group_path}"
    if names_attribute:
        names = guarded.read_string_list_attribute(group, names_attribute, path, where) or []
    else:
        names = []
        while guarded.child(group, str(len(names)), path, where) is not None and len(names) <= 100_000:
            names.append(str(len(names)))
    allowed = {()} | {tuple(array.shape) for arrays in weights for array in arrays}
    values = []
    for name in names:
        dataset = guarded.walk(group, name, path, where)
        if dataset is None:
            raise FileFormatError(path, f"{where}/{name}", "is listed but missing. Received: no such dataset")
        shape = tuple(getattr(dataset, "shape", ()) or ())
        if shape not in allowed:
            raise FileFormatError(path, f"{where}/{name}", "an optimizer variable must be a scalar or have the "
                                                           f"shape of a model weight. Received: shape {shape}")
        values.append(guarded.read_dataset(dataset, shape, path, f"{where}/{name}",
                                           "float64" if dataset.dtype.kind in "iu" else "float32"))
    return values


def _optional_optimizer_variables(h5, group_path, names_attribute, path, prefix, weights):
    """(variables, None), or (None, the reason) when the optimizer's state can't be taken: the
    model loads all the same (its compile state then starts fresh, with a warning)."""
    try:
        return _read_optimizer_variables(h5, group_path, names_attribute, path, prefix, weights), None
    except FileFormatError as error:
        return None, str(error)


def _compile_state(config, optimizer_variables, layout, problem=None):
    if not isinstance(config, dict) or not config:
        return None
    return {"config": config, "optimizer_variables": optimizer_variables, "layout": layout, "problem": problem}


# ---- reading weights ------------------------------------------------------------------------------
def read_weights(path, layer_specs, expected, by_name=False):
    """Per layer, the arrays stored for it in a Keras weights (or full-model) file.

    Args:
        expected: per layer, the (shape, dtype) of each of its arrays; checked before reading.
        by_name: match layers by name (Keras 2 layout only); a layer with no match gets None
            (it keeps its weights).
    """
    path = os.fspath(path)
    head = guarded.check_regular_file(path)
    if head.startswith(_ZIP_MAGIC) and not path.endswith(".npz"):
        if by_name:
            _refuse_by_name(path)
        return _read_archive(path, lambda specs, locations, shape, name: _same_architecture(
            path, specs, layer_specs, expected))["weights"]
    if not head.startswith(_HDF5_MAGIC):
        raise FileFormatError(path, None, f"is not an HDF5 weights file. Received: a file starting with {head!r}")
    with guarded.open_h5(path, path) as h5:
        if "layers" in h5 and "layer_names" not in h5.attrs:
            if by_name:
                _refuse_by_name(path)
            return keras_weights.read_keras3(h5, layer_specs, expected, path)
        group, prefix = (guarded.walk(h5, "model_weights", path), "model_weights") if "model_weights" in h5 \
            else (h5, "")
        stored = keras_weights.legacy_datasets(group, path, prefix)
        names = [spec["config"].get("name") for spec in layer_specs]
        if by_name:
            return [keras_weights.read_legacy_layer(stored[name], wanted, path, spec, f"{prefix}/{name}".lstrip("/"))
                    if name in stored else None for spec, name, wanted in zip(layer_specs, names, expected)]
        with_weights = [i for i, wanted in enumerate(expected) if wanted]
        stored_names = [name for name, datasets in stored.items() if datasets]
        if len(stored_names) != len(with_weights):
            raise FileFormatError(path, prefix or None, f"holds weights for {len(stored_names)} layers; this model "
                                                        f"has {len(with_weights)} layers with weights. Received: "
                                                        f"layers {stored_names[:8]}")
        # Keras 2 loads by topological order, not by name.
        result = [[] for _ in layer_specs]
        for index, stored_name in zip(with_weights, stored_names):
            result[index] = keras_weights.read_legacy_layer(stored[stored_name], expected[index], path,
                                                            layer_specs[index], f"{prefix}/{stored_name}".lstrip("/"))
        return result


def _same_architecture(path, specs, layer_specs, expected):
    """For load_weights from a `.keras` archive: its layers must be the model's, class by class."""
    theirs = [spec["class_name"] for spec in specs]
    mine = [spec["class_name"] for spec in layer_specs]
    if theirs != mine:
        raise FileFormatError(path, "config.json", f"holds a model of layers {theirs[:8]}; this model has "
                                                   f"{mine[:8]}. Received: another architecture")
    return expected


def _refuse_by_name(path):
    raise FileFormatError(path, None, "by_name=True works with the Keras 2 layout only (as in Keras). "
                                      "Received: a Keras 3 layout file")


def read_extra_entry(path, entry):
    """The bytes of an extra entry that `write_model(extra_entries=...)` stored in a `.keras`
    archive, or None when the file is not an archive or has no such entry."""
    path = os.fspath(path)
    if not guarded.check_regular_file(path).startswith(_ZIP_MAGIC):
        return None
    return guarded.read_zip_entries(path, {entry})[0].get(entry)


# ---- writing --------------------------------------------------------------------------------------
def write_model(path, name, layer_specs, per_layer_arrays, input_shape, dtype="float32", layer_input_shapes=None,
                extra_entries=None, compile_state=None):
    """Writes a Keras 3 `.keras` archive or a Keras 2 `.h5` model, by the extension of `path`.

    `compile_state` (see `compile_state_for`) makes the file say how the model was compiled and
    hold its optimizer's state, as Keras's own files do, so that Keras and rnnkit go on training.

    `extra_entries` ({archive name: bytes}, `.keras` only) are written into the same archive, so
    that one rename saves the model and what belongs with it; Keras ignores entries it does not know.
    """
    path = os.fspath(path)
    extra_entries = dict(extra_entries or {})
    for entry in extra_entries:
        if entry in _ARCHIVE_ENTRIES or not isinstance(entry, str) or not entry.startswith("assets/rnnkit/"):
            raise ValueError("Extra archive entries must be named 'assets/rnnkit/...'. Received: " + repr(entry))
    if extra_entries and not path.endswith(".keras"):
        raise ValueError(f"Extra entries can only be stored in a .keras archive. Received: {path!r}")
    if path.endswith(".keras"):
        write_atomic(path, lambda f: _write_archive(f, name, layer_specs, per_layer_arrays, input_shape, dtype,
                                                    layer_input_shapes, extra_entries, compile_state))
    elif path.endswith((".h5", ".hdf5")):
        write_atomic(path, lambda f: _write_legacy_model(f, name, layer_specs, per_layer_arrays, input_shape, dtype,
                                                         layer_input_shapes, compile_state))
    else:
        raise ValueError(f"Argument `filepath` must end in '.keras', '.h5' or '.npz'. Received: {path!r}")


def keras3_config(name, layer_specs, input_shape, dtype, layer_input_shapes):
    layers = [keras_config.keras3_input_layer(input_shape, dtype)]
    layers += [keras_config.to_keras3(spec, shape) for spec, shape in zip(layer_specs, layer_input_shapes)]
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": name, "trainable": True, "dtype": keras_config._policy(dtype), "layers": layers,
                       "build_input_shape": list(input_shape)},
            "registered_name": None, "build_config": {"input_shape": list(input_shape)}, "compile_config": {}}


def _write_archive(f, name, layer_specs, per_layer_arrays, input_shape, dtype, layer_input_shapes=None,
                   extra_entries=None, compile_state=None):
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        keras_weights.write_keras3(h5, name, layer_specs, per_layer_arrays)
        _write_keras3_optimizer(h5, compile_state)
    shapes = layer_input_shapes or [None] * len(layer_specs)
    metadata = {"keras_version": KERAS3_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "written_by": WRITER}
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        config = keras3_config(name, layer_specs, input_shape, dtype, shapes)
        if compile_state:
            config["compile_config"] = compile_state["keras3"]
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())
        for entry, data in (extra_entries or {}).items():
            archive.writestr(entry, data)


def keras2_config(name, layer_specs, input_shape, dtype, layer_input_shapes=None):
    shapes = layer_input_shapes or [None] * len(layer_specs)
    layers = [keras_config.keras2_input_layer(input_shape, dtype)]
    layers += [keras_config.to_keras2(spec, shape) for spec, shape in zip(layer_specs, shapes)]
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def _write_legacy_model(f, name, layer_specs, per_layer_arrays, input_shape, dtype, layer_input_shapes=None,
                        compile_state=None):
    h5py = _h5py()
    with h5py.File(f, "w") as h5:
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["keras_version"] = KERAS2_VERSION
        h5.attrs[WRITER_ATTRIBUTE] = WRITER
        h5.attrs["model_config"] = json.dumps(keras2_config(name, layer_specs, input_shape, dtype,
                                                            layer_input_shapes))
        keras_weights.write_legacy(h5.create_group("model_weights"), layer_specs, per_layer_arrays, KERAS2_VERSION)
        _write_tf_keras_compile(h5, compile_state)


def _write_keras3_optimizer(h5, compile_state):
    """The optimizer's variables where Keras 3 keeps them in `model.weights.h5`."""
    if compile_state and compile_state.get("keras3_variables"):
        group = h5.create_group("optimizer").create_group("vars")
        group.attrs["name"] = compile_state["optimizer_name"]
        for index, value in enumerate(compile_state["keras3_variables"]):
            group.create_dataset(str(index), data=value)


def _write_tf_keras_compile(h5, compile_state):
    """`training_config` and `optimizer_weights`, as tf_keras writes them into a model's .h5."""
    if not compile_state:
        return
    h5.attrs["training_config"] = json.dumps(compile_state["tf_keras"])
    if compile_state.get("tf_keras_variables"):
        group = h5.create_group("optimizer_weights")
        names = compile_state["tf_keras_names"]
        group.attrs.create("weight_names", names, dtype=keras_weights.h5py_string_dtype())
        for weight_name, value in zip(names, compile_state["tf_keras_variables"]):
            group.create_dataset(weight_name, data=value)


# Keras 3's optimizer config keys that tf_keras's optimizers refuse.
_KERAS3_ONLY_OPTIMIZER_KEYS = ("loss_scale_factor", "gradient_accumulation_steps")


def compile_state_for(compile_config, keras3_variables, tf_keras_variables, tf_keras_names, optimizer_name):
    """What `write_model` needs to store a compiled model: Keras 3's `compile_config`, the
    `training_config` tf_keras reads from it, and the optimizer's variables in each layout
    (empty lists when the optimizer has taken no step yet: Keras then builds fresh slots)."""
    optimizer = dict(compile_config["optimizer"])
    optimizer_config = {k: v for k, v in (optimizer.get("config") or {}).items() if k not in _KERAS3_ONLY_OPTIMIZER_KEYS}
    training_config = {"loss": compile_config["loss"], "metrics": compile_config.get("metrics"),
                       "weighted_metrics": compile_config.get("weighted_metrics"),
                       "loss_weights": compile_config.get("loss_weights"),
                       # tf_keras names its (non-legacy) optimizers "Custom>Adam" in training_config;
                       # a plain "Adam" would deserialize to its legacy Adam, which refuses weight_decay.
                       "optimizer_config": {"class_name": "Custom>" + optimizer["class_name"],
                                            "config": dict(optimizer_config, is_legacy_optimizer=False)}}
    return {"keras3": compile_config, "tf_keras": training_config, "keras3_variables": keras3_variables,
            "tf_keras_variables": tf_keras_variables, "tf_keras_names": tf_keras_names,
            "optimizer_name": optimizer_name}


def write_weights(path, name, layer_specs, per_layer_arrays):
    """`.weights.h5`: Keras 3 layout; another `.h5`: Keras 2 legacy layout at the root."""
    path = os.fspath(path)
    h5py = _h5py()

    def write(f):
        with h5py.File(f, "w") as h5:
            h5.attrs[WRITER_ATTRIBUTE] = WRITER
            if is_weights_only_name(path):
                keras_weights.write_keras3(h5, name, layer_specs, per_layer_arrays)
            else:
                keras_weights.write_legacy(h5, layer_specs, per_layer_arrays, KERAS2_VERSION)
    write_atomic(path, write)


# ---- functional models ----------------------------------------------------------------------------
def write_functional_model(path, name, layers, inputs, outputs, single_output, per_layer_arrays, mask_rules="keras2",
                           compile_state=None):
    """Writes a functional model (see graph_config's writing section) as a Keras 3 `.keras`
    archive or a tf_keras 2.21 `.h5`, by the extension of `path`, atomically; `compile_state` as
    `write_model` takes it."""
    path = os.fspath(path)
    specs = [layer["spec"] for layer in layers]
    h5py = _h5py()
    if path.endswith(".keras"):
        def write(f):
            buffer = io.BytesIO()
            with h5py.File(buffer, "w") as h5:
                keras_weights.write_keras3(h5, name, specs, per_layer_arrays)
                _write_keras3_optimizer(h5, compile_state)
            # rnnkit's masks follow Keras 2's rules; the file says so, so that rnnkit reads it back the
            # same (Keras 3 applies its own rules: an RNN given initial_state drops its input's mask).
            metadata = {"keras_version": KERAS3_VERSION,
                        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"), "written_by": WRITER,
                        "mask_rules": mask_rules}
            config = graph_config.keras3_functional_config(name, layers, inputs, outputs, single_output)
            if compile_state:
                config["compile_config"] = compile_state["keras3"]
            with zipfile.ZipFile(f, "w") as archive:
                archive.writestr("metadata.json", json.dumps(metadata))
                archive.writestr("config.json", json.dumps(config))
                archive.writestr("model.weights.h5", buffer.getvalue())
        write_atomic(path, write)
    elif path.endswith((".h5", ".hdf5")):
        def write(f):
            with h5py.File(f, "w") as h5:
                h5.attrs["backend"] = "tensorflow"
                h5.attrs["keras_version"] = KERAS2_VERSION
                h5.attrs[WRITER_ATTRIBUTE] = WRITER
                h5.attrs["mask_rules"] = mask_rules
                h5.attrs["model_config"] = json.dumps(graph_config.keras2_functional_config(name, layers, inputs,
                                                                                            outputs))
                keras_weights.write_legacy(h5.create_group("model_weights"), specs, per_layer_arrays, KERAS2_VERSION)
                _write_tf_keras_compile(h5, compile_state)
        write_atomic(path, write)
    else:
        raise ValueError(f"Argument `filepath` must end in '.keras', '.h5' or '.npz'. Received: {path!r}")
