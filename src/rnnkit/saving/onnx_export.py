"""ONNX export of a Sequential RNN model with ONNX's own RNN / LSTM / GRU operators (opset 14).

Needs the optional `onnx` package (`pip install 'rnnkit[onnx]'`); nothing here runs at `import rnnkit`.

Weights, from Keras's layout (x W, gates along columns) to ONNX's (W x, gates along rows,
layout 0: X is (T, N, D), Y is (T, directions, N, H), Y_h is (directions, N, H)):
    SimpleRNN  W = kernel^T (H, D), R = recurrent_kernel^T, B = [bias, 0]
    LSTM       Keras gates i, f, c, o -> ONNX i, o, f, c: W = kernel[:, iofc]^T, R likewise,
               B = [bias[iofc], 0] (ONNX adds Wb + Rb; Keras has one bias);
               activations [recurrent_activation, activation, activation]
    GRU        gates z, r, h in both: W = kernel^T, R = recurrent_kernel^T;
               reset_after=True:  B = [bias[0], bias[1]], linear_before_reset=1
               reset_after=False: B = [bias, 0],          linear_before_reset=0
    Bidirectional: direction="bidirectional", W/R/B stacked [forward, backward]; Y's two directions
               merged as Keras merges them (concat: forward then backward; sum, mul, ave)
    go_backwards (alone): direction="reverse"; ONNX aligns Y with the input's steps and Keras returns
               them in processing order, so a returned sequence is reversed in time
    Dense / TimeDistributed(Dense): MatMul + Add + activation;  Embedding: Gather;  Dropout: identity
Activations map to ONNX's (tanh Tanh, sigmoid Sigmoid, relu Relu, linear Affine(1, 0), elu Elu,
softplus Softplus, hard_sigmoid HardSigmoid(0.2, 0.5), hard_sigmoid_v3 HardSigmoid(1/6, 0.5)).

Masks. ONNX's recurrent operators know only per-row `sequence_lens`: the first n steps are real.
That is Keras's mask exactly when every row's padding is at its end (right padding), so a model with
Embedding(mask_zero=True) or Masking exports only with `mask_padding="right"`, and the graph then
computes n = the number of unmasked steps per row. On steps beyond n, ONNX outputs zeros; Keras's
unidirectional RNN returning sequences repeats its last output there (its Bidirectional outputs
zeros), so such outputs are re-read with a GatherElements at min(t, n - 1).
"""

import os

import numpy as np

from rnnkit.saving.rnnkit_format import write_atomic

OPSET = 14
_INT_MAX = 2**62


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:  # pragma: no cover - an optional extra
        raise ImportError("ONNX export needs the onnx package: pip install 'rnnkit[onnx]' (or onnx)") from None
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes, initializers and unique names of the graph being built."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, base):
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, array, base="const"):
        name = self.name(base)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base=None, outputs=1, **attributes):
        names = [self.name(base or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, **attributes))
        return names[0] if outputs == 1 else names


def _refuse(layer, what):
    raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) cannot be exported to ONNX: {what}")


# Keras activation -> (ONNX RNN activation name, alpha, beta) and the elementwise graph op.
_RNN_ACTIVATIONS = {"tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None), "relu": ("Relu", None, None),
                    "linear": ("Affine", 1.0, 0.0), "elu": ("Elu", 1.0, None), "softplus": ("Softplus", None, None),
                    "hard_sigmoid": ("HardSigmoid", 0.2, 0.5), "hard_sigmoid_v3": ("HardSigmoid", 1.0 / 6.0, 0.5)}


def _activation_op(graph, layer, name, x):
    if name == "linear":
        return x
    if name == "softmax":
        return graph.op("Softmax", [x], axis=-1)
    if name not in _RNN_ACTIVATIONS:
        _refuse(layer, f"activation {name!r} has no ONNX operator here. Received: activation={name!r}")
    op_type, alpha, beta = _RNN_ACTIVATIONS[name]
    attributes = {key: value for key, value in (("alpha", alpha), ("beta", beta)) if value is not None}
    return graph.op(op_type, [x], **attributes)


