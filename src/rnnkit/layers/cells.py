"""Keras's recurrent cells: SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, and the base that
turns any fused ops cell (`ops.simple_rnn.SimpleRNN`, `ops.lstm.LSTM`, ...) into a Keras cell.

A cell is one step of a recurrence: `cell(x_t, states) -> (output_t, new_states)` on (batch,
features) arrays, as in Keras. Inside `RNN(cell)` a built-in cell never runs step by step: the
RNN hands it the whole sequence and the cell runs its fused loop through `ops.scaffold`. A
cell owns its weights (names and shapes declared by its ops math) and its dropout rates.

`cell_classes(ops_cell_class, ...)` makes a Keras cell class and its layer class from one ops
cell: a new built-in cell is one file in `ops/` plus one registration line (see
`layers/__init__.py`).
"""

import functools
import operator
import threading

import numpy as np

from rnnkit import activations, backend, initializers
from rnnkit.layers.base import Layer, check_positive_int, check_unsupported, nested_weight_groups, own_weight_groups
from rnnkit.ops import gru as gru_ops
from rnnkit.ops import lstm as lstm_ops
from rnnkit.ops import scaffold
from rnnkit.ops import simple_rnn as simple_rnn_ops


class Workspaces:
    """The buffers the ops reuse between calls (see `ops.sequence.buffer`), per cell.

    Training: a pool. Each training call leases a workspace that its cache holds until the
    backward has used it (or the cache is dropped); then it goes back to the pool. A second
    call before the first one's backward leases another, so no cache can be overwritten, and
    the usual forward-backward-forward cycle reuses one workspace (no page faults).
    Inference: one workspace PER THREAD, so that threads running one model never write into
    each other's buffers; a thread's goes when the thread ends. Copies (deepcopy, pickle) start
    empty: buffers are never shared or saved.
    """

    KEEP = 4    # free training workspaces kept for reuse; more pending calls allocate

    def __init__(self):
        self._free = []
        self._local = threading.local()

    def lease(self):
        """(a training workspace, the function that gives it back)."""
        free = self._free
        if free:
            if len(free) > self.KEEP:           # many calls were pending at once: keep a few
                del free[self.KEEP:]
            return free.pop()
        lease = [{}, None]                      # made once per workspace, reused with it
        lease[1] = functools.partial(free.append, lease)
        return lease

    def for_inference(self):
        workspace = getattr(self._local, "workspace", None)
        if workspace is None:
            workspace = self._local.workspace = {}
        return workspace

    def __deepcopy__(self, memo):
        return Workspaces()

    def __reduce__(self):
        return Workspaces, ()


