"""Keras 2 and Keras 3 layer configs <-> rnnkit's (plain dicts in, plain dicts out).

rnnkit's `get_config()` speaks Keras 2's dialect (the seed's). Keras 3 files differ in small,
regular ways: `module` / `registered_name` / `build_config` beside each config, `dtype` as a
DTypePolicy dict, `batch_shape` for InputLayer, a few keys added (`seed`, `zero_output_for_mask`,
`quantization_config`, `backward_layer`) and a few gone (`time_major`, `implementation`,
`input_length`). Reading accepts both; an option rnnkit cannot honour is an error naming it,
never a silent drop. Nothing in a file is ever executed: a layer is looked up by class name in
rnnkit's registry, and a class rnnkit does not know (a `Lambda`, a custom class) is refused.

Older and odder forms, by era:
    Keras 2.0-2.2   `implementation: 0`, GRU without `reset_after` (the formula was reset_after=False:
                    `keras_files` adds it for legacy files), `CuDNNLSTM` / `CuDNNGRU` (read as LSTM / GRU
                    with cuDNN's fixed activations; `keras_files` converts their weights), `Merge` (refused)
    Keras 1         `output_dim`, `inner_activation`, `init`, `consume_less`: refused, naming the version
    tf.keras 2.x    `time_major: false`, dtype policies `{"class_name": "Policy", ...}`
    Keras 3.x       `DTypePolicy` / `FloatDTypePolicy` dicts or plain strings, `OrthogonalInitializer`
                    and `IdentityInitializer` class names (3.0-3.x), `lora_rank`, `use_cudnn`,
                    `quantization_config` (non-null, or a quantized dtype policy: refused)
The name "hard_sigmoid" means clip(0.2 x + 0.5, 0, 1) in Keras 2 and relu6(x + 3) / 6 in Keras 3;
a Keras 3 file's "hard_sigmoid" is read as rnnkit's "hard_sigmoid_v3" and written back as
"hard_sigmoid"; a target that has no activation of the model's meaning is refused.
"""

import copy

from rnnkit.saving import nested_models

KNOWN_DTYPES = ("float32", "float64")

# Keras keys that carry no meaning for rnnkit when they hold these values.
_NEUTRAL = {
    "quantization_config": (None,),
    "optional": (False,),
    "implementation": (0, 1, 2),   # 0: Keras 2.0's default; all three compute the same function
    "time_major": (False,),
    "seed": None,        # any: rnnkit draws dropout masks from its own generator (set_random_seed)
    "lora_rank": (None,),
    "lora_alpha": (None,),
    "use_cudnn": None,   # "auto", True or False: a kernel choice, the same function
}
_NEUTRAL_WHY = {
    "quantization_config": "quantized layers (int8, int4, float8) are not supported",
    "lora_rank": "LoRA-adapted layers are not supported",
    "lora_alpha": "LoRA-adapted layers are not supported",
    "time_major": "inputs are batch-major; a time-major layer is not supported",
}
# Keras 3's class names for initializers whose Keras 2 names rnnkit uses.
_INITIALIZER_CLASSES = {"OrthogonalInitializer": "Orthogonal", "IdentityInitializer": "Identity",
                        "ConstantInitializer": "Constant"}
# cuDNN-only layers of Keras 2.0-2.x, read as the CPU layer that computes the same function.
CUDNN_CLASSES = {"CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU"}
_CUDNN_FIXED = {"CuDNNLSTM": {"activation": "tanh", "recurrent_activation": "sigmoid"},
                "CuDNNGRU": {"activation": "tanh", "recurrent_activation": "sigmoid", "reset_after": True}}
# Keys only Keras 1 wrote (Keras 2 renamed them); their presence says the config is Keras 1's.
_KERAS1_KEYS = ("output_dim", "inner_activation", "inner_init", "consume_less", "input_dtype", "W_regularizer",
                "U_regularizer", "b_regularizer", "dropout_W", "dropout_U", "init")
