"""Recurrent layers: the shared RNN machinery (options, shapes, masks, states) and SimpleRNN.

The math lives in `rnnkit.ops`; a recurrent layer checks arguments, owns the weights and turns
Keras's options (return_sequences, return_state, go_backwards) into one ops call.
"""

import numpy as np

from rnnkit import activations, initializers
from rnnkit.layers.base import Layer, check_positive_int, check_unsupported
from rnnkit.ops import simple_rnn as simple_rnn_ops


class RNN(Layer):
    """Base class of SimpleRNN, LSTM and GRU (Keras's RNN options).

    Args:
        return_sequences: return the whole output sequence (batch, timesteps, units) instead of
            the last output (batch, units).
        return_state: also return the last state(s): `[output, state...]`.
        go_backwards: process the sequence backwards; returned sequences are in processing order.
        stateful, unroll, time_major: Keras's; `unroll` changes nothing here (the loop is fused),
            `stateful` and `time_major` must stay False.
    """

    supports_masking = True
    state_count = 1

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        self.units = check_positive_int(units, "units")
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)
        if stateful:
            raise ValueError("Argument `stateful=True` is not supported by rnnkit yet. Received: stateful=True")
        if time_major:
            raise ValueError("Argument `time_major=True` is not supported; inputs are batch-major. "
                             "Received: time_major=True")
        self.stateful = False
        self.zero_output_for_mask = bool(zero_output_for_mask)
        super().__init__(**kwargs)
        self._initial_state_grads = None

    def _shape_from_input_dim(self, input_dim, input_length):
        return (input_length, input_dim)

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
        self._build_cell(int(input_shape[-1]))
        super().build(input_shape)

    def _check_initial_state(self, initial_state, batch):
        if initial_state is None:
            return [None] * self.state_count
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self.state_count:
            raise ValueError(
                f"Layer \"{self.name}\" expects {self.state_count} initial state(s). "
                f"Received: {len(states)}")
        checked = []
        for state in states:
            state = np.asarray(state, dtype=self.dtype)
            if state.shape != (batch, self.units):
                raise ValueError(
                    f"Argument `initial_state` of layer \"{self.name}\" must have shape "
                    f"{(batch, self.units)}. Received: shape {state.shape}")
            checked.append(state)
        return checked

    def _check_mask(self, mask, x):
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"Argument `mask` of layer \"{self.name}\" must have shape {x.shape[:2]} "
                f"(batch, timesteps). Received: shape {mask.shape}")
        return mask.astype(bool, copy=False)

    def forward(self, x, mask=None, training=False, initial_state=None):
        x = self.check_input(x)
        mask = self._check_mask(mask, x)
        states = self._check_initial_state(initial_state, x.shape[0])
        outputs, last_states, cache = self._run(x, mask, states, keep_cache=training)
        self._cache = cache
        output = outputs if self.return_sequences else last_states[0]
        if self.return_state:
            return [output] + list(last_states)
        return output

    def backward(self, d_out):
        if self._cache is None:
            raise RuntimeError(f"Layer \"{self.name}\": backward() needs a forward(training=True) first")
        if self.return_state:
            d_main, d_states = d_out[0], list(d_out[1:])
        else:
            d_main, d_states = d_out, [None] * self.state_count
        d_outputs = d_main if self.return_sequences else None
        if not self.return_sequences and d_main is not None:
            d_states[0] = d_main if d_states[0] is None else d_states[0] + d_main
        dx, d_initial, self.grads = self._run_backward(d_outputs, d_states, self._cache)
        self._initial_state_grads = d_initial
        self._cache = None
        return dx

    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
            "time_major": False, "units": self.units,
        })
        return config


class SimpleRNN(RNN):
    """Fully-connected RNN whose output is fed back as the next step's state.

        h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    Args:
        units: positive int, the size of the state and output.
        activation: default `tanh`; relu, sigmoid, linear, softmax, ... or a callable.
        use_bias: whether to add a bias.
        kernel_initializer: default `glorot_uniform`.
        recurrent_initializer: default `orthogonal`.
        bias_initializer: default `zeros`.
        return_sequences, return_state, go_backwards: see `RNN`.

    Weights, in Keras's order: kernel (input_dim, units), recurrent_kernel (units, units),
    bias (units,).
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        check_unsupported(kernel_regularizer=kernel_regularizer,
                          recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                          kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint)
        if dropout or recurrent_dropout:
            raise ValueError("Arguments `dropout` and `recurrent_dropout` are not supported by rnnkit yet. "
                             f"Received: dropout={dropout}, recurrent_dropout={recurrent_dropout}")
        self.dropout, self.recurrent_dropout = 0.0, 0.0
        super().__init__(units, **kwargs)

    def _build_cell(self, input_dim):
        self.add_weight("kernel", (input_dim, self.units), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, self.units), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def _run(self, x, mask, states, keep_cache):
        outputs, last, cache = simple_rnn_ops.simple_rnn_forward(
            x, self.weights["kernel"], self.weights["recurrent_kernel"], self.weights.get("bias"),
            h0=states[0], mask=mask, go_backwards=self.go_backwards, activation=self.activation,
            return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask,
            keep_cache=keep_cache)
        return outputs, [last], cache

    def _run_backward(self, d_outputs, d_states, cache):
        dx, dh0, grads = simple_rnn_ops.simple_rnn_backward(d_outputs, d_states[0], cache)
        return dx, [dh0], grads

    def get_config(self):
        config = super().get_config()
        config.update({
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
            "bias_constraint": None, "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
        })
        return config
