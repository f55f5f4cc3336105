"""Functional-model configs (Keras 2 "Model"/"Functional" in .h5, Keras 3 "Functional" in .keras)
as plain data: the layer specs, and the graph of calls between them.

Keras 2 writes each layer's calls as `inbound_nodes: [[[layer, node, tensor, kwargs], ...], ...]`:
one list per call, holding the input tensors; an RNN called with `initial_state` lists its states
after its input. Keras 3 writes each call as `{"args": [...], "kwargs": {...}}` whose tensors are
`{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}`, states
under `kwargs.initial_state`. Both become

    {"inputs": [ref], "outputs": [ref], "single_output": bool,
     "calls": [{"layer": name, "inputs": ref or [ref], "states": [ref]}], "input_layers": {name: spec}}

where a ref is (layer name, node index, tensor index), and calls are in the file's layer order.
"""

from rnnkit.saving import keras_config, nested_models
from rnnkit.saving.errors import FileFormatError

# Besides the recurrent layers (asked of the registry): the other layers whose call lists initial states.
_TAKES_STATES = ("Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_CALL_KWARGS_IGNORED = {"training", "mask"}
_KERAS3_RNN_CALL = {"training": False, "mask": None}  # what Keras 3 records for an RNN called without states
# Operations Keras 3 records as graph nodes: rnnkit class -> Keras's class name (all in keras.src.ops.numpy).
_KERAS3_OPERATIONS = {"NotEqual": "NotEqual", "LogicalOr": "LogicalOr", "ExpandDims": "ExpandDims",
                      "ZerosLike": "ZerosLike", "Any": "Any", "ConcatenateOperation": "Concatenate"}
_KERAS3_OPERATIONS_MODULE = "keras.src.ops.numpy"
_SPREAD_OPERATIONS = {"LogicalOr"}  # called as op(a, b) rather than op([a, b])


def _ref(value, path, where):
    if (isinstance(value, (list, tuple)) and len(value) >= 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:3])):
        return (value[0], int(value[1]), int(value[2]))
    raise FileFormatError(path, where, f"a tensor reference must be [layer name, node index, tensor index]. "
                                       f"Received: {keras_config._short(value)}")


def _keras3_tensor(value, path, where):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        if not isinstance(config, dict):
            raise FileFormatError(path, f"{where}.config", "a tensor's config must be a JSON object. Received: "
                                                          f"{keras_config._short(config)}")
        history = config.get("keras_history")
        return _ref(history, path, where + ".config.keras_history")
    return None


def _required_tensor(value, path, where):
    ref = _keras3_tensor(value, path, where)
    if ref is None:
        raise FileFormatError(path, where, f"must be a tensor. Received: {keras_config._short(value)}")
    return ref


def _keras3_call(call, path, where):
    if not isinstance(call, dict) or not isinstance(call.get("args", []), list):
        raise FileFormatError(path, where, "a call must be {'args': [...], 'kwargs': {...}}. Received: "
                                           f"{keras_config._short(call)}")
    args, kwargs = call.get("args", []), call.get("kwargs") or {}
    if not isinstance(kwargs, dict) or not args:
        raise FileFormatError(path, where, f"a call needs its input tensors. Received: {keras_config._short(call)}")
    first = args[0]
    single = _keras3_tensor(first, path, f"{where}.args[0]")
    if single is not None:
        inputs = single
    elif isinstance(first, list):
        inputs = [_required_tensor(value, path, f"{where}.args[0][{i}]") for i, value in enumerate(first)]
    else:
        raise FileFormatError(path, f"{where}.args[0]", f"must be a tensor or a list of tensors. Received: "
                                                        f"{keras_config._short(first)}")
    constants = []
    more = [_keras3_tensor(value, path, f"{where}.args[{i}]") for i, value in enumerate(args[1:], start=1)]
    if more and all(ref is not None for ref in more) and not isinstance(inputs, list):
        return [inputs] + more, [], [], None   # an operation of several tensors (`logical_or(a, b)`)
    for i, value in enumerate(args[1:], start=1):
        # Operation layers take plain values after their tensor (`not_equal(x, 0)`).
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise FileFormatError(path, f"{where}.args[{i}]", "rnnkit replays plain numbers after a call's input "
                                                              f"tensor. Received: {keras_config._short(value)}")
        constants.append(value)
    states, mask = [], None
    for key, value in kwargs.items():
        if key == "initial_state":
            values = value if isinstance(value, list) else [value]
            states += [_required_tensor(item, path, f"{where}.kwargs.initial_state[{i}]")
                       for i, item in enumerate(values)]
        elif key == "mask" and value is not None:
            mask = _keras3_tensor(value, path, f"{where}.kwargs.mask")
            if mask is None:
                raise FileFormatError(path, f"{where}.kwargs.mask", "must be a tensor or null. Received: "
                                                                    f"{keras_config._short(value)}")
        elif key not in _CALL_KWARGS_IGNORED:
            raise FileFormatError(path, f"{where}.kwargs.{key}", f"rnnkit cannot replay this call argument. "
                                                                  f"Received: {key}={keras_config._short(value)}")
    return inputs, states, constants, mask