def check_rate(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Argument `{argument}` must be a float in [0, 1). Received: {value!r}")
    return float(value)


def draw_dropout_masks(dropout, recurrent_dropout, batch, input_dim, units, dtype):
    """Keep-masks scaled by 1 / (1 - rate), drawn once per call: the same at every step."""
    def draw(rate, size):
        if not rate:
            return None
        keep = backend.rng().random((batch, size)) >= rate
        return (keep / (1.0 - rate)).astype(dtype)
    return draw(dropout, input_dim), draw(recurrent_dropout, units)


class Cell(Layer):
    """Base of the built-in cells: a fused ops cell (`ops_cell`) with Keras's arguments.

    Args:
        units: positive int, the size of the state and output.
        activation: default `tanh`; any name of `rnnkit.activations` or a callable (forward only).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: names, configs or Initializers.
        dropout: fraction of the inputs dropped in training (one mask per sequence, every step).
        recurrent_dropout: fraction of the recurrent state dropped in training (one mask per sequence).
    """

    ops_cell = None             # the ops cell class (the math)
    gated = False               # takes `recurrent_activation`
    config_keys = ()            # extra constructor arguments kept in the config

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, implementation=2, seed=None,
                 **kwargs):
        self.units = check_positive_int(units, "units")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation, "recurrent_activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        check_unsupported(kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                          recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        # 0 is Keras 2.0-2.2's default; all three name the same function (saving.keras_config reads
        # 0 from files on the same rule), so programs of that era run unchanged
        if isinstance(implementation, bool) or implementation not in (0, 1, 2):
            raise ValueError(f"Argument `implementation` must be 0, 1 or 2. Received: {implementation!r}")
        self.implementation = implementation
        super().__init__(**kwargs)
        self.workspaces = Workspaces()
        self._math = None
        self._math_key = operator.attrgetter("units", "activation", "recurrent_activation", *self.config_keys)

    # ---- Keras's cell attributes ------------------------------------------------------------------
    @property
    def math(self):
        """The ops cell: this cell's math, from its current options (made again when they change)."""
        key = self._math_key(self)
        if self._math is None or self._math[0] != key:
            self._math = (key, self.ops_cell(self.units, self.activation, **self._math_options()))
        return self._math[1]

    def _math_options(self):
        return {"recurrent_activation": self.recurrent_activation} if self.gated else {}

    @property
    def state_size(self):
        count = self.ops_cell.state_count
        return self.units if count == 1 else [self.units] * count

    @property
    def state_sizes(self):
        """Every state's size, as a list (one signature for every cell)."""
        return [self.units] * self.ops_cell.state_count

    @property
    def output_size(self):
        return self.units

    def get_initial_state(self, batch_size=None):
        """Zero states, a list of (batch_size, units) arrays (Keras's `cell.get_initial_state`)."""
        return [np.zeros((batch_size, size), self.dtype) for size in self.state_sizes]

    def _initializer(self, name):
        """A weight's initializer: the ops cell's `weight_initializers` map a weight to a role
        ("kernel", "recurrent", "bias": this cell's arguments) or to a fixed initializer name."""
        role = getattr(self.ops_cell, "weight_initializers", {}).get(name, name)
        by_role = {"kernel": self.kernel_initializer, "recurrent": self.recurrent_initializer,
                   "recurrent_kernel": self.recurrent_initializer, "bias": self.bias_initializer}
        return by_role[role] if role in by_role else initializers.get(role, f"initializer of {name}")

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Cell \"{self.name}\" needs a known input size. Received: input_shape={input_shape}")
        for name, shape in self.math.weight_shapes(int(input_dim), self.use_bias).items():
            self.add_weight(name, shape, self._initializer(name))
        self._assign_initial_weights()
        self.input_shape = tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def dropout_masks(self, batch, input_dim):
        if not (self.dropout or self.recurrent_dropout):
            return None, None
        return draw_dropout_masks(self.dropout, self.recurrent_dropout, batch, input_dim, self.units, self.dtype)

    # ---- the sequence, through the fused scaffold ------------------------------------------------
    def run(self, x, mask, states, training, go_backwards=False, return_sequences=True,
            zero_output_for_mask=False, dropout_masks=(None, None)):
        """Runs the cell over (B, T, D) `x`. Returns (outputs or None, last output, [last states],
        ops cache or None, release or None)."""
        release = None
        if training:
            workspace, release = self.workspaces.lease()
        else:
            workspace = self.workspaces.for_inference()
        outputs, last, cache = scaffold.forward(
            self.math, self.weights, x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
            dropout_masks[0], dropout_masks[1], keep_cache=training, workspace=workspace)
        return outputs, last[0], last, cache, release

    def run_backward(self, d_outputs, d_last_output, d_states, cache, need_dx):
        """(dx, [dL/d initial states], {weight: grad}) for `run`'s cache."""
        if d_states is None:
            d_states = [d_last_output]
        elif d_last_output is not None:
            d_states = list(d_states)
            d_states[0] = d_last_output if d_states[0] is None else d_states[0] + d_last_output
        return scaffold.backward(d_outputs, d_states, cache, need_dx)

    def check_trainable(self):
        """Raises ValueError when the cell's options have no hand-derived gradient."""
        self.math.check_trainable()

    # ---- one step, as Keras's cells -----------------------------------------------------------------
    def __call__(self, inputs, states=None, training=False):
        """One step: `(output, new_states)` for (B, D) `inputs` and a list of (B, units) states."""
        x = self.check_step_input(inputs)
        if not self.built:
            self.build((None, x.shape[-1]))
        return self.call(x, states, training=training)

    def check_step_input(self, inputs):
        from rnnkit.layers.base import as_real_array, cast_checked
        x = as_real_array(inputs, "inputs")
        if x.ndim != 2:
            raise ValueError(f"Cell \"{self.name}\" takes one step of shape (batch, features). "
                             f"Received: an array of shape {x.shape}")
        return cast_checked(x, self.dtype, "inputs")

    def call(self, inputs, states, training=False):
        if states is not None and not isinstance(states, (list, tuple)):
            states = [states]
        masks = self.dropout_masks(inputs.shape[0], inputs.shape[-1]) if training else (None, None)
        _, output, new_states, _, _ = self.run(np.asarray(inputs)[:, None, :], None, states, False,
                                               return_sequences=False, dropout_masks=masks)
        return output, new_states

    @classmethod
    def weight_names(cls, config):
        """The names of the weights a cell of `config` has, in Keras's order (from its ops cell)."""
        probe = cls(**{k: v for k, v in config.items() if k not in ("name", "seed", "time_major")})
        return list(probe.math.weight_shapes(1, probe.use_bias))

    @classmethod
    def keras_weight_groups(cls, config):
        return own_weight_groups(cls.weight_names(config))

    def get_config(self):
        config = super().get_config()
        config.pop("batch_input_shape", None)
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None,
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
        })
        if self.gated:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
            config["implementation"] = self.implementation
        for key in self.config_keys:
            config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("seed", "time_major"):
            config.pop(key, None)
        return cls(**config)