_ACTIVATION_KEYS = ("activation", "recurrent_activation")
KERAS3_HARD_SIGMOID = "hard_sigmoid_v3"
_WRAPPERS = ("Bidirectional", "TimeDistributed")


def _dtype_name(dtype, where):
    if isinstance(dtype, dict) and "Quantized" in str(dtype.get("class_name")):
        raise ValueError(f"{where}: quantized layers (int8, int4, float8) are not supported. "
                         f"Received: dtype={_short(dtype)}")
    if isinstance(dtype, dict):
        policy = dtype.get("config") or {}
        dtype = policy.get("name") if isinstance(policy, dict) else policy
    if dtype is None:
        return None
    if not isinstance(dtype, str) or dtype not in KNOWN_DTYPES:
        raise ValueError(f"{where}: dtype must be one of {KNOWN_DTYPES}; rnnkit has no mixed precision. "
                         f"Received: dtype={dtype!r}")
    return dtype


def _is_integer_dtype(dtype):
    if isinstance(dtype, dict):
        policy = dtype.get("config") or {}
        dtype = policy.get("name") if isinstance(policy, dict) else None
    return dtype in ("int32", "int64", "int16", "int8", "uint8")


def _initializer(spec):
    """Keras 3's initializer configs add keys that are None by default; keep the meaningful ones."""
    if not isinstance(spec, dict):
        return spec
    config = dict(spec.get("config") or {})
    for key in ("input_axes", "output_axes"):
        if config.get(key) is None:
            config.pop(key, None)
    class_name = spec.get("class_name")
    return {"class_name": _INITIALIZER_CLASSES.get(class_name, class_name), "config": config}


def _keras_version_major(version):
    """2 for '2.2.4-tf', 3 for '3.15.1', None when unknown."""
    if isinstance(version, str) and version[:1].isdigit():
        return int(version.split(".")[0]) if version.split(".")[0].isdigit() else None
    return None


def dialect_of(keras_version):
    """"keras3" for files written by Keras 3, else "keras2" (the meaning of 'hard_sigmoid' differs)."""
    major = _keras_version_major(keras_version)
    return "keras3" if major is not None and major >= 3 else "keras2"


def refuse_keras1(keras_version, where):
    """Raises for a file written by Keras 1 (`keras_version` '1.x')."""
    if _keras_version_major(keras_version) == 1:
        raise ValueError(f"{where}: this file was written by Keras {keras_version}; rnnkit reads files of "
                         "Keras 2.0 and later (Keras 1's layers, weights and configs differ). Load it in Keras 2 "
                         f"and save it again. Received: keras_version={keras_version!r}")


def _activation_name(value):
    if isinstance(value, dict):      # Keras 3 may wrap a built-in function's name
        config = value.get("config")
        return config.get("name") if isinstance(config, dict) else config
    return value


_OPERATIONS = {"NotEqual", "LogicalOr", "ExpandDims", "ZerosLike", "Any", "ConcatenateOperation"}  # Keras 3 ops recorded as nodes
# Python would take any truthy value here; a file must say true or false.
_BOOLEAN_OPTIONS = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll", "use_bias",
                    "mask_zero", "unit_forget_bias", "reset_after", "trainable", "zero_output_for_mask",
                    "sparse", "ragged"}
MAX_WRAPPER_DEPTH = 4  # TimeDistributed(Bidirectional(LSTM)) is 2; deeper is a crafted file


