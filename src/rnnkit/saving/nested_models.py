"""A model nested inside another model, in Keras's files.

Where Keras puts it:
    config    the layer entry is the whole inner model's config: Keras 2 `{"class_name":
              "Functional" | "Sequential", "config": {...}, "name", "inbound_nodes"}`, Keras 3 the same
              with `module` / `registered_name`.
    nodes     tf_keras counts the inner model's own construction as its node 0 whenever the inner
              model starts from an InputLayer (`_should_skip_first_node`), so a Keras 2 config calls
              the first outer call node 1. Keras 3 counts from 0.
    weights   Keras 2: one group named after the inner model, its `weight_names` the inner layers'
              own names (`lstm/lstm_cell/kernel:0`, no outer prefix). Keras 3: `layers/<key>/layers/
              <inner key>/...`, inner keys made unique within the inner model (a functional model's
              InputLayers take keys too; a Sequential's do not).

A nested model's spec is {"class_name": "Functional" | "Sequential", "config": {"name", "trainable",
"nested": {...}}}; "nested" holds the inner layers' specs (`specs`, with `key_specs` in Keras 3's key
order) and, for reading, how to build it (`locations`, `graph`, `input_shape`), for writing its
Keras 2 and Keras 3 config entries (`keras2`, `keras3`). models/nesting.py builds the model.
"""

import copy
import threading

from rnnkit.saving.errors import FileFormatError

NESTED_MODEL_CLASSES = ("Functional", "Model", "Sequential")
# A model inside a model inside ...: bounded, as wrappers are, so a hostile file cannot recurse deep.
MAX_NESTING = 4

_depth = threading.local()


def is_nested(spec):
    return isinstance(spec, dict) and spec.get("class_name") in NESTED_MODEL_CLASSES


def parse(entry, path, location, keras_version, legacy):
    """The spec of a nested model's config entry, its inner layers parsed as a top-level model's are
    (every error names its place inside the entry)."""
    from rnnkit.saving import keras_files
    depth = getattr(_depth, "value", 0)
    if depth >= MAX_NESTING:
        raise FileFormatError(path, location, f"models nest at most {MAX_NESTING} deep. Received: a deeper nesting")
    _depth.value = depth + 1
    try:
        entry = dict(entry, class_name="Functional" if entry["class_name"] == "Model" else entry["class_name"])
        specs, locations, input_shape, graph = keras_files.model_layers(entry, path, location, keras_version, legacy)
    finally:
        _depth.value = depth
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    name = entry.get("name", config.get("name"))
    if graph is not None:
        by_name = {spec["config"]["name"]: spec for spec in specs}
        by_name.update(graph["input_layers"])
        key_specs = [by_name[layer.get("name", (layer.get("config") or {}).get("name"))]
                     for layer in config["layers"] if isinstance(layer, dict)]
    else:
        key_specs = list(specs)
    trainable = config.get("trainable", True)
    return {"class_name": entry["class_name"], "config": {
        "name": name, "trainable": trainable if isinstance(trainable, bool) else True,
        "nested": {"specs": specs, "key_specs": key_specs, "locations": locations, "graph": graph,
                   "input_shape": input_shape, "starts_from_input": graph is not None or input_shape is not None}}}


def keras2_skips_first_node(spec):
    """Whether tf_keras numbers this nested model's outer calls from 1 (see the module's docstring)."""
    return is_nested(spec) and spec["config"]["nested"].get("starts_from_input", True)


def shift_keras2_nodes(calls, io_refs, skipping, path):
    """Keras 2's node indices of nested models' calls, made rnnkit's (counted from 0), in place."""
    def shifted(ref, where):
        if ref[0] not in skipping:
            return ref
        if ref[1] < 1:
            raise FileFormatError(path, where, f"node 0 of the nested model {ref[0]!r} is its own construction, not "
                                               f"a call. Received: a reference to {list(ref)}")
        return (ref[0], ref[1] - 1, ref[2])

    for call in calls:
        where = call["where"]
        call["inputs"] = [shifted(r, where) for r in call["inputs"]] if isinstance(call["inputs"], list) \
            else shifted(call["inputs"], where)
        call["states"] = [shifted(r, where) for r in call["states"]]
        if call.get("mask"):
            call["mask"] = shifted(call["mask"], where)
    for key, refs in io_refs.items():
        io_refs[key] = [shifted(r, key) for r in refs]


def keras_entry(spec, dialect):
    """The nested model's config entry for a file of `dialect` ('keras2' or 'keras3')."""
    return copy.deepcopy(spec["config"]["nested"][dialect])


def weight_groups(config):
    """Where Keras keeps the inner layers' weights, as `KerasWeightGroup`s of the nested model."""
    from rnnkit.layers.base import KerasWeightGroup
    from rnnkit.saving.keras_weights import keras3_layer_keys
    from rnnkit.saving.keras_weights import weight_groups as layer_groups
    nested = config.get("nested") if isinstance(config, dict) else None
    if not isinstance(nested, dict):
        raise ValueError("A nested model's weight layout needs its parsed layers. Received: a config without them")
    groups = []
    for spec, key in zip(nested["key_specs"], keras3_layer_keys(nested["key_specs"])):
        inner_name = spec["config"]["name"]
        groups.append(KerasWeightGroup(f"layers/{key}/vars", inner_name, ()))   # every object has its vars
        for group in layer_groups(spec):
            groups.append(KerasWeightGroup(f"layers/{key}/{group.path}", group.name, group.weights,
                                           "/".join(part for part in (inner_name, group.scope) if part),
                                           keras2_named_by_inner_layer=True))
    return groups