class SimpleRNNCell(Cell):
    """One step of SimpleRNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Takes the arguments of `Cell` (no `recurrent_activation`). States: [h].
    Weights: kernel (input_dim, units), recurrent_kernel (units, units), bias (units,).
    """

    ops_cell = simple_rnn_ops.SimpleRNN

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("Keyword argument not understood by SimpleRNNCell: ['recurrent_activation']. "
                            f"Received: recurrent_activation={kwargs['recurrent_activation']!r}")
        super().__init__(units, activation, **kwargs)


class LSTMCell(Cell):
    """One step of LSTM (Hochreiter & Schmidhuber 1997), Keras's gate order i, f, c, o.

    Args:
        unit_forget_bias: initialise the forget gate's bias to ones (Keras's default True).
        recurrent_activation: default `sigmoid`. And the arguments of `Cell`. States: [h, c].

    Weights: kernel (input_dim, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    """

    ops_cell = lstm_ops.LSTM
    gated = True
    config_keys = ("unit_forget_bias",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(units, activation, recurrent_activation, **kwargs)

    def _forget_bias_ones(self, shape, dtype=None):
        H = self.units
        return np.concatenate([self.bias_initializer((H,), dtype), np.ones((H,), dtype),
                               self.bias_initializer((2 * H,), dtype)])

    def _initializer(self, name):
        if name == "bias" and self.unit_forget_bias:
            return self._forget_bias_ones
        return super()._initializer(name)


class GRUCell(Cell):
    """One step of GRU (Cho et al. 2014), Keras's gate order z, r, h.

    Args:
        reset_after: apply the reset gate after the recurrent product (default True, as Keras 2
            and cuDNN); then the bias is (2, 3 units): input bias and recurrent bias.
        recurrent_activation: default `sigmoid`. And the arguments of `Cell`. States: [h].

    Weights: kernel (input_dim, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units)
    with reset_after else (3 units,).
    """

    gated = True
    config_keys = ("reset_after",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(units, activation, recurrent_activation, **kwargs)

    @property
    def ops_cell(self):
        return gru_ops.GRUResetAfter if self.reset_after else gru_ops.GRUResetBefore


class StackedRNNCells(Layer):
    """Wraps a list of cells so that they behave as one: cell k's output is cell k+1's input at
    the same step. Inside `RNN` the cells run one after the other over the whole sequence (the
    same numbers, each through its own fused loop).

    States: every cell's states in order, flat: `[h_1, (c_1,) h_2, (c_2,) ...]` (Keras's nested
    states, flattened). Weights: every cell's, in order.
    """

    def __init__(self, cells, **kwargs):
        cells = list(cells)
        if not cells:
            raise ValueError("Argument `cells` of StackedRNNCells must hold at least one cell. Received: []")
        for cell in cells:
            check_cell(cell)
        self.cells = cells
        super().__init__(**kwargs)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def state_sizes(self):
        return [size for cell in self.cells for size in cell_state_sizes(cell)]

    @property
    def output_size(self):
        return cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        """Zero states of every cell, flat (see the class docstring)."""
        return [np.zeros((batch_size, size), self.dtype) for size in self.state_sizes]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build(shape)
            shape = shape[:-1] + (cell_output_size(cell),)
        self.weights = {f"cells/{k}/{name}": array for k, cell in enumerate(self.cells)
                        for name, array in cell.weights.items()}
        self._assign_initial_weights()
        self.input_shape = tuple(input_shape)
        self.built = True

    def __call__(self, inputs, states=None, training=False):
        """One step through every cell: (output, new flat states)."""
        if not self.built:
            self.build((None, np.shape(inputs)[-1]))
        return self.call(inputs, states, training)

    def call(self, inputs, states, training=False):
        states = list(states) if states is not None else [None] * len(self.state_sizes)
        new_states, start = [], 0
        for cell in self.cells:
            count = len(cell_state_sizes(cell))
            mine = [s if s is not None else np.zeros((np.shape(inputs)[0], size), self.dtype)
                    for s, size in zip(states[start:start + count], cell_state_sizes(cell))]
            inputs, cell_states = cell(inputs, mine, training=training) if isinstance(cell, Cell) else \
                cell.call(inputs, mine)
            new_states.extend(cell_states if isinstance(cell_states, (list, tuple)) else [cell_states])
            start += count
        return inputs, new_states

    def get_config(self):
        from rnnkit.layers import serialize
        config = super().get_config()
        config.pop("batch_input_shape", None)
        config["cells"] = [serialize(cell) for cell in self.cells]
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        """Keras 3 keeps each cell under `cells/<snake class name>[_<n>]` (numbered per class);
        Keras 2 names each cell's weights by the cell's name alone."""
        groups, seen = [], {}
        for spec in config["cells"]:
            key = backend.to_snake_case(spec["class_name"])
            seen[key] = seen.get(key, -1) + 1
            name = cell_object_name(spec)
            groups += nested_weight_groups(f"cells/{key}" if seen[key] == 0 else f"cells/{key}_{seen[key]}", name,
                                           spec, name)
        return groups

    @classmethod
    def from_config(cls, config):
        from rnnkit.layers import deserialize
        config = dict(config)
        return cls([deserialize(c) for c in config.pop("cells")], **config)


def cell_classes(ops_cell, name, docstring=None):
    """A Keras cell class `<name>Cell` and its layer `<name>` (`RNN` with that cell) from an ops cell.

    The ops cell declares what the Keras classes need besides `units` and `activation`:
        options = {argument: default}      extra constructor arguments, passed to the ops cell
                                           (`recurrent_activation` makes the cell gated)
        weight_initializers = {weight: role or initializer name}   see `Cell._initializer`
    Returns (cell class, layer class); register them in `layers/__init__.py` (one line).
    """
    from rnnkit.layers.recurrent import _CellLayer, _delegate
    options = dict(getattr(ops_cell, "options", {}))
    gated = "recurrent_activation" in options
    extra = {k: v for k, v in options.items() if k != "recurrent_activation"}

    def __init__(self, units, activation="tanh", **kwargs):
        for key, default in extra.items():
            setattr(self, key, kwargs.pop(key, default))
        if gated:
            kwargs.setdefault("recurrent_activation", options["recurrent_activation"])
        Cell.__init__(self, units, activation, **kwargs)

    def _math_options(self):
        found = Cell._math_options(self)
        found.update({key: getattr(self, key) for key in extra})
        return found

    cell_class = type(f"{name}Cell", (Cell,), {
        "__init__": __init__, "_math_options": _math_options, "ops_cell": ops_cell, "gated": gated,
        "config_keys": tuple(extra), "__module__": __name__,
        "__doc__": docstring or f"One step of {name} (`{ops_cell.__module__}`); the arguments of `Cell` and "
                                f"{sorted(options)}."})
    attributes = {"cell_class": cell_class, "cell_name": backend.to_snake_case(name) + "_cell",
                  "__module__": "rnnkit.layers.recurrent",
                  "__doc__": f"`RNN({name}Cell)`: the {name} cell over a sequence (see `{name}Cell`)."}
    attributes.update({key: _delegate(key) for key in options})
    return cell_class, type(name, (_CellLayer,), attributes)


# ---- the protocol any cell follows (built-in or a user's) ------------------------------------------
def check_cell(cell):
    """TypeError unless `cell` has Keras's cell protocol: `call(x_t, states)` and `state_size`."""
    if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
        raise TypeError("An RNN cell must have a `call(inputs, states)` method and a `state_size` attribute "
                        f"(see docs/cells.md). Received: {cell!r}")
    return cell


def cell_object_name(spec):
    """The name a cell of `spec` goes by in Keras's files: its own, else its snake-case class name."""
    return spec["config"].get("name") or backend.to_snake_case(spec["class_name"])


def cell_state_sizes(cell):
    sizes = getattr(cell, "state_sizes", None)
    if sizes is not None:
        return list(sizes)
    size = cell.state_size
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


def cell_output_size(cell):
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else cell_state_sizes(cell)[0]