def to_rnnkit(spec, where="layer", depth=0, dialect="keras2"):
    """A Keras 2 or Keras 3 layer spec -> {"class_name", "config"} that rnnkit's registry takes.

    A `CuDNNLSTM` / `CuDNNGRU` comes back as LSTM / GRU with `"keras_class"` beside the config
    saying what the file held (its weights are in cuDNN's layout, converted on reading: see `saving.cudnn`).

    Args:
        dialect: "keras3" for a file written by Keras 3 (its "hard_sigmoid" is another function).

    Raises:
        ValueError: for a malformed spec or an option that changes the math.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"{where}: a layer entry must be a JSON object with a string 'class_name'. "
                         f"Received: {_short(spec)}")
    if not isinstance(spec.get("config", {}), (dict, type(None))):
        raise ValueError(f"{where}: a layer's 'config' must be a JSON object. Received: {_short(spec['config'])}")
    from rnnkit.layers import get_class  # the one registry of layer classes

    class_name = spec["class_name"]
    config = copy.deepcopy(spec.get("config") or {})
    name = config.get("name", "?")
    if not isinstance(name, str):
        raise ValueError(f"{where} ({class_name}): 'name' must be a string. Received: {_short(name)}")
    where = f"{where} {name!r} ({class_name})"
    if depth > MAX_WRAPPER_DEPTH:
        raise ValueError(f"{where}: wrappers nest at most {MAX_WRAPPER_DEPTH} deep. Received: a deeper nesting")
    if class_name == "Merge":
        raise ValueError(f"{where}: the `Merge` layer (Keras 1, kept as a deprecated shim in Keras 2.0-2.1) is not "
                         "supported; Keras 2 replaced it by the functional API's Add / Concatenate / Multiply / ... "
                         f"layers. Received: class_name='Merge' (mode={_short(config.get('mode'))})")
    keras1 = [key for key in _KERAS1_KEYS if key in config and not (key == "output_dim" and class_name == "Embedding")]
    if keras1:
        raise ValueError(f"{where}: this is a Keras 1 layer config (Keras 2.0 renamed {keras1[0]!r}); rnnkit reads "
                         "files of Keras 2.0 and later. Load it in Keras 2 and save it again. "
                         f"Received: Keras 1 keys {keras1[:4]}")
    keras_class = None
    if class_name in CUDNN_CLASSES:
        keras_class, class_name = class_name, CUDNN_CLASSES[class_name]
        config.update(_CUDNN_FIXED[keras_class])
    for key in _ACTIVATION_KEYS:
        if dialect == "keras3" and _activation_name(config.get(key)) == "hard_sigmoid":
            config[key] = KERAS3_HARD_SIGMOID
        elif _activation_name(config.get(key)) == KERAS3_HARD_SIGMOID:
            # rnnkit's internal name: a file spells Keras 3's function "hard_sigmoid" in a Keras 3 file
            raise ValueError(f"{where}: {KERAS3_HARD_SIGMOID!r} is not a Keras activation name. "
                             f"Received: {key}={config[key]!r}")
    try:
        get_class(class_name)
    except ValueError as error:
        raise ValueError(f"{where}: {error} rnnkit never runs code from a file.") from None
    if class_name == "InputLayer" and _is_integer_dtype(config.get("dtype")):
        # Token ids: the InputLayer keeps its integer type (rnnkit's InputLayer takes int dtypes).
        dtype = config["dtype"]
        config["dtype"] = (dtype.get("config") or {}).get("name") if isinstance(dtype, dict) else dtype
    elif class_name == "Embedding" and _is_integer_dtype(config.get("dtype")):
        # Keras 2.0-2.1 stored the Embedding's input dtype (int32) as its own; its weights are float32.
        config.pop("dtype")
    if "dtype" in config and class_name in _OPERATIONS:
        pass  # an operation's dtype is its output's (ZerosLike(dtype="bool") makes a mask)
    elif "dtype" in config and class_name != "InputLayer":
        config["dtype"] = _dtype_name(config["dtype"], where)
    elif "dtype" in config and not _is_integer_dtype(config["dtype"]):
        config["dtype"] = _dtype_name(config["dtype"], where)
    for key in _BOOLEAN_OPTIONS & set(config):
        if not isinstance(config[key], bool):
            raise ValueError(f"{where}: option `{key}` must be true or false. Received: {key}={_short(config[key])}")
    if class_name == "InputLayer" and "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    for key, neutral in _NEUTRAL.items():
        if key in config:
            value = config.pop(key)
            if neutral is not None and (isinstance(value, bool) and key == "implementation" or value not in neutral):
                why = _NEUTRAL_WHY.get(key, f"option `{key}` is not supported by rnnkit")
                raise ValueError(f"{where}: {why}. Received: {key}={_short(value)}")
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _initializer(value)
    if class_name in _WRAPPERS:
        if not isinstance(config.get("layer"), dict):
            raise ValueError(f"{where}: a wrapper needs the layer it wraps as a JSON object. "
                             f"Received: layer={_short(config.get('layer'))}")
        for key in ("layer", "backward_layer"):
            if config.get(key) is not None:
                config[key] = to_rnnkit(config[key], f"{where} {key}", depth + 1, dialect)
                if class_name == "Bidirectional" and not is_recurrent_class(config[key]["class_name"]):
                    # Keras refuses this too; and a Bidirectional of a Bidirectional doubles per level.
                    raise ValueError(f"{where}: Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU, "
                                     f"RNN(cell), ...). Received: {key}={config[key]['class_name']!r}")
        if class_name == "Bidirectional":
            # Keras 3 writes the forward layer under its 'forward_' name; rnnkit names it from the
            # wrapped layer's own name, so give that back.
            inner = config["layer"]["config"]
            if inner.get("name", "").startswith("forward_"):
                inner["name"] = inner["name"][len("forward_"):]
    if class_name in ("SimpleRNN", "LSTM", "GRU") and config.get("zero_output_for_mask") is False:
        config.pop("zero_output_for_mask")
    _cells_to_rnnkit(config, where, depth, dialect)
    result = {"class_name": class_name, "config": config}
    if keras_class is not None:
        result["keras_class"] = keras_class
    return result


def is_recurrent_class(class_name):
    """Whether the registry's class of that name is a recurrent layer (what Bidirectional takes)."""
    from rnnkit.layers import get_class
    from rnnkit.layers.recurrent import RNN
    return issubclass(get_class(class_name), RNN)