def _rnn_activations(layer, names):
    """ONNX's `activations`, `activation_alpha`, `activation_beta` lists for a cell's functions."""
    ops, alphas, betas = [], [], []
    for name in names:
        if not isinstance(name, str) or name not in _RNN_ACTIVATIONS:
            _refuse(layer, f"activation {name!r} has no ONNX recurrent counterpart. Received: {name!r}")
        op_type, alpha, beta = _RNN_ACTIVATIONS[name]
        ops.append(op_type)
        # consumed in order by the activations that take them (ONNX's rule), so only theirs
        alphas += [] if alpha is None else [alpha]
        betas += [] if beta is None else [beta]
    return ops, alphas, betas


def _cell_arrays(class_name, config, arrays):
    """(W, R, B, activation names) of one direction, in ONNX's layout."""
    kernel, recurrent = arrays[0].astype(np.float32), arrays[1].astype(np.float32)
    H = recurrent.shape[0]
    bias = arrays[2].astype(np.float32) if len(arrays) > 2 else None
    if class_name == "LSTM":
        order = np.r_[0:H, 3 * H:4 * H, H:2 * H, 2 * H:3 * H]      # i, f, c, o -> i, o, f, c
        kernel, recurrent = kernel[:, order], recurrent[:, order]
        b = np.zeros(8 * H, np.float32)
        if bias is not None:
            b[:4 * H] = bias[order]
        names = [config["recurrent_activation"], config["activation"], config["activation"]]
    elif class_name == "GRU":
        b = np.zeros(6 * H, np.float32)
        if bias is not None:
            b[:] = bias.reshape(-1) if config.get("reset_after", True) else np.concatenate([bias, np.zeros_like(bias)])
        names = [config["recurrent_activation"], config["activation"]]
    else:
        b = np.zeros(2 * H, np.float32)
        if bias is not None:
            b[:H] = bias
        names = [config["activation"]]
    return kernel.T, recurrent.T, b, names


def _check_rnn(layer, config):
    if config.get("stateful"):
        _refuse(layer, "a stateful layer carries state between calls, which an ONNX graph does not. "
                       "Received: stateful=True")
    if config.get("return_state"):
        _refuse(layer, "return_state gives several outputs, which a Sequential model cannot. Received: "
                       "return_state=True")


def _reverse_time(graph, y, axis):
    return graph.op("Slice", [y, graph.const(np.array([-1], np.int64)), graph.const(np.array([-_INT_MAX], np.int64)),
                              graph.const(np.array([axis], np.int64)), graph.const(np.array([-1], np.int64))])


def _repeat_last_output(graph, y, lengths):
    """Keras's unidirectional masked output: on steps t >= n the output of step n - 1; y is (N, T, H)."""
    shape = graph.op("Shape", [y])
    steps = graph.op("Gather", [shape, graph.const(np.array(1, np.int64))], axis=0)
    t = graph.op("Range", [graph.const(np.array(0, np.int64)), steps, graph.const(np.array(1, np.int64))])
    last = graph.op("Sub", [graph.op("Cast", [lengths], to=7), graph.const(np.array(1, np.int64))])   # (N,)
    index = graph.op("Min", [graph.op("Unsqueeze", [t, graph.const(np.array([0], np.int64))]),
                             graph.op("Unsqueeze", [last, graph.const(np.array([1], np.int64))])])     # (N, T)
    index = graph.op("Max", [index, graph.const(np.array(0, np.int64))])
    index = graph.op("Expand", [graph.op("Unsqueeze", [index, graph.const(np.array([2], np.int64))]), shape])
    return graph.op("GatherElements", [y, index], axis=1)


def _zero_beyond(graph, y, lengths, reversed_steps=False):
    """y (N, T, F) with zeros where Keras's mask says a step is padding: t >= n, or t < T - n for an
    output in reversed (processing) order. ONNX leaves outputs beyond sequence_lens to the runtime
    (onnxruntime writes zeros); this makes the graph say it."""
    shape = graph.op("Shape", [y])
    steps = graph.op("Gather", [shape, graph.const(np.array(1, np.int64))], axis=0)
    t = graph.op("Unsqueeze", [graph.op("Range", [graph.const(np.array(0, np.int64)), steps,
                                                   graph.const(np.array(1, np.int64))]),
                               graph.const(np.array([0], np.int64))])                       # (1, T)
    n = graph.op("Unsqueeze", [graph.op("Cast", [lengths], to=7), graph.const(np.array([1], np.int64))])   # (N, 1)
    if reversed_steps:
        keep = graph.op("Not", [graph.op("Less", [t, graph.op("Sub", [steps, n])])])
    else:
        keep = graph.op("Less", [t, n])
    keep = graph.op("Unsqueeze", [graph.op("Cast", [keep], to=1), graph.const(np.array([2], np.int64))])
    return graph.op("Mul", [y, keep])


