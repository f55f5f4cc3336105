"""Symbolic tensors and nodes: what calling a layer on `keras.Input(...)` records.

A KerasTensor holds a shape and a dtype, and where it came from: (layer, node index, tensor
index), as Keras's `_keras_history`. Calling a layer on KerasTensors builds the layer from their
shapes, appends a Node to the layer's list of calls, and returns new KerasTensors. Nothing is
computed: `models.Model(inputs, outputs)` later walks the nodes, in topological order, with arrays.

Nodes are kept here, keyed by layer, rather than on the layer: a layer stays a plain object that
only knows its weights and its math. The table holds its nodes weakly: a node holds its layer, so a
strong list of nodes would keep every layer ever called symbolically alive (the table's weak key
notwithstanding). A node lives as long as a tensor it made or a model that runs it.
"""

import weakref

_NODES = weakref.WeakKeyDictionary()  # layer -> _Calls: its nodes, weakly, in call order
# layer -> weak reference to a model holding it that can record its layers' calls when asked
# (a Sequential: `model.layers[i].output` before `model.input`, as Keras's FAQ writes it). Weak
# both ways, so offering a trace keeps nothing alive and records nothing until someone asks.
_TRACERS = weakref.WeakKeyDictionary()


class KerasTensor:
    """A symbolic tensor: shape (batch first, None for unknown sizes), dtype and history.

    Attributes:
        shape: the batch-first shape tuple.
        dtype: 'float32', 'float64', 'int32', ...
        node: the Node that produced it.
        index: its position among that node's outputs.
    """

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def layer(self):
        return self.node.layer

    @property
    def _keras_history(self):
        return (self.node.layer, self.node.index, self.index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        shape = "(" + ", ".join("None" if d is None else str(d) for d in self.shape) + ")"
        return f"<KerasTensor shape={shape}, dtype={self.dtype}, name={self.name or self.layer.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"A symbolic tensor ({self!r}) has no values: build a model with "
                        "keras.Model(inputs, outputs) and call predict(). Received: a KerasTensor used as an array")

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


class _Calls:
    """A layer's nodes, held weakly, and how many calls it has had (each node's index)."""

    def __init__(self):
        self.count = 0
        self.refs = []

    def add(self, node):
        self.count += 1
        self.refs = [ref for ref in self.refs if ref() is not None] + [weakref.ref(node)]

    def alive(self):
        return [node for node in (ref() for ref in self.refs) if node is not None]


class Node:
    """One call of a layer on symbolic tensors.

    Attributes:
        layer: the layer called.
        index: the call's position among the layer's calls (Keras's node index).
        inputs: the main input: a KerasTensor or a list of them.
        state_inputs: KerasTensors passed as `initial_state` (a list, maybe empty).
        constants: call arguments that are plain values (`other=0` of a NotEqual).
        mask_input: a KerasTensor passed as `mask=`, which replaces the propagated mask.
        outputs: the KerasTensors made (a list, even for one output).
        single: whether the call returned one tensor rather than a list.
    """

    def __init__(self, layer, inputs, state_inputs, output_shapes, dtype, constants=None, mask_input=None):
        calls = _NODES.setdefault(layer, _Calls())
        self.layer = layer
        self.index = calls.count
        self.inputs = inputs
        self.state_inputs = list(state_inputs)
        self.constants = dict(constants or {})
        self.mask_input = mask_input
        self.single = not isinstance(output_shapes, list)
        shapes = [output_shapes] if self.single else output_shapes
        self.outputs = [KerasTensor(shape, dtype, self, i) for i, shape in enumerate(shapes)]
        calls.add(self)

    @property
    def flat_inputs(self):
        main = list(self.inputs) if isinstance(self.inputs, (list, tuple)) else [self.inputs]
        return main + self.state_inputs + ([self.mask_input] if self.mask_input is not None else [])

    def result(self):
        return self.outputs[0] if self.single else list(self.outputs)


def _state_shapes(layer, input_shape):
    """The shapes, batch axis left out, of the states a recurrent layer takes for an input of
    `input_shape` (a Bidirectional's: forward's, then backward's), or None for a layer that takes
    no states. The layer answers through its `state_shapes(input_shape)`: an RNN's states are
    (units,) each, a ConvLSTM's are grids that depend on the input."""
    if hasattr(layer, "forward_layer") and hasattr(layer, "backward_layer"):
        forward = _state_shapes(layer.forward_layer, input_shape)
        backward = _state_shapes(layer.backward_layer, input_shape)
        return None if forward is None or backward is None else forward + backward
    state_shapes = getattr(layer, "state_shapes", None)
    return None if state_shapes is None else [tuple(shape) for shape in state_shapes(input_shape)]


