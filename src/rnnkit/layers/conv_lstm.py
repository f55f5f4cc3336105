"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D: an LSTM whose input and recurrent products are
convolutions over a grid (Shi et al. 2015). The math is in ops/conv_lstm.py.

Input (batch, time, n_1..n_N, channels), channels last. The states h and c have the input
convolution's output grid: (batch, L_1..L_N, filters). Weights, in Keras's order and shapes:
kernel kernel_size + (channels, 4 filters), recurrent_kernel kernel_size + (filters, 4 filters),
bias (4 filters,), gates i, f, c, o.
"""

import numpy as np

from rnnkit import activations, backend, initializers
from rnnkit.layers.base import KerasWeightGroup, Layer, as_real_array, cast_checked, check_positive_int
from rnnkit.layers.cells import check_rate
from rnnkit.layers.convolutional import check_choice
from rnnkit.layers.recurrent import RNN
from rnnkit.layers.regularization import WeightPenalties
from rnnkit.ops import conv_lstm as conv_lstm_ops
from rnnkit.ops import convolution
from rnnkit.ops.activations import check_gradients_known

_WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def n_ints(value, rank, argument):
    """Keras's spelling of a per-axis size: one int for every axis, or a tuple of `rank` ints."""
    if isinstance(value, (list, tuple)):
        if len(value) != rank:
            raise ValueError(f"Argument `{argument}` must be an int or a tuple of {rank} ints. Received: {value!r}")
        return tuple(check_positive_int(v, argument) for v in value)
    return (check_positive_int(value, argument),) * rank