def _recurrent(graph, layer, x, lengths, helper):
    """A SimpleRNN / LSTM / GRU / Bidirectional on batch-major x (N, T, D); returns batch-major output."""
    class_name = type(layer).__name__
    config = layer.get_config()
    arrays = layer.get_weights()
    if class_name == "Bidirectional":
        inner = config["layer"]
        cell = inner["class_name"]
        if config.get("merge_mode") not in ("concat", "sum", "mul", "ave"):
            _refuse(layer, f"merge_mode={config.get('merge_mode')!r} gives two outputs. Received: "
                           f"merge_mode={config.get('merge_mode')!r}")
        backward = config.get("backward_layer") or inner
        if backward["class_name"] != cell or backward["config"].get("units") != inner["config"].get("units") or \
                inner["config"].get("go_backwards"):
            _refuse(layer, "ONNX's bidirectional operators need two like cells, the first running forward. "
                           "Received: a custom backward_layer or go_backwards inside")
        _check_rnn(layer, inner["config"])
        half = len(arrays) // 2
        parts = [_cell_arrays(cell, inner["config"], arrays[:half]),
                 _cell_arrays(cell, backward["config"], arrays[half:])]
        direction, run_config, return_sequences = "bidirectional", inner["config"], config["layer"]["config"].get(
            "return_sequences", False)
    else:
        cell = class_name
        _check_rnn(layer, config)
        parts = [_cell_arrays(cell, config, arrays)]
        direction = "reverse" if config.get("go_backwards") else "forward"
        run_config, return_sequences = config, config.get("return_sequences", False)
    H = int(run_config["units"])
    W = graph.const(np.stack([p[0] for p in parts]), f"{layer.name}_W")
    R = graph.const(np.stack([p[1] for p in parts]), f"{layer.name}_R")
    B = graph.const(np.stack([p[2] for p in parts]), f"{layer.name}_B")
    ops, alphas, betas = [], [], []
    for part in parts:
        o, a, b = _rnn_activations(layer, part[3])
        ops, alphas, betas = ops + o, alphas + a, betas + b
    attributes = dict(hidden_size=H, direction=direction, activations=ops)
    if alphas:
        attributes["activation_alpha"] = alphas
    if betas:
        attributes["activation_beta"] = betas
    if cell == "GRU":
        attributes["linear_before_reset"] = int(bool(run_config.get("reset_after", True)))
    op_type = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[cell]
    xt = graph.op("Transpose", [x], perm=[1, 0, 2])                                   # (T, N, D)
    inputs = [xt, W, R, B] + ([lengths] if lengths is not None else [])
    outputs = 3 if cell == "LSTM" else 2
    y, y_h = graph.op(op_type, inputs, base=f"{layer.name}_{op_type.lower()}", outputs=outputs,
                      **attributes)[:2]
    merge = config.get("merge_mode") if class_name == "Bidirectional" else None
    if return_sequences:
        if merge is None:
            out = graph.op("Transpose", [graph.op("Squeeze", [y, graph.const(np.array([1], np.int64))])],
                           perm=[1, 0, 2])                                                 # (N, T, H)
            if direction == "reverse":
                out = _reverse_time(graph, out, 1)
                if lengths is not None:
                    out = _zero_beyond(graph, out, lengths, reversed_steps=True)
            elif lengths is not None:
                out = _repeat_last_output(graph, out, lengths)
            return out
        if merge == "concat":
            out = graph.op("Transpose", [y], perm=[2, 0, 1, 3])                            # (N, T, 2, H)
            out = graph.op("Reshape", [out, graph.const(np.array([0, 0, -1], np.int64))])
        else:
            out = _merged(graph, graph.op("Transpose", [y], perm=[2, 0, 1, 3]), merge, axis=2)   # (N, T, 2, H)
        return out if lengths is None else _zero_beyond(graph, out, lengths)
    if merge is None:
        return graph.op("Squeeze", [y_h, graph.const(np.array([0], np.int64))])          # (N, H)
    if merge == "concat":
        out = graph.op("Transpose", [y_h], perm=[1, 0, 2])                                # (N, 2, H)
        return graph.op("Reshape", [out, graph.const(np.array([0, -1], np.int64))])
    return _merged(graph, graph.op("Transpose", [y_h], perm=[1, 0, 2]), merge, axis=1)