def _keras2_call(call, class_name, path, where):
    if not isinstance(call, list) or not call:
        raise FileFormatError(path, where, f"a call must be a non-empty list of tensor references. Received: "
                                           f"{keras_config._short(call)}")
    refs, states = [], []
    for i, entry in enumerate(call):
        refs.append(_ref(entry, path, f"{where}[{i}]"))
        extra = entry[3] if len(entry) > 3 else {}
        if extra and isinstance(extra, dict):
            for key, value in extra.items():
                if key == "initial_state" and isinstance(value, list):
                    states += [_ref(v, path, f"{where}[{i}][3].initial_state") for v in value]
                elif key not in _CALL_KWARGS_IGNORED:
                    raise FileFormatError(path, f"{where}[{i}][3].{key}", "rnnkit cannot replay this call argument. "
                                                                         f"Received: {keras_config._short(value)}")
    if len(refs) > 1 and (class_name in _TAKES_STATES or keras_config.is_recurrent_class(class_name)):
        return refs[0], refs[1:] + states  # an RNN lists its initial states after its input
    return (refs[0] if len(refs) == 1 else refs), states


def _io_refs(value, path, where):
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [_ref(value, path, where)], True  # Keras 3 writes one output without the outer list
    if not isinstance(value, list) or not value:
        raise FileFormatError(path, where, f"must list tensor references. Received: {keras_config._short(value)}")
    return [_ref(v, path, f"{where}[{i}]") for i, v in enumerate(value)], len(value) == 1


