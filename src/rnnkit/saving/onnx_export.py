"""ONNX export of a Sequential or functional RNN model with ONNX's own RNN / LSTM / GRU operators
(opset 14).

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
    initial_state [h(, c)] (forward's, then backward's): initial_h / initial_c stacked by direction;
               return_state: Y_h / Y_c per direction, in Keras's order (h, c; forward's, then backward's)
    Dense / TimeDistributed(Dense): MatMul + Add + activation;  Embedding: Gather;  Dropout: identity
    Merges: Add Sum, Subtract Sub, Multiply Mul, Average Sum / n, Maximum Max, Minimum Min,
               Concatenate Concat; Dot: MatMul with the contracted axes moved last / first
               (normalize: x / sqrt(max(sum x^2, 1e-12)) first, as Keras's l2_normalize)
A functional model is exported node by node in topological order: each call of a shared layer
is its own ONNX node over the same initializers (one per weight, however many calls).
A model used as a layer (a functional Model or a Sequential nested in the outer model) is inlined:
its calls are emitted in place, its inputs standing for the outer tensors it is called on, their
masks passing in as rnnkit passes them (each input's own; an explicit mask tensor to every input)
and the inner graph's output masks passing out. A nested model called twice is two inlined copies
over one set of initializers. Inner layers follow the inner model's mask rules (Keras 3's or 2's).
Activations map to ONNX's (tanh Tanh, sigmoid Sigmoid, relu Relu, linear Affine(1, 0), elu Elu,
softplus Softplus, hard_sigmoid HardSigmoid(0.2, 0.5), hard_sigmoid_v3 HardSigmoid(1/6, 0.5)).

Masks. ONNX's recurrent operators know only per-row `sequence_lens`: the first n steps are real.
That is Keras's mask exactly when every row's padding is at its end (right padding), so a model with
Embedding(mask_zero=True), Masking or a mask tensor exports only with `mask_padding="right"`, and the
graph then computes n = the number of unmasked steps per row. On steps beyond n, ONNX outputs zeros;
Keras's unidirectional RNN returning sequences repeats its last output there (its Bidirectional, and
zero_output_for_mask=True, output zeros), so such outputs are re-read with a GatherElements at
min(t, n - 1). Masks travel with the tensors as rnnkit's graph passes them: a merge's is the AND of
its inputs' (the least n), Dot and RepeatVector pass none, an RNN's states have none.
"""

import os

import numpy as np

from rnnkit.models.nesting import leaf_layers
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

    def __init__(self, helper, numpy_helper, reserved=()):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self._count = [], [], 0
        self._reserved = set(reserved)    # the graph's input and output names (layer names)
        self._weights = {}                 # (id(layer), weight) -> initializer name

    def weight(self, layer, key, make):
        """The initializer of `layer`'s weight `key` (`make()` gives the array the first time):
        one per layer however many times it is called (shared layers, a nested model called twice)."""
        cache_key = (id(layer), key)
        if cache_key not in self._weights:
            self._weights[cache_key] = self.const(make(), f"{layer.name}_{key}")
        return self._weights[cache_key]

    def name(self, base):
        self._count += 1
        while f"{base}_{self._count}" in self._reserved:
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


# Activations with no recurrent counterpart that are one ONNX operator (SELU's constants as ops/activations').
_ELEMENTWISE = {"selu": ("Selu", {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805}),
                "softsign": ("Softsign", {}), "exponential": ("Exp", {})}


def _activation_op(graph, layer, name, x):
    if name == "linear":
        return x
    if name == "softmax":
        return graph.op("Softmax", [x], axis=-1)
    if name in ("swish", "silu"):
        return graph.op("Mul", [x, graph.op("Sigmoid", [x])])
    if name == "gelu":      # Keras's default, the exact form: x (1 + erf(x / sqrt 2)) / 2
        erf = graph.op("Erf", [graph.op("Mul", [x, graph.const(np.array(1 / np.sqrt(2), np.float32))])])
        return graph.op("Mul", [graph.op("Mul", [x, graph.const(np.array(0.5, np.float32))]),
                                graph.op("Add", [erf, graph.const(np.array(1, np.float32))])])
    if name in _ELEMENTWISE:
        op_type, attributes = _ELEMENTWISE[name]
        return graph.op(op_type, [x], **attributes)
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