def _check_state_shapes(layer, states, input_shape):
    shapes = _state_shapes(layer, input_shape)
    if shapes is None:
        raise TypeError(f"Layer \"{layer.name}\" takes no `initial_state`. Received: {len(states)} state tensors")
    if len(states) != len(shapes):
        raise ValueError(f"Argument `initial_state` of layer \"{layer.name}\" must hold {len(shapes)} states. "
                         f"Received: {len(states)}")
    for state, shape in zip(states, shapes):
        given = tuple(state.shape[1:])
        if len(given) != len(shape) or any(g not in (None, s) for g, s in zip(given, shape)):
            raise ValueError(f"Argument `initial_state` of layer \"{layer.name}\" must hold tensors of shape "
                             f"(batch, {', '.join(map(str, shape))}). Received: a tensor of shape {state.shape}")


def nodes_of(layer):
    """The calls recorded for `layer`, in order."""
    calls = _NODES.get(layer)
    return calls.alive() if calls is not None else []


def offer_trace(layer, model):
    """`model` (which holds `layer`) will record its layers' calls if `layer`'s calls are asked
    for before any exist: `model.symbolic_trace()` is called then."""
    _TRACERS[layer] = weakref.ref(model)


def recorded_calls(layer):
    """The calls of `layer`, first letting a model that offered a trace record them."""
    nodes = nodes_of(layer)
    if not nodes:
        owner = _TRACERS.get(layer)
        model = owner() if owner is not None else None
        if model is not None and getattr(model, "built", False):
            model.symbolic_trace()
            nodes = nodes_of(layer)
    return nodes


def is_symbolic(value):
    if isinstance(value, KerasTensor):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, KerasTensor) for v in value)


def _shapes(value):
    return [v.shape for v in value] if isinstance(value, (list, tuple)) else value.shape


def symbolic_call(layer, inputs, initial_state=None, **kwargs):
    """Records `layer(inputs, initial_state=...)` on symbolic tensors and returns the outputs.

    Raises:
        TypeError: for a mix of symbolic tensors and arrays, or call arguments a graph can't carry.
        ValueError: naming the layer, for inputs of the wrong rank or size.
    """
    constants = {k: kwargs.pop(k) for k in list(kwargs) if k in getattr(layer, "call_arguments", ())}
    mask_input = kwargs.pop("mask", None)
    if mask_input is not None and not isinstance(mask_input, KerasTensor):
        raise TypeError(f"Argument `mask` of layer \"{layer.name}\" must be a symbolic tensor when its input is. "
                        f"Received: {type(mask_input).__name__}")
    unsupported = {k: v for k, v in kwargs.items() if k != "training" or v not in (None, False)}
    if unsupported:
        raise TypeError(f"Layer \"{layer.name}\" was called on symbolic tensors with arguments a graph cannot "
                        f"record. Received: {sorted(unsupported)}")
    flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not all(isinstance(v, KerasTensor) for v in flat):
        raise TypeError(f"Layer \"{layer.name}\" was called on a mix of symbolic tensors and other values. "
                        f"Received: {[type(v).__name__ for v in flat]}")
    states = []
    if initial_state is not None:
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if not all(isinstance(s, KerasTensor) for s in states):
            raise TypeError(f"Argument `initial_state` of layer \"{layer.name}\" must be symbolic tensors when "
                            f"its input is. Received: {[type(s).__name__ for s in states]}")
    input_shape = _shapes(inputs)
    if states:
        _check_state_shapes(layer, states, input_shape)
    if isinstance(inputs, (list, tuple)) and not getattr(layer, "takes_several_inputs", False):
        raise ValueError(f"Layer \"{layer.name}\" takes one input. Received: a list of {len(flat)} tensors")
    if not layer.built:
        layer.build(input_shape)
    else:
        _check_fits(layer, input_shape)
    output_shapes = layer.compute_output_shape(input_shape)
    dtype = getattr(layer, "output_dtype", None) or layer.dtype
    if getattr(layer, "keeps_input_dtype", False):
        dtype = (flat[0] if isinstance(inputs, (list, tuple)) else inputs).dtype
    node = Node(layer, inputs, states, output_shapes, dtype, constants, mask_input)
    return node.result()


def _is_shape_list(shape):
    return isinstance(shape, (list, tuple)) and bool(shape) and isinstance(shape[0], (list, tuple))


def _fits(built, given):
    if _is_shape_list(built) != _is_shape_list(given):
        return False
    if _is_shape_list(built):
        return len(built) == len(given) and all(_fits(b, g) for b, g in zip(built, given))
    built, given = tuple(built[1:]), tuple(given[1:])
    return len(built) == len(given) and all(b is None or b == g for b, g in zip(built, given))


def _check_fits(layer, input_shape):
    """A built layer (a shared one, called again) takes what its build shape allows."""
    if layer.input_shape is not None and not _fits(layer.input_shape, input_shape):
        raise ValueError(f"Layer \"{layer.name}\" was built for input shape {layer.input_shape}. "
                         f"Received: input_shape={input_shape}")


def input_tensor(input_layer):
    """The KerasTensor an InputLayer stands for (made once, on its one node)."""
    nodes = nodes_of(input_layer)
    if nodes:
        return nodes[0].outputs[0]
    node = Node(input_layer, [], [], tuple(input_layer.batch_input_shape),
                getattr(input_layer, "output_dtype", None) or input_layer.dtype)
    node.outputs[0].name = input_layer.name
    return node.outputs[0]
