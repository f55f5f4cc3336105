"""Bidirectional: one recurrent layer reads the sequence forwards, a copy reads it backwards.

The backward copy is the forward layer's configuration with `go_backwards` flipped; its
returned sequence comes out in processing order, so it is reversed back before merging, as
Keras does. Weights: the forward layer's, then the backward layer's.
"""

import copy

import numpy as np

from rnnkit.layers.base import Layer, nested_weight_groups
from rnnkit.layers.recurrent import RNN
from rnnkit.layers.regularization import WrappedPenalties

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(WrappedPenalties, Layer):
    """Bidirectional wrapper for recurrent layers.

    Args:
        layer: an unshared RNN instance (SimpleRNN, LSTM, GRU).
        merge_mode: how the two outputs combine: 'concat' (default), 'sum', 'mul', 'ave', or
            None for a list of both.
        backward_layer: optional RNN instance to read backwards; must have `go_backwards` opposite
            to `layer`'s and the same `return_sequences` and `return_state`.
        input_shape, batch_input_shape, name, ...: as for any layer.

    Raises:
        TypeError: if `layer` or `backward_layer` is not a recurrent layer.
        ValueError: for an unknown merge_mode or a mismatched backward_layer.
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise TypeError(
                "Argument `layer` of Bidirectional must be a recurrent layer instance (SimpleRNN, "
                f"LSTM, GRU). Received: {layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Argument `merge_mode` must be one of {MERGE_MODES}. Received: {merge_mode!r}")
        if backward_layer is not None:
            if not isinstance(backward_layer, RNN):
                raise TypeError("Argument `backward_layer` must be a recurrent layer instance. "
                                f"Received: {backward_layer!r}")
            for attribute in ("return_sequences", "return_state"):
                if getattr(backward_layer, attribute) != getattr(layer, attribute):
                    raise ValueError(
                        f"Argument `backward_layer` must have the same `{attribute}` as `layer` "
                        f"({getattr(layer, attribute)}). Received: {getattr(backward_layer, attribute)}")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(
                    "Argument `backward_layer` must have `go_backwards` opposite to `layer`'s. "
                    f"Received: go_backwards={backward_layer.go_backwards} for both")
        super().__init__(weights=weights, **kwargs)
        self.forward_layer = self._recreate(layer, "forward_" + layer.name, layer.go_backwards)
        if backward_layer is None:
            self.backward_layer = self._recreate(layer, "backward_" + layer.name, not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        # Keras: a bidirectional layer returning sequences outputs zeros on masked steps.
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = self.return_sequences

    @staticmethod
    def _recreate(layer, name, go_backwards):
        clone = copy.deepcopy(layer)
        clone.name = name
        clone.go_backwards = go_backwards
        clone.weights, clone.grads = {}, {}
        clone.built = False
        return clone

    def _penalty_parts(self):
        return [("forward/", self.forward_layer), ("backward/", self.backward_layer)]

    @property
    def stateful(self):
        return self.forward_layer.stateful

    def reset_state(self, states=None):
        """Keras 3's spelling of `reset_states`."""
        self.reset_states(states)

    def reset_states(self, states=None):
        """Resets both directions' states (`states`: forward's then backward's)."""
        n = self.forward_layer.state_count
        self.forward_layer.reset_states(None if states is None else list(states)[:n])
        self.backward_layer.reset_states(None if states is None else list(states)[n:])

    @property
    def layers(self):
        return [self.forward_layer, self.backward_layer]

    def compute_output_shape(self, input_shape):
        forward_shape = self.forward_layer.compute_output_shape(input_shape)
        backward_shape = self.backward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            states = forward_shape[1:] + backward_shape[1:]
            forward_shape, backward_shape = forward_shape[0], backward_shape[0]
        if self.merge_mode == "concat":
            output = tuple(forward_shape[:-1]) + (forward_shape[-1] + backward_shape[-1],)
        elif self.merge_mode is None:
            output = [tuple(forward_shape), tuple(backward_shape)]
        else:
            output = tuple(forward_shape)
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def compute_mask(self, x, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        else:
            output_mask = [output_mask] if self.return_state else output_mask
        if self.return_state:
            return output_mask + [None] * (2 * self.forward_layer.state_count)
        return output_mask

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        self._collect_weights()
        super().build(input_shape)

    def _collect_weights(self):
        # The same arrays as the sublayers own, so in-place updates reach them.
        self.weights = {f"forward/{k}": v for k, v in self.forward_layer.weights.items()}
        self.weights.update({f"backward/{k}": v for k, v in self.backward_layer.weights.items()})

    def _forward(self, x, mask, training, initial_state=None, activity=None):
        x = self.check_input(x)
        n_states = self.forward_layer.state_count
        forward_states = backward_states = None
        if initial_state is not None:
            initial_state = list(initial_state)
            if len(initial_state) != 2 * n_states:
                raise ValueError(
                    f"Argument `initial_state` of layer \"{self.name}\" must hold {2 * n_states} "
                    f"states (forward then backward). Received: {len(initial_state)}")
            forward_states, backward_states = initial_state[:n_states], initial_state[n_states:]
        # each direction's call adds its own activity penalties, on its outputs as it returns them
        y_forward, forward_cache, forward_regularized = self._inner_call(
            self.forward_layer, x, mask, training, activity, initial_state=forward_states)
        y_backward, backward_cache, backward_regularized = self._inner_call(
            self.backward_layer, x, mask, training, activity, initial_state=backward_states)
        states = []
        if self.return_state:
            states = y_forward[1:] + y_backward[1:]
            y_forward, y_backward = y_forward[0], y_backward[0]
        if self.return_sequences:
            y_backward = y_backward[:, ::-1]
        output = self._merge(y_forward, y_backward)
        if self.return_state:
            output = (output if self.merge_mode is None else [output]) + states
        return output, (y_forward, y_backward, forward_cache, backward_cache, forward_regularized,
                        backward_regularized)

    def _merge(self, y_forward, y_backward):
        if self.merge_mode == "concat":
            return np.concatenate([y_forward, y_backward], axis=-1)
        if self.merge_mode == "sum":
            return y_forward + y_backward
        if self.merge_mode == "ave":
            return (y_forward + y_backward) * 0.5
        if self.merge_mode == "mul":
            return y_forward * y_backward
        return [y_forward, np.ascontiguousarray(y_backward)]

    def _unmerge(self, d_output):
        """dL/dy_forward and dL/dy_backward from dL/d(merged output)."""
        if self.merge_mode == "concat":
            units = self.forward_layer.units
            return d_output[..., :units], d_output[..., units:]
        if self.merge_mode == "sum":
            return d_output, d_output
        if self.merge_mode == "ave":
            return d_output * 0.5, d_output * 0.5
        return d_output[0], d_output[1]

    @staticmethod
    def _unmerge_product(d_output, y_forward, y_backward):
        """dL/dy_forward and dL/dy_backward from dL/d(y_forward * y_backward)."""
        return d_output * y_backward, d_output * y_forward

    def _backward(self, d_out, data, need_input_grad):
        y_forward, y_backward, forward_cache, backward_cache, forward_regularized, backward_regularized = data
        n_states = self.forward_layer.state_count
        d_states = []
        if self.return_state:
            head = 2 if self.merge_mode is None else 1
            d_merged = d_out[:head] if self.merge_mode is None else d_out[0]
            d_states = list(d_out[head:])
        else:
            d_merged = d_out
        if self.merge_mode == "mul":
            d_forward, d_backward = self._unmerge_product(d_merged, y_forward, y_backward)
        else:
            d_forward, d_backward = self._unmerge(d_merged)
        if self.return_sequences:
            d_backward = d_backward[:, ::-1]
        if self.return_state:
            d_forward = [d_forward] + d_states[:n_states]
            d_backward = [d_backward] + d_states[n_states:]
        d_forward = self._with_inner_activity_gradient(self.forward_layer, d_forward, forward_regularized)
        d_backward = self._with_inner_activity_gradient(self.backward_layer, d_backward, backward_regularized)
        dx, forward_grads = self.forward_layer.gradients(d_forward, forward_cache, need_input_grad)
        dx_backward, backward_grads = self.backward_layer.gradients(d_backward, backward_cache, need_input_grad)
        if need_input_grad:
            dx += dx_backward
        grads = {f"forward/{k}": v for k, v in forward_grads.items()}
        grads.update({f"backward/{k}": v for k, v in backward_grads.items()})
        return dx, grads

    def get_config(self):
        config = super().get_config()
        config["layer"] = {"class_name": type(self.forward_layer).__name__,
                           "config": self._inner_config(self.forward_layer, self.forward_layer.name[len("forward_"):])}
        config["merge_mode"] = self.merge_mode
        if self.backward_layer.name != "backward_" + config["layer"]["config"]["name"]:
            config["backward_layer"] = {"class_name": type(self.backward_layer).__name__,
                                        "config": self.backward_layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config):
        from rnnkit.layers import deserialize  # the registry lives one file up, on this floor
        config = dict(config)
        layer = deserialize(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        return cls(layer, backward_layer=None if backward is None else deserialize(backward), **config)

    @classmethod
    def keras_weight_groups(cls, config):
        """The forward layer's groups under `forward_layer`, then the backward layer's under
        `backward_layer`, each named (Keras 2's scope, Keras 3's `vars` name) `forward_<name>` and
        `backward_<name>`, as Keras names the copies it makes of `layer`; an explicit backward
        layer keeps its own name."""
        inner = config["layer"]
        inner_name = inner["config"]["name"]
        backward = config.get("backward_layer")
        backward_name = backward["config"]["name"] if backward else "backward_" + inner_name
        return (nested_weight_groups("forward_layer", "forward_" + inner_name, inner, "forward_" + inner_name)
                + nested_weight_groups("backward_layer", backward_name, backward or inner, backward_name))

    @staticmethod
    def _inner_config(layer, original_name):
        config = layer.get_config()
        config["name"] = original_name
        return config