def functional_layers(model_config, path, where, dialect="keras2", fix=None):
    """(specs of the layers that are not InputLayers, their JSON locations, the graph) of a
    Keras 2 or 3 functional-model config. `dialect` says which Keras wrote it ('hard_sigmoid'
    differs), and `fix` adjusts each layer entry first (Keras 2.0's GRU defaults).

    Raises:
        FileFormatError: naming the place in the config, for anything malformed.
    """
    inner = model_config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise FileFormatError(path, f"{where}.config.layers", "a functional model needs a list of layers. "
                                                              f"Received: {keras_config._short(inner)}")
    specs, locations, calls, input_layers, names = [], [], [], {}, set()
    for index, entry in enumerate(inner["layers"]):
        location = f"{where}.config.layers[{index}]"
        if isinstance(entry, dict) and entry.get("module") == _KERAS3_OPERATIONS_MODULE \
                and entry.get("class_name") == "Concatenate":
            entry = dict(entry, class_name="ConcatenateOperation")  # ops.concatenate, not the layer
        try:
            if nested_models.is_nested(entry):
                spec = nested_models.parse(entry, path, location, "3" if dialect == "keras3" else "2", fix is not None)
            else:
                spec = keras_config.to_rnnkit(fix(entry) if fix else entry, "layer", dialect=dialect)
        except FileFormatError:
            raise
        except (ValueError, TypeError) as error:
            raise FileFormatError(path, location, str(error)) from None
        name = entry.get("name", spec["config"].get("name"))
        if not isinstance(name, str) or not name:
            raise FileFormatError(path, f"{location}.name", f"must be a non-empty string. Received: "
                                                            f"{keras_config._short(name)}")
        if name in names:
            raise FileFormatError(path, f"{location}.name", f"two layers are named {name!r}. Received: a duplicate")
        names.add(name)
        spec["config"]["name"] = name
        if spec["class_name"] == "InputLayer":
            input_layers[name] = spec
            continue
        specs.append(spec)
        locations.append(location)
        inbound = entry.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            raise FileFormatError(path, f"{location}.inbound_nodes", "must be a list. Received: "
                                                                     f"{keras_config._short(inbound)}")
        for node_index, call in enumerate(inbound):
            call_where = f"{location}.inbound_nodes[{node_index}]"
            constants, mask = [], None
            if isinstance(call, dict):
                inputs, states, constants, mask = _keras3_call(call, path, call_where)
            else:
                inputs, states = _keras2_call(call, spec["class_name"], path, call_where)
            calls.append({"layer": name, "inputs": inputs, "states": states, "constants": constants, "mask": mask,
                          "where": call_where})
    inputs, _ = _io_refs(inner.get("input_layers"), path, f"{where}.config.input_layers")
    outputs, single = _io_refs(inner.get("output_layers"), path, f"{where}.config.output_layers")
    keras3 = any(isinstance(call, dict) for entry in inner["layers"] if isinstance(entry, dict)
                 and isinstance(entry.get("inbound_nodes"), list) for call in entry["inbound_nodes"])
    skipping = {spec["config"]["name"] for spec in specs if nested_models.keras2_skips_first_node(spec)}
    if skipping and not keras3:
        io_refs = {f"{where}.config.input_layers": inputs, f"{where}.config.output_layers": outputs}
        nested_models.shift_keras2_nodes(calls, io_refs, skipping, path)
        inputs, outputs = io_refs.values()
    return specs, locations, {"inputs": inputs, "outputs": outputs, "single_output": single, "calls": calls,
                              "input_layers": input_layers, "mask_rules": "keras3" if keras3 else "keras2"}


# ---- writing --------------------------------------------------------------------------------------
# A model describes itself for writing as `layers`: per layer of model.layers, {"spec": rnnkit spec,
# "input_shape": its build shape, "calls": [{"inputs": ref or [ref], "states": [ref]}]}, and refs
# {"name", "node", "tensor", "shape", "dtype"}, node indices counted within the model.
def _keras2_ref(ref, skipping=()):
    """A Keras 2 tensor reference; a nested model's node 0 is its own construction (nested_models)."""
    return [ref["name"], ref["node"] + (1 if ref["name"] in skipping else 0), ref["tensor"], {}]


def keras2_functional_config(name, layers, inputs, outputs):
    """tf_keras 2.21's `model_config` of a functional model (`class_name` "Functional").

    Raises:
        keras_config.TargetCannotHold: for a Keras 3 operation layer or an explicit mask input,
            which a Keras 2 file cannot express.
    """
    skipping = {layer["spec"]["config"]["name"] for layer in layers
                if nested_models.keras2_skips_first_node(layer["spec"])}
    entries = []
    for layer in layers:
        spec = layer["spec"]
        if spec["class_name"] == "InputLayer":
            entry = {"class_name": "InputLayer", "config": dict(spec["config"], optional=False)}
        else:
            entry = keras_config.to_keras2(spec, layer["input_shape"])
        entry["name"] = spec["config"]["name"]
        for call in layer["calls"]:
            if call.get("constants") or call.get("mask"):
                raise keras_config.TargetCannotHold(
                    f"Layer {spec['config']['name']!r} ({spec['class_name']}) is a Keras 3 operation or "
                    "takes an explicit mask, which a Keras 2 .h5 file cannot express: save as .keras. "
                    "Received: a model loaded from a Keras 3 file")
        entry["inbound_nodes"] = [
            [_keras2_ref(r, skipping) for r in (call["inputs"] if isinstance(call["inputs"], list) else [call["inputs"]])]
            + [_keras2_ref(r, skipping) for r in call["states"]] for call in layer["calls"]]
        entries.append(entry)
    return {"class_name": "Functional", "config": {
        "name": name, "trainable": True, "layers": entries,
        "input_layers": [_keras2_ref(r, skipping)[:3] for r in inputs],
        "output_layers": [_keras2_ref(r, skipping)[:3] for r in outputs]}}