def _cells_to_rnnkit(config, where, depth, dialect="keras2"):
    """RNN's `cell` (a cell spec or a list of them) and StackedRNNCells' `cells`, nested specs
    in either Keras's form (Keras 3 adds module / registered_name / build_config around each)."""
    for key in ("cell", "cells"):
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, list):
            config[key] = [to_rnnkit(cell, f"{where} {key}[{i}]", depth + 1, dialect=dialect)
                           for i, cell in enumerate(value)]
        elif isinstance(value, dict):
            config[key] = to_rnnkit(value, f"{where} {key}", depth + 1, dialect=dialect)
        else:
            raise ValueError(f"{where}: `{key}` must be a cell config or a list of them. Received: {_short(value)}")


def _short(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# ---- writing --------------------------------------------------------------------------------
def _policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype}, "registered_name": None}


# Keras 3.15 writes `input_axes` / `output_axes` (None by default) in VarianceScaling's family.
_VARIANCE_SCALING = {"VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
                     "LecunNormal"}


def _keras3_initializer(spec):
    if not isinstance(spec, dict):
        return spec
    config = dict(spec.get("config") or {})
    if spec["class_name"] in _VARIANCE_SCALING:
        config.setdefault("input_axes", None)
        config.setdefault("output_axes", None)
    return {"module": "keras.initializers", "class_name": spec["class_name"], "config": config,
            "registered_name": None}


def _enveloped(config, key, value):
    """A regularizer or constraint config in Keras's module envelope (both Kerases write it so)."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    module = "keras.regularizers" if key.endswith("_regularizer") else "keras.constraints"
    return {"module": module, "class_name": value["class_name"], "config": dict(value.get("config") or {}),
            "registered_name": None}


def _envelope_penalties(config):
    for key, value in list(config.items()):
        if key.endswith(("_regularizer", "_constraint")):
            config[key] = _enveloped(config, key, value)


def _keras2_initializer(spec):
    """tf_keras 2.21's form: Keras 3's envelope, Keras 2's config."""
    if not isinstance(spec, dict):
        return spec
    return {"module": "keras.initializers", "class_name": spec["class_name"],
            "config": dict(spec.get("config") or {}), "registered_name": None}


