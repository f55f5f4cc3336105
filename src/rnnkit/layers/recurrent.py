"""Recurrent layers: the shared RNN machinery (options, shapes, masks, states, dropout) and
SimpleRNN, LSTM and GRU.

The math lives in `rnnkit.ops`; a recurrent layer checks arguments, owns the weights and turns
Keras's options (return_sequences, return_state, go_backwards, stateful, dropout) into one ops call.
"""

import threading

import numpy as np

from rnnkit import activations, backend, initializers
from rnnkit.layers.base import Layer, as_real_array, cast_checked, check_positive_int, check_unsupported
from rnnkit.ops import gru as gru_ops
from rnnkit.ops import lstm as lstm_ops
from rnnkit.ops import simple_rnn as simple_rnn_ops


class Workspaces:
    """The buffers the ops reuse between calls (see `ops.sequence.buffer`).

    One dict for training passes, whose cache points into it until backward (a model trains
    from one thread at a time), and one dict PER THREAD for inference, so that threads running
    one model at once never write into each other's buffers. A thread's dict goes when the
    thread ends. Copies (deepcopy, pickle) start empty: buffers are never shared or saved.
    """

    def __init__(self):
        self.train = {}
        self._local = threading.local()

    def for_call(self, training):
        if training:
            return self.train
        workspace = getattr(self._local, "workspace", None)
        if workspace is None:
            workspace = self._local.workspace = {}
        return workspace

    def __deepcopy__(self, memo):
        return Workspaces()

    def __reduce__(self):
        return Workspaces, ()


def _check_rate(value, argument):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Argument `{argument}` must be a float in [0, 1). Received: {value!r}")
    return float(value)