def _initial_states(graph, states, count, directions):
    """ONNX's initial_h (and initial_c) from Keras's flat state list: (directions, N, H) each,
    Keras giving a Bidirectional's forward states, then its backward states."""
    axis0 = graph.const(np.array([0], np.int64))
    stacked = []
    for k in range(count):
        per_direction = [graph.op("Unsqueeze", [states[d * count + k], axis0]) for d in range(directions)]
        stacked.append(per_direction[0] if directions == 1 else graph.op("Concat", per_direction, axis=0))
    return stacked


def _recurrent(graph, layer, x, lengths, states=()):
    """A SimpleRNN / LSTM / GRU / Bidirectional on batch-major x (N, T, D), started from `states`
    (ONNX names, Keras's order) if given; returns the layer's outputs in Keras's order: the output
    (two for a Bidirectional with merge_mode=None), then the last states if it returns them."""
    class_name = type(layer).__name__
    config = layer.get_config()
    arrays = layer.get_weights()
    if class_name == "Bidirectional":
        inner = config["layer"]
        cell = inner["class_name"]
        backward = config.get("backward_layer") or inner
        if backward["class_name"] != cell or backward["config"].get("units") != inner["config"].get("units") or \
                inner["config"].get("go_backwards"):
            _refuse(layer, "ONNX's bidirectional operators need two like cells, the first running forward. "
                           "Received: a custom backward_layer or go_backwards inside")
        _check_rnn(layer, inner["config"])
        half = len(arrays) // 2
        parts = [_cell_arrays(cell, inner["config"], arrays[:half]),
                 _cell_arrays(cell, backward["config"], arrays[half:])]
        direction, run_config = "bidirectional", inner["config"]
        zero_masked = True      # Keras's Bidirectional outputs zeros on masked steps
    else:
        cell = class_name
        _check_rnn(layer, config)
        parts = [_cell_arrays(cell, config, arrays)]
        direction = "reverse" if config.get("go_backwards") else "forward"
        run_config = config
        zero_masked = bool(getattr(layer, "zero_output_for_mask", False))
    return_sequences, return_state = run_config.get("return_sequences", False), run_config.get("return_state", False)
    H = int(run_config["units"])
    W, R, B = (graph.weight(layer, key, lambda k=k: np.stack([p[k] for p in parts])) for k, key in enumerate("WRB"))
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
    count = 2 if cell == "LSTM" else 1
    xt = graph.op("Transpose", [x], perm=[1, 0, 2])                                   # (T, N, D)
    inputs = [xt, W, R, B]
    if lengths is not None or states:
        inputs.append(lengths if lengths is not None else "")
    if states:
        inputs += _initial_states(graph, list(states), count, len(parts))
    outputs = 3 if cell == "LSTM" else 2
    y, *last = graph.op(op_type, inputs, base=f"{layer.name}_{op_type.lower()}", outputs=outputs, **attributes)
    merge = config.get("merge_mode") if class_name == "Bidirectional" else None
    if class_name != "Bidirectional":
        main = [_one_direction_output(graph, y, last[0], return_sequences, direction, lengths, zero_masked)]
        state_outputs = [graph.op("Squeeze", [s, graph.const(np.array([0], np.int64))]) for s in last]
    else:
        main = [_bidirectional_output(graph, y, last[0], return_sequences, merge, lengths)]
        if merge is None:
            main = main[0]
        state_outputs = [graph.op("Gather", [s, graph.const(np.array(d, np.int64))], axis=0)
                         for d in range(2) for s in last]
    return main + (state_outputs if return_state else [])


