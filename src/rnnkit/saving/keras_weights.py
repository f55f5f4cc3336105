"""Where Keras keeps each layer's arrays inside its HDF5 files (plain data, no layer objects).

Keras 3 layout (`.weights.h5`, and `model.weights.h5` inside a `.keras` archive; tf_keras 2.21
writes it too for `.weights.h5`):
    layers/<key>/vars/0, 1, ...                    Dense, Embedding
    layers/<key>/cell/vars/0, 1, 2                 SimpleRNN, LSTM, GRU
    layers/<key>/forward_layer/cell/vars/...       Bidirectional, then backward_layer/...
    layers/<key>/layer/vars/...                    TimeDistributed
where <key> is the snake-case class name, made unique within the model in layer order
(`simple_rnn`, `simple_rnn_1`, `dense`). Every object has a `vars` group, empty or not.

Keras 2 legacy layout (`model.save('x.h5')` under `model_weights/`, or `save_weights('x.h5')`
at the root): attribute `layer_names`; one group per layer name whose attribute `weight_names`
lists its datasets in `get_weights()` order, e.g. `lstm/lstm_cell/kernel:0`.

Which groups and names a layer has is the layer's own declaration (`keras_weight_groups` on its
class, see `layers.base.KerasWeightGroup`); this module names no layer class.
"""

from rnnkit.backend import to_snake_case
from rnnkit.layers.base import KerasWeightGroup
from rnnkit.saving import cudnn, guarded
from rnnkit.saving.errors import FileFormatError


def weight_groups(spec):
    """Where Keras keeps the arrays of the layer `spec` ({"class_name", "config"}): what its class
    declares (`Layer.keras_weight_groups`), a list of `KerasWeightGroup` in get_weights() order.

    Raises:
        ValueError: for a class rnnkit does not know.
    """
    from rnnkit.layers import get_class
    class_name = spec["class_name"]
    try:
        layer_class = get_class(class_name)
    except ValueError:
        raise ValueError(f"rnnkit does not know where Keras keeps the weights of a {class_name!r} layer. "
                         f"Received: class_name={class_name!r}") from None
    return [KerasWeightGroup(*group) for group in layer_class.keras_weight_groups(spec["config"])]


def keras3_var_groups(spec):
    """The sub-paths of a layer's `vars` groups that hold its arrays, in get_weights() order."""
    return [group.path for group in weight_groups(spec) if group.weights]


def keras3_layer_keys(layer_specs):
    """`layers/<key>` names Keras 3 gives a model's layers: snake-case class names, made unique."""
    counts, keys = {}, []
    for spec in layer_specs:
        base = to_snake_case(spec["class_name"])
        count = counts.get(base, 0)
        counts[base] = count + 1
        keys.append(base if count == 0 else f"{base}_{count}")
    return keys


def read_keras3(h5, layer_specs, expected, filename, prefix=""):
    """Per layer, the list of arrays, from an open Keras 3 layout file.

    Args:
        expected: per layer, the (shape, dtype) of each array the built layer holds; every
            dataset is checked against it before it is read.
    """
    layers = guarded.walk(h5, "layers", filename, prefix.rstrip("/"))
    if layers is None:
        raise FileFormatError(filename, prefix or None, "no 'layers' group: not a Keras 3 weights file. "
                                                        f"Received: groups {sorted(h5)[:5]}")
    per_layer = []
    for spec, key, wanted in zip(layer_specs, keras3_layer_keys(layer_specs), expected):
        if not wanted:
            per_layer.append([])  # a layer without weights (a merge, Dropout): nothing to read
            continue
        datasets = []
        for sub in keras3_var_groups(spec):
            path = f"layers/{key}/{sub}"
            group = guarded.walk(h5, path, filename, prefix.rstrip("/"))
            if group is None:
                raise FileFormatError(filename, prefix + path, f"the weights of layer "
                                      f"{spec['config'].get('name', key)!r} are missing. Received: a file for "
                                      "another architecture")
            index = 0
            while index <= len(wanted) and guarded.child(group, str(index), filename, prefix + path) is not None:
                datasets.append((group[str(index)], f"{prefix}{path}/{index}"))
                index += 1
        per_layer.append(_read_all(datasets, wanted, filename, spec, prefix + f"layers/{key}"))
    return per_layer


