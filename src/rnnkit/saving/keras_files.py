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

from rnnkit.saving import keras_config
from rnnkit.saving import keras_weights
from rnnkit.saving.rnnkit_format import write_atomic

KERAS2_VERSION = "2.21.0"
KERAS3_VERSION = "3.15.1"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency; say so if it is missing
        raise ImportError("Keras .h5 and .keras files need h5py: pip install h5py") from None
    return h5py


def _head(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not a model file. Received: a directory")
    with open(path, "rb") as f:
        return f.read(8)


def is_weights_only_name(path):
    return str(path).endswith(".weights.h5")


# ---- reading models -------------------------------------------------------------------------------
def read_model(path):
    """A Keras 2 `.h5` or Keras 3 `.keras` model as
    {"name", "layers": [spec], "input_shape", "weights": [[array] per layer], "format"}.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: naming the file, for a damaged file, a weights-only file, an unsupported
            architecture or an unknown layer.
    """
    path = os.fspath(path)
    head = _head(path)
    if head.startswith(_ZIP_MAGIC):
        return _read_archive(path)
    if head.startswith(_HDF5_MAGIC):
        return _read_legacy_model(path)
    raise ValueError(f"{path!r} is neither a Keras .keras archive nor an HDF5 (.h5) model file. "
                     f"Received: a file starting with {head!r}")


def _sequential_layers(model_config, path):
    if not isinstance(model_config, dict) or model_config.get("class_name") != "Sequential":
        found = model_config.get("class_name") if isinstance(model_config, dict) else type(model_config).__name__
        raise ValueError(f"{path!r}: rnnkit loads Sequential models. Received: a {found!r} model")
    layers = (model_config.get("config") or {}).get("layers")
    if not isinstance(layers, list):
        raise ValueError(f"{path!r}: the model config has no layer list. Received: {type(layers).__name__}")
    input_shape, specs = None, []
    for entry in layers:
        spec = keras_config.to_rnnkit(entry, f"{path!r}: layer")
        if spec["class_name"] == "InputLayer":
            input_shape = spec["config"].get("batch_input_shape")
        else:
            specs.append(spec)
    return specs, input_shape


def _read_archive(path):
    h5py = _h5py()
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for needed in ("config.json", "model.weights.h5"):
                if needed not in names:
                    raise ValueError(f"{path!r} is not a Keras archive: it has no {needed}. "
                                     f"Received: entries {sorted(names)[:6]}")
            config = json.loads(archive.read("config.json"))
            weights_bytes = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path!r} is a damaged Keras archive ({type(error).__name__}: {error}). "
                         "Received: an unreadable .keras file") from None
    specs, input_shape = _sequential_layers(config, path)
    if input_shape is None:
        input_shape = (config.get("build_config") or {}).get("input_shape")
    try:
        with h5py.File(io.BytesIO(weights_bytes), "r") as h5:
            weights = keras_weights.read_keras3(h5, specs, f"{path!r} (model.weights.h5)")
    except OSError as error:
        raise ValueError(f"{path!r}: its model.weights.h5 is damaged ({error}). Received: an unreadable archive") from None
    return {"name": (config.get("config") or {}).get("name"), "layers": specs, "input_shape": input_shape,
            "weights": weights, "format": "keras3"}


def _read_legacy_model(path):
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as h5:
            if "model_config" not in h5.attrs:
                kind = "a weights-only file: build the model and call load_weights()" \
                    if ("layers" in h5 or "layer_names" in h5.attrs) else "an HDF5 file that is not a Keras model"
                raise ValueError(f"{path!r} has no model_config: it is {kind}. Received: attributes "
                                 f"{sorted(h5.attrs)[:6]}")
            raw = h5.attrs["model_config"]
            config = json.loads(raw.decode("utf8") if isinstance(raw, bytes) else raw)
            specs, input_shape = _sequential_layers(config, path)
            if "model_weights" not in h5:
                raise ValueError(f"{path!r} has no model_weights group. Received: groups {sorted(h5)[:6]}")
            by_name = keras_weights.read_legacy(h5["model_weights"], repr(path))
    except (OSError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path!r} is a damaged Keras .h5 file ({type(error).__name__}: {error}). "
                         "Received: an unreadable file") from None
    weights = []
    for spec in specs:
        name = spec["config"].get("name")
        if name not in by_name:
            raise ValueError(f"{path!r}: no weights for layer {name!r}. Received: weights for {sorted(by_name)}")
        weights.append(by_name[name])
    return {"name": (config.get("config") or {}).get("name"), "layers": specs, "input_shape": input_shape,
            "weights": weights, "format": "keras2"}