def _one_direction_output(graph, y, y_h, return_sequences, direction, lengths, zero_masked):
    if not return_sequences:
        return graph.op("Squeeze", [y_h, graph.const(np.array([0], np.int64))])          # (N, H)
    out = graph.op("Transpose", [graph.op("Squeeze", [y, graph.const(np.array([1], np.int64))])],
                   perm=[1, 0, 2])                                                         # (N, T, H)
    if direction == "reverse":
        out = _reverse_time(graph, out, 1)
        return out if lengths is None else _zero_beyond(graph, out, lengths, reversed_steps=True)
    if lengths is None:
        return out
    return _zero_beyond(graph, out, lengths) if zero_masked else _repeat_last_output(graph, out, lengths)


def _bidirectional_output(graph, y, y_h, return_sequences, merge, lengths):
    """The merged output, or [forward, backward] for merge_mode=None (the backward one aligned
    with the input's steps, as Keras returns it)."""
    if not return_sequences:
        both = graph.op("Transpose", [y_h], perm=[1, 0, 2])                                 # (N, 2, H)
        if merge == "concat":
            return graph.op("Reshape", [both, graph.const(np.array([0, -1], np.int64))])
        if merge is None:
            return [graph.op("Gather", [y_h, graph.const(np.array(d, np.int64))], axis=0) for d in range(2)]
        return _merged(graph, both, merge, axis=1)
    both = graph.op("Transpose", [y], perm=[2, 0, 1, 3])                                   # (N, T, 2, H)
    if merge == "concat":
        out = graph.op("Reshape", [both, graph.const(np.array([0, 0, -1], np.int64))])
    elif merge is None:
        out = [graph.op("Gather", [both, graph.const(np.array(d, np.int64))], axis=2) for d in range(2)]
        return out if lengths is None else [_zero_beyond(graph, o, lengths) for o in out]
    else:
        out = _merged(graph, both, merge, axis=2)
    return out if lengths is None else _zero_beyond(graph, out, lengths)


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
    y = graph.op("MatMul", [x, graph.weight(layer, "kernel", lambda: kernel.astype(np.float32))])
    if bias is not None:
        y = graph.op("Add", [y, graph.weight(layer, "bias", lambda: bias.astype(np.float32))])
    return _activation_op(graph, layer, config.get("activation", "linear"), y)


def _lengths_from(graph, keep):
    """int32 (N,) sequence lengths from a boolean (N, T) mask: the count of its real steps."""
    return graph.op("ReduceSum", [graph.op("Cast", [keep], to=6), graph.const(np.array([1], np.int64))],
                    keepdims=0)


class _Value:
    """An ONNX tensor standing for a Keras tensor: its name, its element kind ('float', 'int',
    'bool') and its mask as right-padded sequence lengths (an int32 (N,) tensor name, or None)."""

    def __init__(self, name, kind="float", lengths=None):
        self.name, self.kind, self.lengths = name, kind, lengths


class _Call:
    """One layer call to export: keys of its main input(s) (a key or a list), of its initial
    states, of an explicit mask tensor, and of its outputs; the constants it was called with."""

    def __init__(self, layer, inputs, outputs, states=(), mask=None, constants=None):
        self.layer, self.inputs, self.outputs = layer, inputs, list(outputs)
        self.states, self.mask, self.constants = list(states), mask, dict(constants or {})