def _merged(graph, y, merge, axis):
    forward, backward = graph.op("Split", [y], outputs=2, axis=axis)
    axes = graph.const(np.array([axis], np.int64))
    forward, backward = graph.op("Squeeze", [forward, axes]), graph.op("Squeeze", [backward, axes])
    if merge == "sum":
        return graph.op("Add", [forward, backward])
    if merge == "mul":
        return graph.op("Mul", [forward, backward])
    return graph.op("Mul", [graph.op("Add", [forward, backward]), graph.const(np.array(0.5, np.float32))])


def _dense(graph, layer, config, arrays, x):
    if config.get("use_bias", True) is False:
        kernel, bias = arrays[0], None
    else:
        kernel, bias = arrays[0], arrays[1]
    y = graph.op("MatMul", [x, graph.const(kernel.astype(np.float32), f"{layer.name}_kernel")])
    if bias is not None:
        y = graph.op("Add", [y, graph.const(bias.astype(np.float32), f"{layer.name}_bias")])
    return _activation_op(graph, layer, config.get("activation", "linear"), y)


def _lengths_from(graph, keep):
    """int32 (N,) sequence lengths from a boolean (N, T) mask: the count of its real steps."""
    return graph.op("ReduceSum", [graph.op("Cast", [keep], to=6), graph.const(np.array([1], np.int64))],
                    keepdims=0)


