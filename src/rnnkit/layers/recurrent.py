"""Recurrent layers: `RNN(cell)` (Keras's options: sequences, states, masks, direction,
statefulness) and SimpleRNN, LSTM and GRU, which are `RNN` with their cell (`layer.cell`).

The math lives in the cells (`layers.cells`, over `ops`); `RNN` turns Keras's options into one
run of the cell over the sequence, or one run per cell for `StackedRNNCells` (cell k+1 reads cell
k's outputs: the same numbers as stepping the stack, each through its own fused loop). A user's
cell (`call(x_t, states)` and a step `backward`, see docs/cells.md) runs step by step through
`ops.scaffold.step_forward` with the same masks, dropout and states.
"""

import numpy as np

from rnnkit.layers.base import KerasWeightGroup, Layer, as_real_array, cast_checked, nested_weight_groups
from rnnkit.layers.cells import (Cell, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, cell_output_size,
                                 cell_object_name, cell_state_sizes, check_cell, draw_dropout_masks)
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import scaffold


class StepCellRunner:
    """Runs a user's step cell over a sequence through `ops.scaffold.step_forward`/`step_backward`,
    with the interface of `layers.cells.Cell.run` / `run_backward`."""

    def __init__(self, cell):
        self.cell = cell

    def run(self, x, mask, states, training, go_backwards=False, return_sequences=True,
            zero_output_for_mask=False, dropout_masks=(None, None)):
        cell = self.cell
        if training:
            self.check_trainable()      # before the first step changes anything
        B = x.shape[0]
        states = [np.zeros((B, size), x.dtype) if s is None else s
                  for s, size in zip(states, cell_state_sizes(cell))]
        outputs, last, new_states, cache = scaffold.step_forward(
            _StepCall(cell), x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
            dropout_masks[0], dropout_masks[1], keep_cache=training)
        return outputs, last, new_states, cache, None

    def run_backward(self, d_outputs, d_last_output, d_states, cache, need_dx):
        if d_states is None:
            d_states = [None] * len(cell_state_sizes(self.cell))
        return scaffold.step_backward(d_outputs, d_last_output, d_states, cache, need_dx)

    def dropout_masks(self, batch, input_dim):
        cell = self.cell
        return draw_dropout_masks(getattr(cell, "dropout", 0.0), getattr(cell, "recurrent_dropout", 0.0), batch,
                                  input_dim, cell_state_sizes(cell)[0], getattr(cell, "dtype", "float32"))

    def check_trainable(self):
        if not callable(getattr(self.cell, "backward", None)):
            raise ValueError(
                f"Cell {self.cell!r} has no `backward(d_output, d_states, inputs, states)` method, so an RNN "
                "using it cannot be trained (see docs/cells.md). Received: a cell with `call` only")


class _StepCall:
    """The step cell as `ops.scaffold.step_forward` calls it: `call(x_t, states)` and `backward`."""

    def __init__(self, cell):
        self.cell = cell
        self.output_size = cell_output_size(cell)

    def call(self, x_t, states):
        output, new_states = self.cell.call(x_t, states)
        return output, new_states

    def backward(self, d_output, d_new_states, x_t, states):
        dx, d_states, grads = self.cell.backward(d_output, d_new_states, x_t, states)
        return dx, (list(d_states) if isinstance(d_states, (list, tuple)) else [d_states]), grads


def _runner(cell):
    return cell if isinstance(cell, Cell) else StepCellRunner(cell)