# ---- reading weights ------------------------------------------------------------------------------
def read_weights(path, layer_specs, by_name=False):
    """Per layer, the arrays stored for it in a Keras weights (or full-model) file.

    With `by_name` (Keras 2 layout only), layers are matched by name and a layer with no match
    gets None (it keeps its weights).
    """
    path = os.fspath(path)
    head = _head(path)
    if head.startswith(_ZIP_MAGIC) and not path.endswith(".npz"):
        return _read_archive(path)["weights"] if not by_name else _refuse_by_name(path)
    if not head.startswith(_HDF5_MAGIC):
        raise ValueError(f"{path!r} is not an HDF5 weights file. Received: a file starting with {head!r}")
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as h5:
            if "layers" in h5 and "layer_names" not in h5.attrs:
                if by_name:
                    _refuse_by_name(path)
                return keras_weights.read_keras3(h5, layer_specs, repr(path))
            group = h5["model_weights"] if "model_weights" in h5 else h5
            stored = keras_weights.read_legacy(group, repr(path))
    except (OSError, KeyError) as error:
        raise ValueError(f"{path!r} is a damaged weights file ({type(error).__name__}: {error}). "
                         "Received: an unreadable file") from None
    names = [spec["config"].get("name") for spec in layer_specs]
    if by_name:
        return [stored.get(name) for name in names]
    with_weights = [(spec, name) for spec, name in zip(layer_specs, names) if keras_weights._count(spec)]
    stored_lists = [arrays for arrays in stored.values() if arrays]
    if len(stored_lists) != len(with_weights):
        raise ValueError(f"{path!r} holds weights for {len(stored_lists)} layers; this model has "
                         f"{len(with_weights)} layers with weights. Received: layers {list(stored)}")
    # Keras 2 loads by topological order, not by name.
    result, stored_iter = [], iter(stored_lists)
    for spec in layer_specs:
        result.append(next(stored_iter) if keras_weights._count(spec) else [])
    return result


def _refuse_by_name(path):
    raise ValueError(f"{path!r}: by_name=True works with the Keras 2 layout only (as in Keras). "
                     "Received: a Keras 3 layout file")


# ---- writing --------------------------------------------------------------------------------------
def write_model(path, name, layer_specs, per_layer_arrays, input_shape, dtype="float32", layer_input_shapes=None,
                extra_entries=None):
    """Writes a Keras 3 `.keras` archive or a Keras 2 `.h5` model, by the extension of `path`.

    `extra_entries` ({archive name: bytes}, `.keras` only) are written into the same archive, so
    that one rename saves the model and what belongs with it; Keras ignores entries it does not know.
    """
    path = os.fspath(path)
    extra_entries = dict(extra_entries or {})
    for entry in extra_entries:
        if entry in _KERAS_ENTRIES or not isinstance(entry, str) or not entry.startswith("assets/rnnkit/"):
            raise ValueError("Extra archive entries must be named 'assets/rnnkit/...'. Received: " + repr(entry))
    if extra_entries and not path.endswith(".keras"):
        raise ValueError(f"Extra entries can only be stored in a .keras archive. Received: {path!r}")
    if path.endswith(".keras"):
        write_atomic(path, lambda f: _write_archive(f, name, layer_specs, per_layer_arrays, input_shape, dtype,
                                                    layer_input_shapes, extra_entries))
    elif path.endswith((".h5", ".hdf5")):
        write_atomic(path, lambda f: _write_legacy_model(f, name, layer_specs, per_layer_arrays, input_shape, dtype))
    else:
        raise ValueError(f"Argument `filepath` must end in '.keras', '.h5' or '.npz'. Received: {path!r}")


def keras3_config(name, layer_specs, input_shape, dtype, layer_input_shapes):
    layers = [keras_config.keras3_input_layer(input_shape, dtype)]
    layers += [keras_config.to_keras3(spec, shape) for spec, shape in zip(layer_specs, layer_input_shapes)]
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": name, "trainable": True, "dtype": keras_config._policy(dtype), "layers": layers},
            "registered_name": None, "build_config": {"input_shape": list(input_shape)}, "compile_config": None}


_KERAS_ENTRIES = ("config.json", "metadata.json", "model.weights.h5")


def read_extra_entry(path, entry):
    """The bytes of an extra entry that `write_model(extra_entries=...)` stored in a `.keras`
    archive, or None when the file is not an archive or has no such entry."""
    path = os.fspath(path)
    if not _head(path).startswith(_ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            if entry not in archive.namelist():
                return None
            return archive.read(entry)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"{path!r} is a damaged Keras archive ({type(error).__name__}: {error}). "
                         "Received: an unreadable .keras file") from None


def _write_archive(f, name, layer_specs, per_layer_arrays, input_shape, dtype, layer_input_shapes=None,
                   extra_entries=None):
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        keras_weights.write_keras3(h5, name, layer_specs, per_layer_arrays)
    shapes = layer_input_shapes or [None] * len(layer_specs)
    metadata = {"keras_version": KERAS3_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(keras3_config(name, layer_specs, input_shape, dtype, shapes)))
        archive.writestr("model.weights.h5", buffer.getvalue())
        for entry, data in (extra_entries or {}).items():
            archive.writestr(entry, data)


def keras2_config(name, layer_specs, input_shape, dtype):
    layers = [keras_config.keras2_input_layer(input_shape, dtype)] + list(layer_specs)
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def _write_legacy_model(f, name, layer_specs, per_layer_arrays, input_shape, dtype):
    h5py = _h5py()
    with h5py.File(f, "w") as h5:
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["keras_version"] = KERAS2_VERSION
        h5.attrs["model_config"] = json.dumps(keras2_config(name, layer_specs, input_shape, dtype))
        keras_weights.write_legacy(h5.create_group("model_weights"), layer_specs, per_layer_arrays, KERAS2_VERSION)


def write_weights(path, name, layer_specs, per_layer_arrays):
    """`.weights.h5`: Keras 3 layout; another `.h5`: Keras 2 legacy layout at the root."""
    path = os.fspath(path)
    h5py = _h5py()

    def write(f):
        with h5py.File(f, "w") as h5:
            if is_weights_only_name(path):
                keras_weights.write_keras3(h5, name, layer_specs, per_layer_arrays)
            else:
                keras_weights.write_legacy(h5, layer_specs, per_layer_arrays, KERAS2_VERSION)
    write_atomic(path, write)