class ConvLSTM(WeightPenalties, Layer):
    """Base of ConvLSTM1D/2D/3D: `rank` spatial axes.

    Args:
        filters: the number of output channels (the states' depth).
        kernel_size: an int or a tuple of `rank` ints, for both convolutions.
        strides: of the input convolution (the recurrent one has stride 1 and 'same' padding).
        padding: "valid" or "same", of the input convolution.
        data_format: "channels_last" (or None); "channels_first" is refused.
        dilation_rate: of the input convolution; strides > 1 with dilation_rate > 1 is refused, as Keras.
        activation: default "tanh"; recurrent_activation: default "sigmoid" (Keras 3's; Keras 2
            files carry their "hard_sigmoid" explicitly).
        use_bias, unit_forget_bias (the forget gate's bias starts at ones), kernel_initializer,
            recurrent_initializer, bias_initializer, *_regularizer, *_constraint: as LSTM.
        dropout, recurrent_dropout: fractions of the input and of the state h dropped in training,
            one mask per sequence.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask: as RNN.

    Call: `layer(x, mask=None, training=False, initial_state=[h0, c0])`.
    """

    rank = None
    supports_masking = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        rank = self.rank
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = n_ints(kernel_size, rank, "kernel_size")
        self.strides = n_ints(strides, rank, "strides")
        self.padding = check_choice(padding, "padding", ("valid", "same"))
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__}: only data_format='channels_last' (batch, time, "
                             f"{', '.join(['dim'] * rank)}, channels) is supported. Received: data_format={data_format!r}")
        self.data_format = "channels_last"
        self.dilation_rate = n_ints(dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{type(self).__name__} does not support strides > 1 together with dilation_rate > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation, "recurrent_activation")
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._set_penalties(dict(zip(_WEIGHTS, (kernel_regularizer, recurrent_regularizer, bias_regularizer))),
                            dict(zip(_WEIGHTS, (kernel_constraint, recurrent_constraint, bias_constraint))),
                            activity_regularizer)
        super().__init__(**kwargs)
        self.states = None
        self.initial_state_grads = None

    # ---- shapes ---------------------------------------------------------------------------------
    def _grid(self, input_shape):
        """The states' grid (L..) for an input shape, after checking it."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 3 or input_shape[-1] is None or None in input_shape[2:-1]:
            raise ValueError(f"Layer \"{self.name}\" expects input of shape (batch, time, "
                             f"{', '.join(['dim'] * self.rank)}, channels) with known dims and channels. "
                             f"Received: input_shape={input_shape}")
        grid = convolution.output_shape(input_shape[2:-1], self.kernel_size, self.strides, self.padding,
                                        self.dilation_rate)
        if min(grid) <= 0:
            raise ValueError(f"Layer \"{self.name}\": the grid {input_shape[2:-1]} is too small for kernel_size="
                             f"{self.kernel_size}, dilation_rate={self.dilation_rate} with padding {self.padding!r}. "
                             f"Received: input_shape={input_shape}")
        return grid

    def compute_output_shape(self, input_shape):
        grid = self._grid(input_shape)
        batch, steps = input_shape[0], input_shape[1]
        state = (batch,) + grid + (self.filters,)
        output = (batch, steps) + grid + (self.filters,) if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def compute_mask(self, x, mask=None):
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    @property
    def state_size(self):
        return [self.filters, self.filters]

    def state_shapes(self, input_shape):
        """The shapes of h and c without the batch axis: the input convolution's output grid
        for `input_shape`, by `filters` (checks `input_shape`)."""
        state = self._grid(input_shape) + (self.filters,)
        return [state, state]

    def _forget_bias_ones(self, shape, dtype=None):
        F = self.filters
        return np.concatenate([self.bias_initializer((F,), dtype), np.ones(F, dtype or self.dtype),
                               self.bias_initializer((2 * F,), dtype)])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        channels, F = input_shape[-1], self.filters
        self.add_weight("kernel", self.kernel_size + (channels, 4 * F), self.kernel_initializer)
        self.add_weight("recurrent_kernel", self.kernel_size + (F, 4 * F), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", (4 * F,), self._forget_bias_ones if self.unit_forget_bias else self.bias_initializer)
        super().build(input_shape)

    # ---- states ---------------------------------------------------------------------------------
    def reset_states(self, states=None):
        """Zeros a stateful layer's carried states (the next call starts from zeros), or sets them."""
        if not self.stateful:
            raise AttributeError(f"Layer \"{self.name}\" is not stateful: it has no states to reset. "
                                 "Received: reset_states() on stateful=False")
        self.states = None if states is None else [np.array(s, dtype=self.dtype) for s in states]

    def reset_state(self, states=None):
        self.reset_states(states)

    def _check_states(self, initial_state, batch):
        if initial_state is None:
            return [None, None]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        shape = (batch,) + self._grid(self.input_shape) + (self.filters,)
        if len(states) != 2:
            raise ValueError(f"Argument `initial_state` of layer \"{self.name}\" must hold 2 states [h, c]. "
                             f"Received: {len(states)}")
        checked = [cast_checked(as_real_array(s, "initial_state"), self.dtype, "initial_state") for s in states]
        for state in checked:
            if state.shape != shape:
                raise ValueError(f"Argument `initial_state` of layer \"{self.name}\" must hold arrays of shape "
                                 f"{shape}. Received: shape {state.shape}")
        return checked

    _check_mask = RNN._check_mask       # (batch, timesteps), as every recurrent layer's

    def _dropout_masks(self, x):
        """Keep-masks scaled by 1 / (1 - rate), drawn once per call: the same at every step."""
        def draw(rate, shape):
            if not rate:
                return None
            return ((backend.rng().random(shape) >= rate) / (1.0 - rate)).astype(self.dtype)
        state_shape = (x.shape[0],) + self._grid(x.shape) + (self.filters,)
        return draw(self.dropout, x.shape[:1] + x.shape[2:]), draw(self.recurrent_dropout, state_shape)

    def check_trainable(self):
        check_gradients_known(self.activation, self.recurrent_activation)

    # ---- running --------------------------------------------------------------------------------
    def _forward(self, x, mask, training, initial_state=None):
        x = self.check_input(x)
        if training:
            self.check_trainable()
        mask = self._check_mask(mask, x)
        states = self._check_states(initial_state, x.shape[0])
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != x.shape[0]:
                raise ValueError(f"Layer \"{self.name}\" is stateful with batch size {self.states[0].shape[0]}. "
                                 f"Received: a batch of {x.shape[0]}")
            states = self.states
        input_mask, recurrent_mask = self._dropout_masks(x) if training else (None, None)
        outputs, last, cache = conv_lstm_ops.conv_lstm_forward(
            x, self.weights["kernel"], self.weights["recurrent_kernel"], self.weights.get("bias"), self.strides,
            self.padding, self.dilation_rate, self.activation, self.recurrent_activation, states, mask,
            self.go_backwards, self.return_sequences, self.zero_output_for_mask, input_mask, recurrent_mask,
            keep_cache=training)
        if self.stateful:
            self.states = [np.array(s, copy=True) for s in last]
        output = outputs if self.return_sequences else last[0]
        if self.return_state:
            output = [output] + last
        return output, cache

    def _backward(self, d_out, cache, need_input_grad):
        d_main, d_states = (d_out[0], list(d_out[1:])) if self.return_state else (d_out, [None, None])
        if not self.return_sequences:
            d_states[0] = d_main if d_states[0] is None else d_states[0] + d_main
            d_main = None
        dx, self.initial_state_grads, grads = conv_lstm_ops.conv_lstm_backward(d_main, d_states, cache,
                                                                               need_input_grad)
        return dx, grads

    # ---- config ---------------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias, "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        })
        for key, value in self._penalty_config().items():   # recurrent_kernel_... -> Keras's recurrent_...
            config[key.replace("recurrent_kernel_", "recurrent_")] = value
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        return config

    @classmethod
    def keras_weight_groups(cls, config):
        """Keras 3 keeps the weights in the layer's `cell/vars` (a `conv_lstm_cell`); Keras 2 names
        them `<layer>/kernel:0`, `<layer>/recurrent_kernel:0`, `<layer>/bias:0` (no cell scope)."""
        names = _WEIGHTS if config.get("use_bias", True) else _WEIGHTS[:2]
        return [KerasWeightGroup("cell/vars", "conv_lstm_cell", tuple(names), keras2_scope="")]


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM: input (batch, time, steps, channels). See `ConvLSTM`."""

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM: input (batch, time, rows, cols, channels). See `ConvLSTM`."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM: input (batch, time, dim1, dim2, dim3, channels). See `ConvLSTM`."""

    rank = 3