class RNN(Layer):
    """Base class for recurrent layers: runs a cell (or a list of cells) over a sequence.

    Args:
        cell: a cell (SimpleRNNCell, LSTMCell, GRUCell, a user's cell with `call(x_t, states)`,
            `state_size` and `backward`: see docs/cells.md), a StackedRNNCells, or a list of cells
            (stacked).
        return_sequences: return the whole output sequence (batch, timesteps, units) instead of
            the last output (batch, units).
        return_state: also return the last states: `[output, state...]`, flat, cell by cell.
        go_backwards: process the sequence backwards; returned sequences are in processing order.
        stateful: carry the last states of a batch into the next call (needs a fixed batch size:
            `batch_input_shape` or `batch_size`); `reset_state()` / `reset_states()` zero them.
        unroll: accepted for Keras compatibility; the loop is fused either way.
        zero_output_for_mask: masked steps of a returned sequence output zeros.
    """

    supports_masking = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        self.cell = check_cell(cell)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)
        self.stateful = bool(stateful)
        if time_major:
            raise ValueError("Argument `time_major=True` is not supported; inputs are batch-major. "
                             "Received: time_major=True")
        self.zero_output_for_mask = bool(zero_output_for_mask)
        super().__init__(**kwargs)
        self.states = None
        self._state_batch = None
        self.initial_state_grads = None
        # Fixed with the cell: each cell's runner and state count (a call reads them, not the cells).
        self._cells = list(cell.cells) if isinstance(cell, StackedRNNCells) else [cell]
        self._runners = [_runner(c) for c in self._cells]
        self._state_counts = [len(cell_state_sizes(c)) for c in self._cells]
        self._state_count = sum(self._state_counts)
        self._output_size = None            # known once built (a user cell may size itself in build)

    @property
    def state_sizes(self):
        return [size for cell in self._cells for size in cell_state_sizes(cell)]

    @property
    def state_count(self):
        return self._state_count

    def state_shapes(self, input_shape):
        """Each initial state's shape without the batch axis, for an input of `input_shape`:
        (size,) per state, whatever the input."""
        return [(size,) for size in self.state_sizes]

    @property
    def output_size(self):
        return cell_output_size(self._cells[-1]) if self._output_size is None else self._output_size

    @property
    def units(self):
        return self.output_size

    def _shape_from_input_dim(self, input_dim, input_length):
        return (input_length, input_dim)

    # ---- shapes ---------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Layer \"{self.name}\" expects input of shape (batch, timesteps, features) with "
                f"known features. Received: input_shape={input_shape}")
        units = self._output_size if self._output_size is not None else self.output_size
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [output] + [(batch, size) for size in self.state_sizes]
        return output

    def compute_mask(self, x, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self.state_count
        return output_mask

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates before any weight exists
        step_shape = (input_shape[0], input_shape[-1])
        if not getattr(self.cell, "built", False):
            if isinstance(self.cell, Layer):
                self.cell.build(step_shape)
            else:
                self.cell.build(step_shape)
                self.cell.built = True
        self.weights = self.cell.weights
        self._output_size = cell_output_size(self._cells[-1])
        super().build(input_shape)
        if self.stateful:
            # Keras 3: without a batch size in the input shape, the first call fixes it.
            self._state_batch = input_shape[0]
            self.reset_states()

    # ---- states ---------------------------------------------------------------------------------
    def reset_states(self, states=None):
        """Zeros the carried states of a stateful layer, or sets them to `states` (a list of
        (batch, size) arrays, one per state, flat).

        Raises:
            AttributeError: if the layer is not stateful.
            ValueError: for the wrong number or shapes of states.
        """
        if not self.stateful:
            raise AttributeError(f"Layer \"{self.name}\" is not stateful: it has no states to reset. "
                                 "Received: reset_states() on stateful=False")
        if not self.built:
            raise ValueError(f"Layer \"{self.name}\" is not built yet. Received: reset_states() before build")
        batch = self._state_batch
        if batch is None and states is not None:
            first = np.shape(states[0] if isinstance(states, (list, tuple)) else states)
            batch = first[0] if first else None
        if batch is None:               # no call yet: the first one starts from zeros
            self.states = None
        elif states is None:
            self.states = [np.zeros((batch, size), self.dtype) for size in self.state_sizes]
        else:
            self.states = [s.copy() for s in self._check_initial_state(states, batch, "states")]
            self._state_batch = batch

    def reset_state(self, states=None):
        """Keras 3's spelling of `reset_states`."""
        self.reset_states(states)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freezing the layer freezes its cell(s), as in Keras."""
        self._trainable = bool(value)
        for cell in getattr(self, "_cells", ()):
            if hasattr(cell, "trainable"):
                cell.trainable = self._trainable

    def _check_initial_state(self, initial_state, batch, argument="initial_state"):
        if initial_state is None:
            return [None] * self._state_count
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if any(isinstance(s, (list, tuple)) for s in states):      # Keras's nested per-cell states
            states = [t for s in states for t in (s if isinstance(s, (list, tuple)) else [s])]
        if len(states) != self.state_count:
            raise ValueError(
                f"Argument `{argument}` of layer \"{self.name}\" must hold {self.state_count} state(s). "
                f"Received: {len(states)}")
        checked = []
        for state, size in zip(states, self.state_sizes):
            state = cast_checked(as_real_array(state, argument), self.dtype, argument)
            if not np.isfinite(state).all():
                raise ValueError(f"Argument `{argument}` of layer \"{self.name}\" must hold finite numbers. "
                                 "Received: NaN or inf values")
            if state.shape != (batch, size):
                raise ValueError(
                    f"Argument `{argument}` of layer \"{self.name}\" must have shape "
                    f"{(batch, size)}. Received: shape {state.shape}")
            checked.append(state)
        return checked

    def _check_mask(self, mask, x):
        if mask is None:
            return None
        mask = as_real_array(mask, "mask")
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"Argument `mask` of layer \"{self.name}\" must have shape {x.shape[:2]} "
                f"(batch, timesteps). Received: shape {mask.shape}")
        return mask.astype(bool, copy=False)

    def _dropout_masks(self, batch, input_dim):
        """The first cell's keep-masks, scaled by 1 / (1 - rate), drawn once per call."""
        return self._runners[0].dropout_masks(batch, input_dim)

    def check_trainable(self):
        """Raises ValueError (before any step) if a cell of this layer cannot be trained."""
        for runner in self._runners:
            runner.check_trainable()

    # ---- running --------------------------------------------------------------------------------
    def _forward(self, x, mask, training, initial_state=None):
        x = self.check_input(x)
        if self.stateful:
            if self._state_batch is None:           # Keras 3: the first call fixes the batch size
                self._state_batch = x.shape[0]
                self.reset_states()
            if x.shape[0] != self._state_batch:
                raise ValueError(
                    f"Layer \"{self.name}\" is stateful with batch size {self._state_batch}. "
                    f"Received: a batch of {x.shape[0]}")
        mask = self._check_mask(mask, x)
        states = self._check_initial_state(initial_state, x.shape[0])
        if initial_state is None and self.stateful:
            states = self.states
        if len(self._runners) == 1:         # one cell: one run, no bookkeeping per cell
            runner = self._runners[0]
            masks = self._dropout_masks(x.shape[0], x.shape[2]) if training else (None, None)
            outputs, last_output, last_states, cache, release = runner.run(
                x, mask, states, training, self.go_backwards, self.return_sequences, self.zero_output_for_mask,
                masks)
            if self.stateful:
                self.states = [np.array(s, copy=True) for s in last_states]
            output = outputs if self.return_sequences else last_output
            if self.return_state:
                output = [output] + list(last_states)
            return output, (((runner, cache),), None), release
        last = len(self._runners) - 1
        sequence, start, calls, last_states, releases = x, 0, [], [], []
        for k, (runner, count) in enumerate(zip(self._runners, self._state_counts)):
            if not training:
                masks = (None, None)
            elif k == 0:
                masks = self._dropout_masks(x.shape[0], x.shape[2])
            else:
                masks = runner.dropout_masks(x.shape[0], sequence.shape[2])
            # After the first cell the sequence is in processing order already.
            cell_mask = mask if k == 0 or mask is None or not self.go_backwards else mask[:, ::-1]
            outputs, last_output, cell_states, cache, release = runner.run(
                sequence, cell_mask, states[start:start + count], training,
                go_backwards=self.go_backwards and k == 0,
                return_sequences=self.return_sequences or k < last,
                zero_output_for_mask=self.zero_output_for_mask and k == last, dropout_masks=masks)
            calls.append((runner, cache))
            if release is not None:
                releases.append(release)
            last_states.extend(cell_states)
            sequence, start = outputs, start + count
        if self.stateful:
            self.states = [np.array(s, copy=True) for s in last_states]
        output = sequence if self.return_sequences else last_output
        if self.return_state:
            output = [output] + list(last_states)
        data = (calls, x.shape) if training else None
        return output, data, (_release_all(releases) if releases else None)

    def _backward(self, d_out, data, need_input_grad):
        calls, x_shape = data
        dx, self.initial_state_grads, grads = self._run_backward(d_out, calls, need_input_grad)
        return dx, grads

    def _run_backward(self, d_out, calls, need_input_grad):
        """(dx or None, [dL/d initial states], {weight: grad}) through every cell's call, last first."""
        if len(calls) == 1 and not isinstance(self.cell, StackedRNNCells):     # one cell: one backward
            runner, cache = calls[0]
            d_main, d_states = (d_out[0], list(d_out[1:])) if self.return_state else (d_out, None)
            if type(cache) is scaffold.SequenceCache and (self.return_sequences or d_states is None):
                if self.return_sequences:       # a fused cell's cache: straight to the scaffold
                    return scaffold.backward(d_main, d_states, cache, need_input_grad)
                return scaffold.backward(None, [d_main], cache, need_input_grad)
            if self.return_sequences:
                return runner.run_backward(d_main, None, d_states, cache, need_input_grad)
            return runner.run_backward(None, d_main, d_states, cache, need_input_grad)
        if self.return_state:
            d_main, d_states = d_out[0], list(d_out[1:])
        else:
            d_main, d_states = d_out, [None] * self.state_count
        d_outputs = d_main if self.return_sequences else None
        d_last = None if self.return_sequences else d_main
        grads, d_initial = {}, []
        stacked = len(calls) > 1 or isinstance(self.cell, StackedRNNCells)
        end = self._state_count
        for k in range(len(calls) - 1, -1, -1):
            runner, cache = calls[k]
            count = self._state_counts[k]
            need_dx = need_input_grad or k > 0
            dx, d_cell_states, cell_grads = runner.run_backward(
                d_outputs, d_last, d_states[end - count:end], cache, need_dx)
            d_initial[:0] = d_cell_states
            for name, grad in cell_grads.items():
                grads[f"cells/{k}/{name}" if stacked else name] = grad
            d_outputs, d_last, end = dx, None, end - count
        return (d_outputs if need_input_grad else None), d_initial, grads

    def get_config(self):
        from rnnkit.layers import serialize
        config = super().get_config()
        config.update({"return_sequences": self.return_sequences, "return_state": self.return_state,
                       "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                       "time_major": False})
        if self.zero_output_for_mask:       # Keras 2 writes it only when set
            config["zero_output_for_mask"] = True
        if type(self) is RNN:
            config["cell"] = serialize(self.cell)
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        """The cell's groups under `cell` (Keras 3: `cell/vars`, a stack's `cell/cells/...`); Keras 2
        names a cell's weights `<layer>/<cell name>/<weight>:0`, a stack's by each cell's name."""
        cell = config["cell"]
        if isinstance(cell, list):
            cell = {"class_name": "StackedRNNCells", "config": {"cells": cell}}
        if cell["class_name"] == "StackedRNNCells":     # a stack's own vars carry no name (as before)
            return nested_weight_groups("cell", None, cell, "")
        return nested_weight_groups("cell", cell_object_name(cell), cell, cell_object_name(cell))

    @classmethod
    def from_config(cls, config):
        from rnnkit.layers import deserialize
        config = dict(config)
        cell = config.pop("cell")
        cell = [deserialize(c) for c in cell] if isinstance(cell, list) else deserialize(cell)
        return cls(cell, **config)


def _release_all(releases):
    def release():
        for give_back in releases:
            give_back()
    return release


def _delegate(name):
    return property(lambda self: getattr(self.cell, name),
                    lambda self, value: setattr(self.cell, name, value))


_PENALIZED = ("kernel", "recurrent", "bias")   # Keras's argument prefixes; `recurrent` is recurrent_kernel


class _CellLayer(WeightPenalties, RNN):
    """SimpleRNN, LSTM, GRU: `RNN` with a new cell built from the cell's arguments. The layer holds
    the cell's regularizers and constraints (the training loop asks layers for them)."""

    cell_class = None

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, activity_regularizer=None,
                 name=None, trainable=True, dtype=None, input_shape=None, batch_input_shape=None,
                 batch_size=None, input_dim=None, input_length=None, **cell_kwargs):
        penalties = {key: cell_kwargs.pop(f"{key}_regularizer", None) for key in _PENALIZED}
        limits = {key: cell_kwargs.pop(f"{key}_constraint", None) for key in _PENALIZED}
        self._set_penalties({_weight_of(k): v for k, v in penalties.items()},
                            {_weight_of(k): v for k, v in limits.items()}, activity_regularizer)
        weights = cell_kwargs.pop("weights", None)     # the layer's, in its get_weights() order
        cell = self.cell_class(units, dtype=dtype, trainable=trainable, name=self.cell_name, **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, time_major=time_major,
                         zero_output_for_mask=zero_output_for_mask, name=name, trainable=trainable, dtype=dtype,
                         input_shape=input_shape, batch_input_shape=batch_input_shape, batch_size=batch_size,
                         input_dim=input_dim, input_length=input_length, weights=weights)

    units = _delegate("units")
    activation = _delegate("activation")
    use_bias = _delegate("use_bias")
    dropout = _delegate("dropout")
    recurrent_dropout = _delegate("recurrent_dropout")
    kernel_initializer = _delegate("kernel_initializer")
    recurrent_initializer = _delegate("recurrent_initializer")
    bias_initializer = _delegate("bias_initializer")

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        for key, value in self._penalty_config().items():   # kernel_..., recurrent_kernel_... -> Keras's names
            config[key.replace("recurrent_kernel_", "recurrent_")] = value
        config.pop("zero_output_for_mask", None)    # Keras 2 writes it for RNN only
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def keras_weight_groups(cls, config):
        cell_config = {k: v for k, v in config.items() if k in _CELL_KEYS}
        return [KerasWeightGroup("cell/vars", cls.cell_name, tuple(cls.cell_class.weight_names(cell_config)))]


_CELL_KEYS = {"units", "use_bias", "reset_after"}


def _weight_of(prefix):
    return "recurrent_kernel" if prefix == "recurrent" else prefix


class SimpleRNN(_CellLayer):
    """Fully-connected RNN whose output is fed back as the next step's state: `RNN(SimpleRNNCell)`.

        h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    Takes the arguments of `RNN` and of `SimpleRNNCell`. Weights, in Keras's order: kernel
    (input_dim, units), recurrent_kernel (units, units), bias (units,).
    """

    cell_class, cell_name = SimpleRNNCell, "simple_rnn_cell"

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter & Schmidhuber 1997): `RNN(LSTMCell)`, gates i, f, c, o.

        i, f, o = recurrent_activation(...), g = activation(...)
        c_t = f c_{t-1} + i g,  h_t = o activation(c_t)

    Args:
        unit_forget_bias: initialise the forget gate's bias to ones (Keras's default True).
        recurrent_activation: default `sigmoid`.
        Every argument of `RNN` and `LSTMCell` too. States: [h, c].

    Weights: kernel (input_dim, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    """

    cell_class, cell_name = LSTMCell, "lstm_cell"
    recurrent_activation = _delegate("recurrent_activation")
    unit_forget_bias = _delegate("unit_forget_bias")
    implementation = _delegate("implementation")


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al. 2014): `RNN(GRUCell)`, Keras's gate order z, r, h.

        z, r = recurrent_activation(...),  hh = activation(x W_h + r (h U_h + b_h))   (reset_after)
        h_t = z h_{t-1} + (1 - z) hh

    Args:
        reset_after: apply the reset gate after the recurrent product (default True, as Keras 2
            and cuDNN); then the bias is (2, 3 units): input bias and recurrent bias.
        recurrent_activation: default `sigmoid`.
        Every argument of `RNN` and `GRUCell` too.

    Weights: kernel (input_dim, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units)
    with reset_after else (3 units,).
    """

    cell_class, cell_name = GRUCell, "gru_cell"
    recurrent_activation = _delegate("recurrent_activation")
    reset_after = _delegate("reset_after")
    implementation = _delegate("implementation")