class TargetCannotHold(ValueError):
    """A model a file format cannot express (the math would change in the Keras that reads it)."""


def _activations_for(config, dialect, class_name):
    """Writes rnnkit's activation names as `dialect` spells them; refuses what it has no name for."""
    for key in _ACTIVATION_KEYS:
        value = config.get(key)
        if dialect == "keras3" and value == KERAS3_HARD_SIGMOID:
            config[key] = "hard_sigmoid"
        elif dialect == "keras3" and value == "hard_sigmoid":
            raise TargetCannotHold(
                f"Layer {config.get('name')!r} ({class_name}) uses Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1), "
                "which Keras 3 does not have (its hard_sigmoid is relu6(x + 3) / 6): a Keras 3 file would compute "
                f"something else. Save it as a Keras 2 .h5 instead (or let rnnkit.saving.convert rewrite it exactly, "
                f"where the weights allow). Received: {key}='hard_sigmoid'")
        elif dialect == "keras2" and value == KERAS3_HARD_SIGMOID:
            raise TargetCannotHold(
                f"Layer {config.get('name')!r} ({class_name}) uses Keras 3's hard_sigmoid, relu6(x + 3) / 6, which "
                "Keras 2 does not have (its hard_sigmoid is clip(0.2 x + 0.5, 0, 1)): a Keras 2 file would compute "
                f"something else. Save it as a Keras 3 .keras instead (or let rnnkit.saving.convert rewrite it "
                f"exactly, where the weights allow). Received: {key}={KERAS3_HARD_SIGMOID!r}")


def to_keras2(spec, input_shape=None, nested=False):
    """An rnnkit layer spec -> the form tf_keras 2.21's `model.save('x.h5')` writes: rnnkit's own
    (Keras 2) config, with initializers and nested layers in their module envelope."""
    class_name = spec["class_name"]
    if class_name in nested_models.NESTED_MODEL_CLASSES:
        return nested_models.keras_entry(spec, "keras2")
    config = copy.deepcopy(spec["config"])
    _activations_for(config, "keras2", class_name)
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _keras2_initializer(value)
    _envelope_penalties(config)
    if class_name == "Bidirectional":
        for key in ("layer", "backward_layer"):
            if config.get(key):
                config[key] = to_keras2(config[key], None, nested=True)
    if class_name == "TimeDistributed":
        inner_shape = None if input_shape is None else [input_shape[0]] + list(input_shape[2:])
        config["layer"] = to_keras2(config["layer"], inner_shape, nested=True)
    for key in ("cell", "cells"):       # RNN's cell(s), StackedRNNCells' cells: nested, in their envelope
        if isinstance(config.get(key), list):
            config[key] = [to_keras2(cell, None, nested=True) for cell in config[key]]
        elif isinstance(config.get(key), dict):
            config[key] = to_keras2(config[key], None, nested=True)
    result = {"class_name": class_name, "config": config}
    if nested:
        result = {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}
        if input_shape is not None:
            result["build_config"] = {"input_shape": list(input_shape)}
    return result


_DROP_FOR_KERAS3 = {"time_major", "implementation", "input_length", "batch_input_shape"}


# Layers Keras 3 saves without a build_config (they have no build step of their own).
_KERAS3_UNBUILT = {"Activation", "AveragePooling1D", "MaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
                   "Dropout", "SpatialDropout1D", "LeakyReLU", "Reshape", "GaussianNoise", "GaussianDropout",
                   "ReLU", "ELU", "Softmax", "UpSampling1D", "ZeroPadding1D", "Cropping1D"}
# Keys Keras 3 added with these defaults (written so that its loader sees its own form).
_KERAS3_ADDED = {"BatchNormalization": {"renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
                                        "synchronized": False},
                 "LayerNormalization": {"rms_scaling": False}}