def _keras3_tensor_dict(ref):
    return {"class_name": "__keras_tensor__", "config": {"shape": list(ref["shape"]), "dtype": ref["dtype"],
                                                         "keras_history": [ref["name"], ref["node"], ref["tensor"]]}}


def keras3_functional_config(name, layers, inputs, outputs, single_output):
    """Keras 3.15's `config.json` of a functional model."""
    entries = []
    for layer in layers:
        spec = layer["spec"]
        if spec["class_name"] == "InputLayer":
            config = spec["config"]
            entry = keras_config.keras3_input_layer(config["batch_input_shape"], config.get("dtype", "float32"),
                                                    config["name"])
        elif spec["class_name"] in _KERAS3_OPERATIONS:
            keras_name = _KERAS3_OPERATIONS[spec["class_name"]]
            entry = {"module": _KERAS3_OPERATIONS_MODULE, "class_name": keras_name,
                     "config": dict(spec["config"]), "registered_name": keras_name}
        else:
            shape = layer["input_shape"]
            entry = keras_config.to_keras3(spec, shape if not _is_shape_list(shape) else None)
            if _is_shape_list(shape):
                entry["build_config"] = {"input_shape": [list(s) for s in shape]}
            states = layer["calls"][0]["states"] if layer["calls"] else []
            if states:
                entry["build_config"] = {"shapes_dict": {"sequences_shape": list(shape),
                                                         "initial_state_shape": [list(r["shape"]) for r in states]}}
        entry["name"] = spec["config"]["name"]
        calls = []
        for call in layer["calls"]:
            first = [_keras3_tensor_dict(r) for r in call["inputs"]] if isinstance(call["inputs"], list) \
                else _keras3_tensor_dict(call["inputs"])
            kwargs = {"initial_state": [_keras3_tensor_dict(r) for r in call["states"]]} if call["states"] else \
                dict(_KERAS3_RNN_CALL) if spec["class_name"] in ("SimpleRNN", "LSTM", "GRU", "RNN") else \
                {"mask": None} if spec["class_name"] in ("Bidirectional", "TimeDistributed", "BatchNormalization") + \
                nested_models.NESTED_MODEL_CLASSES \
                else {"training": False} if spec["class_name"] in ("Dropout", "SpatialDropout1D") else {}
            if call.get("mask"):
                kwargs["mask"] = _keras3_tensor_dict(call["mask"])
            args = first if spec["class_name"] in _SPREAD_OPERATIONS else [first]
            calls.append({"args": args + list(call.get("constants") or []), "kwargs": kwargs})
        entry["inbound_nodes"] = calls
        entries.append(entry)
    output_refs = [[r["name"], r["node"], r["tensor"]] for r in outputs]
    input_refs = [[r["name"], r["node"], r["tensor"]] for r in inputs]  # Keras 3 unnests a single one
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": {
        "name": name, "trainable": True, "layers": entries,
        "input_layers": input_refs[0] if len(input_refs) == 1 else input_refs,
        "output_layers": output_refs[0] if single_output else output_refs},
        "registered_name": "Functional", "build_config": {"input_shape": None}, "compile_config": {}}


def _is_shape_list(shape):
    return isinstance(shape, (list, tuple)) and bool(shape) and isinstance(shape[0], (list, tuple))