def export_onnx(model, path, mask_padding=None):
    """Writes `model` (a built Sequential) as an ONNX model with a dynamic batch axis.

    Args:
        model: a built rnnkit Sequential of SimpleRNN / LSTM / GRU / Bidirectional / Dense /
            TimeDistributed(Dense) / Embedding / Masking / Dropout layers.
        path: where to write the `.onnx` file (atomically).
        mask_padding: "right" to export a masked model (Embedding(mask_zero=True) or Masking):
            the graph then treats each row's first n unmasked-count steps as real, which is Keras's
            mask exactly when all padding is at the end of the rows.

    Returns:
        A dict: `path`, `opset`, `inputs` / `outputs` ({name: (shape, dtype)}), `operators` (the op
        types used), `notes`.

    Raises:
        ImportError: without the onnx package.
        ValueError: for an unbuilt model, a layer or option ONNX cannot express (the reason says
            which and why), or a masked model without mask_padding="right". Nothing is written then.
    """
    onnx, helper, numpy_helper = _onnx()
    path = os.fspath(path)
    layers = list(getattr(model, "layers", []))
    input_shape = getattr(model, "input_shape", None)
    if not layers or not getattr(model, "built", False) or input_shape is None:
        raise ValueError(f"Argument `model` must be a built Sequential with layers. Received: {model!r}")
    if mask_padding not in (None, "right"):
        raise ValueError(f"Argument `mask_padding` must be None or 'right'. Received: mask_padding={mask_padding!r}")
    graph = _Graph(helper, numpy_helper)
    first = type(layers[0]).__name__
    tokens = first == "Embedding"
    x = "input"
    notes = []
    lengths = None
    for index, layer in enumerate(layers):
        class_name = type(layer).__name__
        config = layer.get_config()
        arrays = layer.get_weights()
        if class_name == "Embedding":
            if index:
                _refuse(layer, "an Embedding takes the model's token ids, so it must come first. Received: "
                               f"it at position {index}")
            if config.get("mask_zero"):
                lengths = _lengths_from(graph, graph.op("Not", [graph.op("Equal", [x, graph.const(
                    np.array(0, np.int32))])]))
            x = graph.op("Gather", [graph.const(arrays[0].astype(np.float32), f"{layer.name}_embeddings"), x],
                         axis=0)
        elif class_name == "Masking":
            value = graph.const(np.array(config.get("mask_value", 0.0), np.float32))
            keep = graph.op("Cast", [graph.op("Not", [graph.op("Equal", [x, value])])], to=1)
            keep = graph.op("ReduceMax", [keep], axes=[-1], keepdims=1)                      # (N, T, 1)
            x = graph.op("Mul", [x, keep])
            lengths = _lengths_from(graph, graph.op("Cast", [graph.op("Squeeze", [keep, graph.const(
                np.array([2], np.int64))])], to=9))
        elif class_name == "Dropout":
            continue
        elif class_name == "Dense":
            x = _dense(graph, layer, config, arrays, x)
        elif class_name == "TimeDistributed":
            inner = config["layer"]
            if inner["class_name"] != "Dense":
                _refuse(layer, f"only TimeDistributed(Dense) is exported. Received: {inner['class_name']}")
            x = _dense(graph, layer, inner["config"], arrays, x)
        elif class_name in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
            x = _recurrent(graph, layer, x, lengths, helper)
            inner = config["layer"]["config"] if class_name == "Bidirectional" else config
            if not inner.get("return_sequences"):
                lengths = None
        else:
            _refuse(layer, "rnnkit exports SimpleRNN, LSTM, GRU, Bidirectional, Dense, TimeDistributed(Dense), "
                           f"Embedding, Masking and Dropout. Received: {class_name}")
    if lengths is not None or any(type(layer).__name__ == "Masking" or (
            type(layer).__name__ == "Embedding" and layer.get_config().get("mask_zero")) for layer in layers):
        if mask_padding != "right":
            raise ValueError("The model is masked (Embedding(mask_zero=True) or Masking). ONNX's recurrent operators "
                             "take per-row sequence lengths, which express Keras's mask only when every row's padding "
                             "is at its end; pass mask_padding='right' to export a graph that assumes that. "
                             "Received: mask_padding=None")
        notes.append("masked steps are taken as right padding: rows must be padded at the end")
    if any(getattr(layer, "dtype", "float32") == "float64" for layer in layers):
        notes.append("float64 weights exported as float32 (ONNX's recurrent operators in onnxruntime are float32)")
    output = x
    batch_input = ["batch"] + ["steps" if d is None else int(d) for d in input_shape[1:]]
    input_type = onnx.TensorProto.INT32 if tokens else onnx.TensorProto.FLOAT
    output_rank = len(layers[-1].output_shape)
    output_shape = ["batch"] + [None if d is None else int(d) for d in layers[-1].output_shape[1:output_rank]]
    output_shape = [d if d is not None else "steps" for d in output_shape]
    graph.nodes.append(helper.make_node("Identity", [output], ["output"]))
    onnx_graph = helper.make_graph(graph.nodes, getattr(model, "name", "model") or "model",
                                   [helper.make_tensor_value_info("input", input_type, batch_input)],
                                   [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, output_shape)],
                                   initializer=graph.initializers)
    from rnnkit import __version__
    onnx_model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="rnnkit", producer_version=__version__,
                                   doc_string="; ".join(notes) or "exported by rnnkit")
    onnx_model.ir_version = min(onnx_model.ir_version, 8)
    onnx.checker.check_model(onnx_model)
    data = onnx_model.SerializeToString()
    write_atomic(path, lambda f: f.write(data))
    return {"path": path, "opset": OPSET, "inputs": {"input": (batch_input, "int32" if tokens else "float32")},
            "outputs": {"output": (output_shape, "float32")},
            "operators": sorted({node.op_type for node in graph.nodes}), "notes": notes}


def format_report(report):
    """`export_onnx`'s report as the text `rnnkit export` prints."""
    (input_shape, input_dtype), = report["inputs"].values()
    (output_shape, _), = report["outputs"].values()
    lines = [f"wrote {report['path']}: ONNX opset {report['opset']}, input {input_dtype} {input_shape}, "
             f"output float32 {output_shape}", f"operators: {', '.join(report['operators'])}"]
    return "\n".join(lines + [f"note: {note}" for note in report["notes"]])