def _read_all(datasets, wanted, filename, spec, where):
    if len(datasets) != len(wanted):
        raise FileFormatError(filename, where, f"layer {spec['config'].get('name', '?')!r} "
                              f"({spec['class_name']}) has {len(wanted)} weight arrays. Received: "
                              f"{len(datasets)} arrays")
    return [guarded.read_dataset(dataset, shape, filename, path, dtype)
            for (dataset, path), (shape, dtype) in zip(datasets, wanted)]


def write_keras3(h5, model_name, layer_specs, per_layer_arrays):
    """Writes the Keras 3 layout into an open, empty HDF5 file."""
    h5.create_group("vars").attrs["name"] = model_name
    layers = h5.create_group("layers")
    for spec, key, arrays in zip(layer_specs, keras3_layer_keys(layer_specs), per_layer_arrays):
        group = layers.create_group(key)
        group.create_group("vars").attrs["name"] = spec["config"].get("name", key)
        arrays, start = list(arrays), 0
        for declared in weight_groups(spec):
            vars_group = group.require_group(declared.path)
            if declared.name is not None:
                vars_group.attrs["name"] = declared.name
            for index in range(len(declared.weights)):
                vars_group.create_dataset(str(index), data=arrays[start + index])
            start += len(declared.weights)


# ---- Keras 2 legacy layout ------------------------------------------------------------------------
def legacy_datasets(group, filename, prefix=""):
    """{layer name: [(dataset, its HDF5 path)] in weight_names order} from a Keras 2 legacy
    weights group, without reading any data."""
    layer_names = guarded.read_string_list_attribute(group, "layer_names", filename, prefix)
    if layer_names is None:
        raise FileFormatError(filename, prefix or None, "no 'layer_names' attribute: not a Keras 2 weights "
                                                        f"group. Received: attributes {sorted(group.attrs)[:6]}")
    result = {}
    for layer_name in layer_names:
        layer_group = guarded.walk(group, layer_name, filename, prefix)
        where = f"{prefix}/{layer_name}".lstrip("/")
        if layer_group is None:
            raise FileFormatError(filename, where, "is listed in layer_names but missing. Received: no such group")
        names = guarded.read_string_list_attribute(layer_group, "weight_names", filename, where) or []
        datasets = []
        for name in names:
            dataset = guarded.walk(layer_group, name, filename, where)
            if dataset is None:
                raise FileFormatError(filename, f"{where}/{name}", "is listed in weight_names but missing. "
                                                                   "Received: no such dataset")
            datasets.append((dataset, f"{where}/{name}"))
        result[layer_name] = datasets
    return result


def read_legacy_layer(datasets, wanted, filename, spec, where):
    """The arrays of one layer from `legacy_datasets`' entry, checked against `wanted`. A
    CuDNNLSTM / CuDNNGRU's arrays (Keras 2) are recognised by their bias's shape and converted
    as Keras 2 did (`saving.cudnn`)."""
    try:
        shapes = [dataset.shape for dataset, _ in datasets]
        plan = cudnn.stored_layout(spec, wanted, shapes)
    except ValueError as error:
        raise FileFormatError(filename, where, str(error)) from None
    except Exception:  # noqa: BLE001 - a damaged dataset header: _read_all reports it at its place
        plan = None
    if plan is None:
        return _read_all(datasets, wanted, filename, spec, where)
    layout, convert = plan
    return convert(_read_all(datasets, layout, filename, spec, where))


def keras2_weight_names(spec, layer_name=None):
    """The dataset names Keras 2 gives a layer's arrays, e.g. `lstm/lstm_cell/kernel:0`."""
    name = layer_name or spec["config"]["name"]
    return [weight for group in weight_groups(spec) for weight in group.keras2_names(name)]


def h5py_string_dtype():
    import h5py
    return h5py.string_dtype()


def write_legacy(group, layer_specs, per_layer_arrays, keras_version):
    """Writes the Keras 2 legacy layout into an open HDF5 group (root or `model_weights`)."""
    names = [spec["config"]["name"] for spec in layer_specs]
    string = h5py_string_dtype()
    group.attrs.create("layer_names", names, dtype=string)
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = keras_version
    for spec, name, arrays in zip(layer_specs, names, per_layer_arrays):
        layer_group = group.create_group(name)
        weight_names = keras2_weight_names(spec)
        layer_group.attrs.create("weight_names", weight_names, dtype=string)
        for weight_name, array in zip(weight_names, arrays):
            layer_group.create_dataset(weight_name, data=array)
