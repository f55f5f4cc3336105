"""`convert` for every model rnnkit reads: Sequential stacks through saving's converter, and
functional models through the Model, which only this floor knows.

A functional model is read, its hard_sigmoid layers rewritten for the target Keras where the
weights allow (the same rewrite the layer-stack converter makes), and written by the Model's own
functional writers (Keras 3's `.keras` or tf_keras's `.h5` layout).
"""

import numpy as np

from rnnkit.saving import converter, keras_files


def convert(in_path, out_path, check=False, force=False):
    """Converts a model file into another format (`.keras`, `.h5`, `.weights.h5`, `.npz`).

    Same arguments, report and errors as `rnnkit.saving.convert`, for Sequential and functional
    models alike.
    """
    try:
        return converter.convert(in_path, out_path, check=check, force=force)
    except converter.FunctionalModel:
        return _convert_functional(str(in_path), str(out_path), converter._target_kind(str(out_path)), check)


def _sample_inputs(model, rng):
    """One small batch per input: token ids (whole numbers 1..3, in the input's own dtype, which
    may be float) for an integer input or one an Embedding reads, normal values else."""
    read_by_embedding = {id(node.inputs) for node in model._nodes if type(node.layer).__name__ == "Embedding"}
    samples = []
    for tensor in model.inputs:
        shape = tuple(2 if d is None else d for d in tensor.shape)
        if tensor.dtype.startswith(("int", "uint")) or id(tensor) in read_by_embedding:
            samples.append(rng.integers(1, 4, size=shape).astype(tensor.dtype))
        else:
            samples.append(rng.normal(size=shape).astype(tensor.dtype))
    return samples if len(samples) > 1 else samples[0]


def _as_list(outputs):
    return list(outputs.values()) if isinstance(outputs, dict) else outputs if isinstance(outputs, list) else [outputs]


def _write_rewritten(model, out_path, kind, notes):
    """Writes `model` for the target, hard_sigmoid rewritten for its Keras; refuses before writing
    what the target cannot express."""
    layers, inputs, outputs = model._file_layers()
    arrays = [layer.get_weights() for layer in model.layers]
    dialect = "keras3" if kind == ".keras" else "keras2"
    for entry, index in zip(layers, range(len(arrays))):
        if entry["spec"]["class_name"] != "InputLayer":
            entry["spec"], arrays[index] = converter.rescale_hard_sigmoid(entry["spec"], arrays[index], dialect, notes)
    keras_files.write_functional_model(out_path, model.name, layers, inputs, outputs, model._output_kind == "single",
                                       arrays, model.mask_rules)


def _convert_functional(in_path, out_path, kind, check):
    from rnnkit.models import load_model, model_from_json
    model = load_model(in_path)
    notes = []
    x = _sample_inputs(model, np.random.default_rng(0)) if check else None
    before = _as_list(model.predict(x, verbose=0)) if check else None
    if kind == ".weights.h5":
        model.save_weights(out_path)
        notes.append("a .weights.h5 file holds the weights only: rebuild the architecture, then load_weights()")
    elif kind in (".keras", ".h5"):
        _write_rewritten(model, out_path, kind, notes)
    else:
        model.save(out_path)
    report = {"input": in_path, "input_format": "functional model", "output": out_path,
              "output_format": converter._TARGETS[kind], "model": model.name,
              "layers": [type(layer).__name__ for layer in model.layers], "parameters": model.count_params(),
              "notes": notes}
    if check:
        if kind == ".weights.h5":
            again = model_from_json(model.to_json())
            again.load_weights(out_path)
        else:
            again = load_model(out_path)
        after = _as_list(again.predict(x, verbose=0))
        report["max_abs_diff"] = float(max(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
                                           for a, b in zip(after, before)))
        report["checked_batch_shape"] = [list(np.shape(v)) for v in (x if isinstance(x, list) else [x])]
    return report