def _keras3_layer_forms(class_name, config, input_shape):
    """The Keras 3 spellings of Keras 2 layer configs that changed between the two."""
    for key, value in _KERAS3_ADDED.get(class_name, {}).items():
        config.setdefault(key, value)
    if class_name == "LeakyReLU" and "alpha" in config:
        config["negative_slope"] = config.pop("alpha")
    if class_name in ("BatchNormalization", "LayerNormalization") and isinstance(config.get("axis"), list) \
            and len(config["axis"]) == 1 and input_shape is not None and config["axis"][0] == len(input_shape) - 1:
        # tf_keras stores the resolved [rank - 1]; Keras 3 the argument as given (LayerNormalization
        # keeps it a list)
        config["axis"] = [-1] if class_name == "LayerNormalization" else -1
    if class_name == "SpatialDropout1D":
        config.pop("noise_shape", None)
        config.pop("trainable", None)
        config["dtype"] = (config["dtype"].get("config") or {}).get("name", "float32") \
            if isinstance(config.get("dtype"), dict) else config.get("dtype", "float32")


def to_keras3(spec, input_shape=None):
    """An rnnkit layer spec (Keras 2 dialect) -> Keras 3's form, as `model.save('x.keras')` writes."""
    class_name = spec["class_name"]
    if class_name in nested_models.NESTED_MODEL_CLASSES:
        return nested_models.keras_entry(spec, "keras3")
    config = copy.deepcopy(spec["config"])
    _activations_for(config, "keras3", class_name)
    for key in _DROP_FOR_KERAS3 & set(config):
        config.pop(key)
    config["dtype"] = _policy(config.get("dtype") or "float32")
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _keras3_initializer(value)
    _envelope_penalties(config)
    if class_name in ("SimpleRNN", "LSTM", "GRU"):
        config.setdefault("zero_output_for_mask", False)
        if class_name != "SimpleRNN":
            config.setdefault("seed", None)
    if class_name in ("Dense", "Embedding"):
        config["quantization_config"] = None
    if class_name == "Dense" and config.get("activity_regularizer") is None:
        config.pop("activity_regularizer", None)   # Keras 3's Dense writes it only when set
    if class_name == "Bidirectional":
        inner = config["layer"]
        config["layer"] = to_keras3(inner, input_shape)
        config["layer"]["config"]["name"] = "forward_" + inner["config"]["name"]
        backward = config.get("backward_layer") or _flipped(inner, "backward_" + inner["config"]["name"])
        config["backward_layer"] = to_keras3(backward, input_shape)
        zero = bool(config["layer"]["config"].get("return_sequences"))
        for key in ("layer", "backward_layer"):
            config[key]["config"]["zero_output_for_mask"] = zero
    if class_name == "TimeDistributed":
        inner_shape = None if input_shape is None else [input_shape[0]] + list(input_shape[2:])
        config["layer"] = to_keras3(config["layer"], inner_shape)
    if class_name in ("LSTMCell", "GRUCell", "SimpleRNNCell"):
        config.setdefault("seed", None)
    if class_name == "RNN":
        config.setdefault("zero_output_for_mask", False)
    _keras3_layer_forms(class_name, config, input_shape)
    for key in ("cell", "cells"):       # Keras 3 serializes RNN's cell and StackedRNNCells' cells nested
        if isinstance(config.get(key), list):
            config[key] = [to_keras3(cell) for cell in config[key]]
        elif isinstance(config.get(key), dict):
            config[key] = to_keras3(config[key])
    result = {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}
    if input_shape is not None and class_name not in _KERAS3_UNBUILT:
        result["build_config"] = {"input_shape": list(input_shape)}
    return result


def _flipped(spec, name):
    flipped = copy.deepcopy(spec)
    flipped["config"]["go_backwards"] = not flipped["config"].get("go_backwards", False)
    flipped["config"]["name"] = name
    return flipped


def keras3_input_layer(batch_shape, dtype, name="input_layer"):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": list(batch_shape), "dtype": dtype, "sparse": False, "ragged": False,
                       "name": name, "optional": False}, "registered_name": None}


def keras2_input_layer(batch_shape, dtype, name="input_1"):
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": list(batch_shape), "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name, "optional": False}}