class RNN(Layer):
    """Base class of SimpleRNN, LSTM and GRU (Keras's RNN options).

    Args:
        units: positive int, the size of the state and output.
        activation: default `tanh`; any name of `rnnkit.activations` or a callable (forward only).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: names, configs or Initializers.
        dropout: fraction of the inputs dropped in training (one mask per sequence, every step).
        recurrent_dropout: fraction of the recurrent state dropped in training (one mask per sequence).
        return_sequences: return the whole output sequence (batch, timesteps, units) instead of
            the last output (batch, units).
        return_state: also return the last state(s): `[output, state...]`.
        go_backwards: process the sequence backwards; returned sequences are in processing order.
        stateful: carry the last states of a batch into the next call (needs a fixed batch size:
            `batch_input_shape` or `batch_size`); `reset_states()` zeros them.
        unroll: accepted for Keras compatibility; the loop is fused either way.
    """

    supports_masking = True
    state_count = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        self.units = check_positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        check_unsupported(kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                          kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint)
        self.dropout = _check_rate(dropout, "dropout")
        self.recurrent_dropout = _check_rate(recurrent_dropout, "recurrent_dropout")
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
        self.initial_state_grads = None
        self._workspaces = Workspaces()

    def _shape_from_input_dim(self, input_dim, input_length):
        return (input_length, input_dim)

    # ---- shapes ---------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Layer \"{self.name}\" expects input of shape (batch, timesteps, features) with "
                f"known features. Received: input_shape={input_shape}")
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * self.state_count
        return output

    def compute_mask(self, x, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self.state_count
        return output_mask

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates before any weight exists
        if self.stateful and input_shape[0] is None:
            raise ValueError(
                f"Layer \"{self.name}\" is stateful, so it needs to know its batch size: give the first "
                "layer `batch_input_shape=(batch, timesteps, features)` or `batch_size=`. "
                f"Received: input_shape={tuple(input_shape)}")
        self._build_cell(int(input_shape[-1]))
        super().build(input_shape)
        if self.stateful:
            self.reset_states()

    # ---- states ---------------------------------------------------------------------------------
    def reset_states(self, states=None):
        """Zeros the carried states of a stateful layer, or sets them to `states` (a list of
        (batch, units) arrays, one per state).

        Raises:
            AttributeError: if the layer is not stateful.
            ValueError: for the wrong number or shapes of states.
        """
        if not self.stateful:
            raise AttributeError(f"Layer \"{self.name}\" is not stateful: it has no states to reset. "
                                 "Received: reset_states() on stateful=False")
        if not self.built:
            raise ValueError(f"Layer \"{self.name}\" is not built yet. Received: reset_states() before build")
        batch = self.input_shape[0]
        if states is None:
            self.states = [np.zeros((batch, self.units), self.dtype) for _ in range(self.state_count)]
        else:
            self.states = [s.copy() for s in self._check_initial_state(states, batch, "states")]

    def _check_initial_state(self, initial_state, batch, argument="initial_state"):
        if initial_state is None:
            return [None] * self.state_count
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self.state_count:
            raise ValueError(
                f"Argument `{argument}` of layer \"{self.name}\" must hold {self.state_count} state(s). "
                f"Received: {len(states)}")
        checked = []
        for state in states:
            state = cast_checked(as_real_array(state, argument), self.dtype, argument)
            if not np.isfinite(state).all():
                raise ValueError(f"Argument `{argument}` of layer \"{self.name}\" must hold finite numbers. "
                                 "Received: NaN or inf values")
            if state.shape != (batch, self.units):
                raise ValueError(
                    f"Argument `{argument}` of layer \"{self.name}\" must have shape "
                    f"{(batch, self.units)}. Received: shape {state.shape}")
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
        """Keep-masks scaled by 1 / (1 - rate), drawn once per call: the same at every step."""
        def draw(rate, size):
            if not rate:
                return None
            keep = backend.rng().random((batch, size)) >= rate
            return (keep / (1.0 - rate)).astype(self.dtype)
        return draw(self.dropout, input_dim), draw(self.recurrent_dropout, self.units)

    # ---- running --------------------------------------------------------------------------------
    def forward(self, x, mask=None, training=False, initial_state=None):
        x = self.check_input(x)
        if self.stateful and x.shape[0] != self.input_shape[0]:
            raise ValueError(
                f"Layer \"{self.name}\" is stateful with batch size {self.input_shape[0]}. "
                f"Received: a batch of {x.shape[0]}")
        mask = self._check_mask(mask, x)
        states = self._check_initial_state(initial_state, x.shape[0])
        if initial_state is None and self.stateful:
            states = self.states
        dropout_masks = self._dropout_masks(x.shape[0], x.shape[2]) if training else (None, None)
        outputs, last_states, cache = self._run(x, mask, states, dropout_masks, keep_cache=training)
        if training:        # inference writes nothing of the layer's (threads may share it)
            self._cache = cache
        if self.stateful:
            self.states = [s.copy() for s in last_states]
        output = outputs if self.return_sequences else last_states[0]
        if self.return_state:
            return [output] + list(last_states)
        return output

    def backward(self, d_out, need_input_grad=True):
        if self._cache is None:
            raise RuntimeError(f"Layer \"{self.name}\": backward() needs a forward(training=True) first")
        if self.return_state:
            d_main, d_states = d_out[0], list(d_out[1:])
        else:
            d_main, d_states = d_out, [None] * self.state_count
        d_outputs = d_main if self.return_sequences else None
        if not self.return_sequences and d_main is not None:
            d_states[0] = d_main if d_states[0] is None else d_states[0] + d_main
        dx, d_initial, self.grads = self._run_backward(d_outputs, d_states, self._cache, need_input_grad)
        self.initial_state_grads = d_initial
        self._cache = None
        return dx

    def _common_kwargs(self, mask, dropout_masks, keep_cache):
        return dict(mask=mask, go_backwards=self.go_backwards, activation=self.activation,
                    return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask,
                    input_dropout_mask=dropout_masks[0], recurrent_dropout_mask=dropout_masks[1],
                    keep_cache=keep_cache, workspace=self._workspaces.for_call(keep_cache))

    def _add_cell_weights(self, input_dim, gates, bias_shape, bias_initializer=None):
        self.add_weight("kernel", (input_dim, gates * self.units), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, gates * self.units), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", bias_shape, bias_initializer or self.bias_initializer)

    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
            "time_major": False, "units": self.units,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
            "bias_constraint": None, "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
        })
        return config