def _least(graph, lengths):
    """The AND of right-padded masks: the least length per row (None: no mask)."""
    present = [n for n in lengths if n is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else graph.op("Min", present)


def _l2_normalized(graph, x, axis):
    squares = graph.op("ReduceSum", [graph.op("Mul", [x, x]), graph.const(np.array([axis], np.int64))], keepdims=1)
    norm = graph.op("Sqrt", [graph.op("Max", [squares, graph.const(np.array(1e-12, np.float32))])])
    return graph.op("Div", [x, norm])


def _dot(graph, layer, xs, shapes):
    """Keras's batch_dot of two rank-2 or rank-3 tensors: the batch, x's free axis, z's free axis."""
    ranks = [len(shape) for shape in shapes]
    if any(rank not in (2, 3) for rank in ranks):
        _refuse(layer, f"Dot is exported for inputs of rank 2 or 3. Received: input shapes {shapes}")
    pair = layer.get_config()["axes"]
    pair = list(pair) if isinstance(pair, (list, tuple)) else [pair, pair]
    ax, az = (axis % rank for axis, rank in zip(pair, ranks))
    x, z = xs
    if layer.get_config().get("normalize"):
        x, z = _l2_normalized(graph, x, ax), _l2_normalized(graph, z, az)
    if ranks[0] == 2:
        x = graph.op("Unsqueeze", [x, graph.const(np.array([1], np.int64))])                   # (N, 1, D)
    elif ax != 2:
        x = graph.op("Transpose", [x], perm=[0, 2, 1])                                          # (N, A, D)
    if ranks[1] == 2:
        z = graph.op("Unsqueeze", [z, graph.const(np.array([2], np.int64))])                   # (N, D, 1)
    elif az != 1:
        z = graph.op("Transpose", [z], perm=[0, 2, 1])                                          # (N, D, B)
    y = graph.op("MatMul", [x, z])                                                              # (N, A|1, B|1)
    if ranks == [2, 2]:
        return graph.op("Reshape", [y, graph.const(np.array([0, 1], np.int64))])
    if ranks[0] == 2:
        return graph.op("Squeeze", [y, graph.const(np.array([1], np.int64))])
    if ranks[1] == 2:
        return graph.op("Squeeze", [y, graph.const(np.array([2], np.int64))])
    return y


_MERGE_OPS = {"Add": "Sum", "Average": "Sum", "Maximum": "Max", "Minimum": "Min"}
_PASS_THROUGH = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")   # identities in inference
_EXPORTED = ("SimpleRNN, LSTM, GRU, Bidirectional, Dense, TimeDistributed(Dense), Embedding, Masking, Dropout, "
             "Activation, LeakyReLU, Softmax, RepeatVector, the merge layers (Add, Subtract, Multiply, Average, "
             "Maximum, Minimum, Concatenate, Dot) and NotEqual")


def _merge_layer(graph, layer, class_name, xs, lengths, shapes, keras3_rules):
    """A merge layer's output and its mask (rnnkit's rule: the AND of its inputs' masks)."""
    names = [x.name for x in xs]
    if keras3_rules and class_name in ("Multiply", "Maximum", "Minimum") and any(n is not None for n in lengths):
        _refuse(layer, "Keras 3 merges masked inputs of this layer by its own rule, which is not exported. "
                       "Received: a masked input in a model read from a Keras 3 file")
    if class_name == "Dot":
        return _dot(graph, layer, names, shapes), None
    if class_name == "Concatenate":
        axis = layer.get_config()["axis"]
        rank = len(shapes[0])
        if axis % rank != rank - 1 and any(n is not None for n in lengths):
            _refuse(layer, f"masked tensors are joined only along the last axis. Received: axis={axis}")
        return graph.op("Concat", names, axis=axis), _least(graph, lengths)
    if class_name == "Subtract":
        out = graph.op("Sub", names)
    elif class_name == "Multiply":
        out = names[0]
        for name in names[1:]:
            out = graph.op("Mul", [out, name])
    else:
        out = graph.op(_MERGE_OPS[class_name], names)
        if class_name == "Average":
            out = graph.op("Div", [out, graph.const(np.array(len(names), np.float32))])
    return out, _least(graph, lengths)


def _export_call(graph, call, values, shapes, keras3_rules):
    """Emits one layer call; returns its outputs' _Values and whether it made a mask."""
    layer = call.layer
    class_name = type(layer).__name__
    config = layer.get_config()
    several = isinstance(call.inputs, (list, tuple))
    xs = [values[key] for key in (call.inputs if several else [call.inputs])]
    lengths = None if several else xs[0].lengths
    if call.mask is not None:
        mask = values[call.mask]
        lengths = _lengths_from(graph, mask.name if mask.kind == "bool" else graph.op("Cast", [mask.name], to=9))
    elif keras3_rules and call.states:
        lengths = None   # Keras 3 does not pass an RNN called with initial_state the mask of its input
    if _is_nested(layer):
        if call.states:
            _refuse(layer, f"only recurrent layers take initial states. Received: {class_name} with initial_state")
        # rnnkit hands a nested model each input's own mask, or the explicit mask to every input
        input_lengths = [lengths] * len(xs) if call.mask is not None else [x.lengths for x in xs]
        outs, inner_mask = _inline_model(graph, layer, xs, input_lengths)
        return outs, inner_mask or call.mask is not None
    if several and class_name not in _MERGE_OPS and class_name not in ("Subtract", "Multiply", "Concatenate", "Dot"):
        _refuse(layer, f"only merge layers take several inputs here. Received: {class_name}")
    x = xs[0].name
    made_mask = call.mask is not None
    if class_name == "Embedding":
        ids = x if xs[0].kind == "int" else graph.op("Cast", [x], to=6)
        if config.get("mask_zero"):
            lengths = _lengths_from(graph, graph.op("Not", [graph.op("Equal", [ids, graph.const(
                np.array(0, np.int32))])]))
            made_mask = True
        else:
            lengths = None
        table = graph.weight(layer, "embeddings", lambda: layer.get_weights()[0].astype(np.float32))
        out = graph.op("Gather", [table, ids], axis=0)
        return [_Value(out, "float", lengths)], made_mask
    if class_name in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
        inner = config["layer"]["config"] if class_name == "Bidirectional" else config
        outs = _recurrent(graph, layer, x, lengths, [values[key].name for key in call.states])
        main = 2 if class_name == "Bidirectional" and config.get("merge_mode") is None else 1
        sequence_lengths = lengths if inner.get("return_sequences") else None
        return [_Value(out, "float", sequence_lengths if k < main else None) for k, out in enumerate(outs)], made_mask
    if call.states:
        _refuse(layer, f"only recurrent layers take initial states. Received: {class_name} with initial_state")
    if class_name in _MERGE_OPS or class_name in ("Subtract", "Multiply", "Concatenate", "Dot"):
        out, lengths = _merge_layer(graph, layer, class_name, xs, [v.lengths for v in xs], shapes, keras3_rules)
    elif class_name == "Masking":
        value = graph.const(np.array(config.get("mask_value", 0.0), np.float32))
        keep = graph.op("Cast", [graph.op("Not", [graph.op("Equal", [x, value])])], to=1)
        keep = graph.op("ReduceMax", [keep], axes=[-1], keepdims=1)                          # (N, T, 1)
        out = graph.op("Mul", [x, keep])
        lengths = _lengths_from(graph, graph.op("Cast", [graph.op("Squeeze", [keep, graph.const(
            np.array([2], np.int64))])], to=9))
        made_mask = True
    elif class_name in _PASS_THROUGH:
        out = x
    elif class_name == "Dense":
        out = _dense(graph, layer, config, layer.get_weights(), x)
    elif class_name == "TimeDistributed":
        inner = config["layer"]
        if inner["class_name"] != "Dense":
            _refuse(layer, f"only TimeDistributed(Dense) is exported. Received: {inner['class_name']}")
        out = _dense(graph, layer, inner["config"], layer.get_weights(), x)
    elif class_name == "Activation":
        out = _activation_op(graph, layer, config["activation"], x)
    elif class_name == "LeakyReLU":
        out = graph.op("LeakyRelu", [x], alpha=float(layer.alpha))
    elif class_name == "Softmax" and config.get("axis", -1) in (-1, [-1]):
        out = graph.op("Softmax", [x], axis=-1)
    elif class_name == "RepeatVector":
        out = graph.op("Tile", [graph.op("Unsqueeze", [x, graph.const(np.array([1], np.int64))]),
                                graph.const(np.array([1, config["n"], 1], np.int64))])
        lengths = None
    elif class_name == "NotEqual":
        other = np.array(call.constants.get("other", 0), np.int32 if xs[0].kind == "int" else np.float32)
        if other.ndim:
            _refuse(layer, f"only a scalar `other` is exported. Received: other of shape {other.shape}")
        return [_Value(graph.op("Not", [graph.op("Equal", [x, graph.const(other)])]), "bool")], made_mask
    else:
        _refuse(layer, f"rnnkit exports {_EXPORTED}. Received: {class_name}")
    return [_Value(out, "float", lengths)], made_mask


def _is_functional(model):
    # The class says it (a Sequential too answers `outputs`, tracing itself when asked).
    return getattr(model, "keras_class_name", None) == "Functional"


def _is_nested(layer):
    """A model used as a layer (models/nesting.py): its call gives the output masks itself."""
    from rnnkit.models.nesting import ModelAsLayer
    return isinstance(layer, ModelAsLayer)


def _export_calls(graph, calls, shapes, values, keras3_rules):
    """Emits `calls` in order, adding their outputs to `values`; returns whether one made a mask."""
    masked = False
    for call in calls:
        made, made_mask = _export_call(graph, call, values, [shapes[k] for k in (
            call.inputs if isinstance(call.inputs, list) else [call.inputs])], keras3_rules)
        masked = masked or made_mask
        values.update(zip(call.outputs, made))
    return masked


def _inline_model(graph, model, xs, input_lengths):
    """A nested model's calls emitted in place on the outer _Values `xs` (masks `input_lengths`):
    (its outputs' _Values with the inner graph's output masks, whether an inner layer made a mask).
    The inner keys live in a table of their own, so a model inlined twice never mixes its calls."""
    if _is_functional(model):
        calls, shapes = _graph_calls(model)
        input_keys, output_keys = [id(t) for t in model.inputs], [id(t) for t in model.outputs]
        keras3_rules = getattr(model, "mask_rules", "keras2") == "keras3"
    else:
        layers = list(model._layers)
        calls, shapes = _sequential_calls(model, layers)
        input_keys, output_keys, keras3_rules = [0], [len(layers)], False
    if len(xs) != len(input_keys):
        _refuse(model, f"the model takes {len(input_keys)} inputs. Received: {len(xs)}")
    values = {key: _Value(x.name, x.kind, n) for key, x, n in zip(input_keys, xs, input_lengths)}
    masked = _export_calls(graph, calls, shapes, values, keras3_rules)
    return [values[key] for key in output_keys], masked


def _reads_tokens(layer):
    """Whether a Sequential's first layer (a nested model's first, inside) reads integer ids."""
    while _is_nested(layer):
        if _is_functional(layer):
            return not str(layer.inputs[0].dtype).startswith("float")
        layer = layer._layers[0]
    return type(layer).__name__ == "Embedding"


def _graph_calls(model):
    """A functional model's calls, each after every call it reads from (a depth-first walk from
    the outputs: the nodes the outputs need, and no others)."""
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for tensor in node.flat_inputs:
            visit(tensor.node)
        order.append(node)

    for tensor in model.outputs:
        visit(tensor.node)
    calls, shapes = [], {}
    for node in order:
        for tensor in node.outputs:
            shapes[id(tensor)] = tensor.shape
        if type(node.layer).__name__ == "InputLayer":
            continue
        main = [id(t) for t in node.inputs] if isinstance(node.inputs, (list, tuple)) else id(node.inputs)
        calls.append(_Call(node.layer, main, [id(t) for t in node.outputs], [id(t) for t in node.state_inputs],
                           None if node.mask_input is None else id(node.mask_input), node.constants))
    return calls, shapes


def _sequential_calls(model, layers):
    """A Sequential's layers as a chain of calls (keys 0 = the input, k = layer k's output)."""
    for layer in layers:
        config = layer.get_config()
        inner = config["layer"]["config"] if type(layer).__name__ == "Bidirectional" else config
        if inner.get("return_state"):
            _refuse(layer, "return_state gives several outputs, which a Sequential model cannot. Received: "
                           "return_state=True")
        if type(layer).__name__ == "Bidirectional" and config.get("merge_mode") not in ("concat", "sum", "mul", "ave"):
            _refuse(layer, f"merge_mode={config.get('merge_mode')!r} gives two outputs. Received: "
                           f"merge_mode={config.get('merge_mode')!r}")
    shapes = {0: tuple(model.input_shape)}
    shapes.update({k + 1: tuple(layer.output_shape) for k, layer in enumerate(layers)})
    return [_Call(layer, k, [k + 1]) for k, layer in enumerate(layers)], shapes


def _dims(shape, unknown):
    """An ONNX shape: a dynamic batch, fixed sizes, `unknown(axis)` for the other unknown sizes."""
    return ["batch"] + [unknown(axis) if d is None else int(d) for axis, d in enumerate(shape[1:], start=1)]


def _unique(names):
    """The names, a repeated one given the first free suffix (`lstm`, `lstm_2` beside a `lstm_1`)."""
    used, result = set(names), []
    for name in names:
        unique, count = name, 0
        while unique in result or (unique != name and unique in used):
            count += 1
            unique = f"{name}_{count}"
        result.append(unique)
    return result


def export_onnx(model, path, mask_padding=None):
    """Writes `model` (a built Sequential or functional Model) as an ONNX model with a dynamic batch axis.

    Args:
        model: a built rnnkit Sequential, or a functional `Model(inputs, outputs)` (several inputs
            and outputs, shared layers, initial_state from other tensors, return_state), of
            SimpleRNN / LSTM / GRU / Bidirectional / Dense / TimeDistributed(Dense) / Embedding /
            Masking / Dropout / Activation / LeakyReLU / Softmax / RepeatVector / merge layers, and
            models of these used as layers (inlined).
        path: where to write the `.onnx` file (atomically).
        mask_padding: "right" to export a masked model (Embedding(mask_zero=True), Masking or a
            mask tensor): the graph then treats each row's first n unmasked-count steps as real,
            which is Keras's mask exactly when all padding is at the end of the rows.

    Returns:
        A dict: `path`, `opset`, `inputs` / `outputs` ({name: (shape, dtype)}, in the model's
        order; a Sequential's are `input` and `output`), `operators` (the op types used), `notes`.

    Raises:
        ImportError: without the onnx package.
        ValueError: for an unbuilt model, a layer or option ONNX cannot express (the reason says
            which and why), or a masked model without mask_padding="right". Nothing is written then.
    """
    onnx, helper, numpy_helper = _onnx()
    path = os.fspath(path)
    functional = _is_functional(model)
    layers = list(getattr(model, "layers", []))
    if not functional and (not layers or not getattr(model, "built", False)
                           or getattr(model, "input_shape", None) is None):
        raise ValueError(f"Argument `model` must be a built Sequential with layers, or a functional Model. "
                         f"Received: {model!r}")
    if mask_padding not in (None, "right"):
        raise ValueError(f"Argument `mask_padding` must be None or 'right'. Received: mask_padding={mask_padding!r}")
    kinds = {"float": (onnx.TensorProto.FLOAT, "float32"), "int": (onnx.TensorProto.INT32, "int32"),
             "bool": (onnx.TensorProto.BOOL, "bool")}
    if functional:
        calls, shapes = _graph_calls(model)
        readers = {}
        for call in calls:
            for key in (call.inputs if isinstance(call.inputs, list) else [call.inputs]):
                readers.setdefault(key, set()).add(type(call.layer).__name__)
        inputs = []
        for tensor, name in zip(model.inputs, _unique([t.layer.name for t in model.inputs])):
            tokens = not str(tensor.dtype).startswith("float") or readers.get(id(tensor)) == {"Embedding"}
            inputs.append((id(tensor), name, _dims(tensor.shape, lambda axis, n=name: f"{n}_{axis}"),
                           "int" if tokens else "float"))
        outputs = [(id(t), name, t.shape) for t, name in zip(model.outputs, _unique([t.layer.name for t in
                                                                                       model.outputs]))]
        keras3_rules = getattr(model, "mask_rules", "keras2") == "keras3"
    else:
        calls, shapes = _sequential_calls(model, layers)
        tokens = _reads_tokens(layers[0])
        inputs = [(0, "input", _dims(model.input_shape, lambda axis: "steps"), "int" if tokens else "float")]
        outputs = [(len(layers), "output", layers[-1].output_shape)]
        keras3_rules = False
    graph = _Graph(helper, numpy_helper, [entry[1] for entry in inputs + outputs])
    values = {key: _Value(name, kind) for key, name, _, kind in inputs}
    masked = _export_calls(graph, calls, shapes, values, keras3_rules)
    notes = []
    if masked:
        if mask_padding != "right":
            raise ValueError("The model is masked (Embedding(mask_zero=True), Masking or a mask tensor). ONNX's "
                             "recurrent operators take per-row sequence lengths, which express Keras's mask only when "
                             "every row's padding is at its end; pass mask_padding='right' to export a graph that "
                             "assumes that. Received: mask_padding=None")
        notes.append("masked steps are taken as right padding: rows must be padded at the end")
    if any(getattr(layer, "dtype", "float32") == "float64" for layer in leaf_layers(layers)):
        notes.append("float64 weights exported as float32 (ONNX's recurrent operators in onnxruntime are float32)")
    graph_outputs, report_outputs = [], {}
    for key, name, shape in outputs:
        graph.nodes.append(helper.make_node("Identity", [values[key].name], [name]))
        dims = _dims(shape, lambda axis: "steps" if not functional else None)
        elem_type, dtype = kinds[values[key].kind]
        graph_outputs.append(helper.make_tensor_value_info(name, elem_type, dims))
        report_outputs[name] = (dims, dtype)
    graph_inputs = [helper.make_tensor_value_info(name, kinds[kind][0], dims) for _, name, dims, kind in inputs]
    onnx_graph = helper.make_graph(graph.nodes, getattr(model, "name", "model") or "model", graph_inputs,
                                   graph_outputs, initializer=graph.initializers)
    from rnnkit import __version__
    onnx_model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="rnnkit", producer_version=__version__,
                                   doc_string="; ".join(notes) or "exported by rnnkit")
    onnx_model.ir_version = min(onnx_model.ir_version, 8)
    onnx.checker.check_model(onnx_model)
    data = onnx_model.SerializeToString()
    write_atomic(path, lambda f: f.write(data))
    return {"path": path, "opset": OPSET, "inputs": {name: (dims, kinds[kind][1]) for _, name, dims, kind in inputs},
            "outputs": report_outputs, "operators": sorted({node.op_type for node in graph.nodes}), "notes": notes}


def format_report(report):
    """`export_onnx`'s report as the text `rnnkit export` prints."""
    def tensors(word, entries):
        if len(entries) == 1:
            (shape, dtype), = entries.values()
            return f"{word} {dtype} {shape}"
        return f"{word}s " + ", ".join(f"{name} {dtype} {shape}" for name, (shape, dtype) in entries.items())

    lines = [f"wrote {report['path']}: ONNX opset {report['opset']}, {tensors('input', report['inputs'])}, "
             f"{tensors('output', report['outputs'])}", f"operators: {', '.join(report['operators'])}"]
    return "\n".join(lines + [f"note: {note}" for note in report["notes"]])