class SimpleRNN(RNN):
    """Fully-connected RNN whose output is fed back as the next step's state.

        h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    Takes every argument of `RNN`. Weights, in Keras's order: kernel (input_dim, units),
    recurrent_kernel (units, units), bias (units,).
    """

    def _build_cell(self, input_dim):
        self._add_cell_weights(input_dim, 1, (self.units,))

    def _run(self, x, mask, states, dropout_masks, keep_cache):
        outputs, last, cache = simple_rnn_ops.simple_rnn_forward(
            x, self.weights["kernel"], self.weights["recurrent_kernel"], self.weights.get("bias"),
            h0=states[0], **self._common_kwargs(mask, dropout_masks, keep_cache))
        return outputs, [last], cache

    def _run_backward(self, d_outputs, d_states, cache, need_dx):
        dx, dh0, grads = simple_rnn_ops.simple_rnn_backward(d_outputs, d_states[0], cache, need_dx)
        return dx, [dh0], grads


class _GatedRNN(RNN):
    """LSTM and GRU: an RNN with a recurrent (gate) activation."""

    def __init__(self, units, recurrent_activation="sigmoid", implementation=2, **kwargs):
        self.recurrent_activation = activations.get(recurrent_activation, "recurrent_activation")
        if implementation not in (1, 2):
            raise ValueError(f"Argument `implementation` must be 1 or 2. Received: {implementation!r}")
        self.implementation = implementation
        super().__init__(units, **kwargs)

    def _common_kwargs(self, mask, dropout_masks, keep_cache):
        kwargs = super()._common_kwargs(mask, dropout_masks, keep_cache)
        kwargs["recurrent_activation"] = self.recurrent_activation
        return kwargs

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["implementation"] = self.implementation
        return config


class LSTM(_GatedRNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras's gate order i, f, c, o.

        i, f, o = recurrent_activation(...), g = activation(...)
        c_t = f c_{t-1} + i g,  h_t = o activation(c_t)

    Args:
        unit_forget_bias: initialise the forget gate's bias to ones (Keras's default True).
        recurrent_activation: default `sigmoid`.
        Every argument of `RNN` too. States: [h, c].

    Weights: kernel (input_dim, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).
    """

    state_count = 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(units, **kwargs)

    def _bias_initializer(self, shape, dtype=None):
        H = self.units
        return np.concatenate([self.bias_initializer((H,), dtype), np.ones((H,), dtype),
                               self.bias_initializer((2 * H,), dtype)])

    def _build_cell(self, input_dim):
        self._add_cell_weights(input_dim, 4, (4 * self.units,),
                               self._bias_initializer if self.unit_forget_bias else None)

    def _run(self, x, mask, states, dropout_masks, keep_cache):
        outputs, (h, c), cache = lstm_ops.lstm_forward(
            x, self.weights["kernel"], self.weights["recurrent_kernel"], self.weights.get("bias"),
            h0=states[0], c0=states[1], **self._common_kwargs(mask, dropout_masks, keep_cache))
        return outputs, [h, c], cache

    def _run_backward(self, d_outputs, d_states, cache, need_dx):
        dx, (dh0, dc0), grads = lstm_ops.lstm_backward(d_outputs, d_states[0], d_states[1], cache, need_dx)
        return dx, [dh0, dc0], grads

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRU(_GatedRNN):
    """Gated recurrent unit (Cho et al. 2014), Keras's gate order z, r, h.

        z, r = recurrent_activation(...),  hh = activation(x W_h + r (h U_h + b_h))   (reset_after)
        h_t = z h_{t-1} + (1 - z) hh

    Args:
        reset_after: apply the reset gate after the recurrent product (default True, as Keras 2
            and cuDNN); then the bias is (2, 3 units): input bias and recurrent bias.
        recurrent_activation: default `sigmoid`.
        Every argument of `RNN` too.

    Weights: kernel (input_dim, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units)
    with reset_after else (3 units,).
    """

    def __init__(self, units, reset_after=True, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(units, **kwargs)

    def _build_cell(self, input_dim):
        bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_cell_weights(input_dim, 3, bias_shape)

    def _run(self, x, mask, states, dropout_masks, keep_cache):
        outputs, h, cache = gru_ops.gru_forward(
            x, self.weights["kernel"], self.weights["recurrent_kernel"], self.weights.get("bias"),
            h0=states[0], reset_after=self.reset_after, **self._common_kwargs(mask, dropout_masks, keep_cache))
        return outputs, [h], cache

    def _run_backward(self, d_outputs, d_states, cache, need_dx):
        dx, dh0, grads = gru_ops.gru_backward(d_outputs, d_states[0], cache, need_dx)
        return dx, [dh0], grads

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config
