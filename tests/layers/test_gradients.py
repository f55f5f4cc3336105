"""Every layer and option: backward equals the independent judge's central differences
(tests/gradient_judge.py: every element of the input and of every weight, elementwise relative
error < 1e-6)."""

import itertools

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit import backend
from rnnkit.layers import (GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Masking, SimpleRNN,
                           TimeDistributed)

B, T, D, H = 2, 4, 3, 3


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


def check_layer(layer, x, mask=None, training_in_loss=False, input_grad=True, initial_state=None, seed=7):
    """L = sum over outputs of <R, output> (R the judge's fixed projection); judges d/dx, every
    weight and (when given) every initial state. `training_in_loss` evaluates the loss in training
    mode (for layers with fixed dropout masks)."""
    rng = np.random.default_rng(seed)
    if not layer.built:
        layer.build((None,) + x.shape[1:])
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    state_kwargs = {} if initial_state is None else {"initial_state": initial_state}

    def forward():
        return layer.forward(x, mask=mask, training=training_in_loss, **state_kwargs)

    def backward(R):
        out = layer.forward(x, mask=mask, training=True, **state_kwargs)
        dx = layer.backward(R if isinstance(out, list) else R[0])
        assert set(layer.grads) == set(layer.weights)
        grads = dict(layer.grads)
        if input_grad:
            grads["x"] = dx
        if initial_state is not None:
            grads.update({f"initial_state_{k}": g for k, g in enumerate(initial_state_grads(layer))})
        return grads

    arrays = dict(layer.weights)
    if input_grad:
        arrays["x"] = x
    if initial_state is not None:
        arrays.update({f"initial_state_{k}": s for k, s in enumerate(initial_state)})
    return assert_gradients(forward, backward, arrays)


def initial_state_grads(layer):
    if isinstance(layer, Bidirectional):
        return initial_state_grads(layer.forward_layer) + initial_state_grads(layer.backward_layer)
    return list(layer.initial_state_grads)


def sequence():
    return np.random.default_rng(3).normal(size=(B, T, D))


@pytest.mark.parametrize("return_sequences,return_state,go_backwards,use_bias",
                         list(itertools.product([False, True], repeat=4)))
def test_simple_rnn_layer(return_sequences, return_state, go_backwards, use_bias):
    check_layer(SimpleRNN(H, return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, use_bias=use_bias), sequence())


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "linear", "softmax", "elu", "softplus"])
def test_simple_rnn_activations(activation):
    # seed 8: with seed 7 every relu unit is dead at every step and the recurrent kernel unused.
    check_layer(SimpleRNN(H, activation=activation, return_sequences=True), sequence(), seed=8)


def test_simple_rnn_with_mask():
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    check_layer(SimpleRNN(H, return_sequences=True, return_state=True), sequence(), mask=mask)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences,return_state", list(itertools.product([False, True], repeat=2)))
def test_bidirectional(merge_mode, return_sequences, return_state):
    check_layer(Bidirectional(SimpleRNN(H, return_sequences=return_sequences, return_state=return_state),
                              merge_mode=merge_mode), sequence())


def test_bidirectional_with_mask_outputs_zero_on_masked_steps():
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    layer = Bidirectional(SimpleRNN(H, return_sequences=True))
    check_layer(layer, sequence(), mask=mask)
    out = layer.forward(sequence(), mask=mask)
    assert np.all(out[~mask] == 0)


@pytest.mark.parametrize("activation", ["linear", "tanh", "softmax", "relu", "sigmoid"])
@pytest.mark.parametrize("rank", [2, 3])
def test_dense(activation, rank):
    x = np.random.default_rng(1).normal(size=(B, D) if rank == 2 else (B, T, D))
    check_layer(Dense(4, activation=activation), x)


def test_dense_without_bias():
    check_layer(Dense(4, use_bias=False), np.random.default_rng(1).normal(size=(B, D)))


def test_time_distributed_dense():
    check_layer(TimeDistributed(Dense(4, activation="tanh")), sequence())


MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)


def GRUResetBefore(units, **kwargs):
    return GRU(units, reset_after=False, **kwargs)


GATED = {"LSTM": LSTM, "GRU": GRU, "GRU_reset_before": GRUResetBefore}


@pytest.mark.parametrize("cls", sorted(GATED))
@pytest.mark.parametrize("return_sequences,return_state,go_backwards",
                         list(itertools.product([False, True], repeat=3)))
def test_gated_layers(cls, return_sequences, return_state, go_backwards):
    check_layer(GATED[cls](H, return_sequences=return_sequences, return_state=return_state,
                           go_backwards=go_backwards), sequence())


@pytest.mark.parametrize("layer", [lambda: LSTM(H, return_sequences=True, return_state=True),
                                   lambda: GRU(H, return_sequences=True, reset_after=False),
                                   lambda: GRU(H, use_bias=False, go_backwards=True)])
def test_gated_layers_with_mask(layer):
    check_layer(layer(), sequence(), mask=MASK)


@pytest.mark.parametrize("cls", sorted(GATED))
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_gated_with_mask(cls, merge_mode):
    check_layer(Bidirectional(GATED[cls](H, return_sequences=True), merge_mode=merge_mode), sequence(), mask=MASK)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU, GRUResetBefore])
def test_recurrent_dropout_with_a_fixed_mask(cls):
    layer = cls(H, dropout=0.4, recurrent_dropout=0.3, return_sequences=True)
    rng = np.random.default_rng(5)
    fixed = ((rng.random((B, D)) > 0.4) / 0.6, (rng.random((B, H)) > 0.3) / 0.7)
    layer._dropout_masks = lambda batch, features: fixed  # the same masks for every call
    check_layer(layer, sequence(), training_in_loss=True)


def test_dropout_layer_with_a_fixed_seed_per_call():
    layer = Dropout(0.5)
    layer.build((None, T, D))
    x = sequence()
    backend.set_random_seed(3)
    y1 = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(x))
    # inverted dropout: kept entries scaled by 1 / (1 - rate), the gradient uses the same mask
    kept = y1 != 0
    np.testing.assert_allclose(y1[kept], x[kept] * 2.0)
    np.testing.assert_array_equal(dx, kept * 2.0)
    np.testing.assert_array_equal(layer.forward(x), x)  # inference passes through


def test_embedding_scatter_adds_repeated_ids():
    layer = Embedding(7, 4)
    ids = np.array([[1, 3, 3, 0], [6, 1, 1, 1]])
    check_layer(layer, ids, input_grad=False)


def test_masking_layer():
    x = sequence()
    x[0, 2] = 0.0
    layer = Masking()
    layer.build((None, T, D))
    np.testing.assert_array_equal(layer.compute_mask(x), np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool))
    d_out = np.random.default_rng(0).normal(size=x.shape)
    layer.forward(x, training=True)
    dx = layer.backward(d_out)
    # Off the padding the layer is the identity; a padding step passes no gradient (perturbing
    # it would un-mask it, so it is checked by the stated property rather than by differences).
    np.testing.assert_array_equal(dx[0, 2], 0.0)
    real = np.ones(x.shape, bool)
    real[0, 2] = False
    np.testing.assert_array_equal(dx[real], d_out[real])


RECURRENT = {"SimpleRNN": SimpleRNN, **GATED}
MERGE_MODES = ["concat", "sum", "mul", "ave", None]


@pytest.mark.parametrize("cls", sorted(RECURRENT))
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_with_return_state_every_merge_mode(cls, merge_mode, return_sequences):
    # [merged output (or both outputs), forward states..., backward states...] all get a gradient.
    check_layer(Bidirectional(RECURRENT[cls](H, return_sequences=return_sequences, return_state=True),
                              merge_mode=merge_mode), sequence(), mask=MASK)


@pytest.mark.parametrize("cls", sorted(RECURRENT))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_initial_state_gradients(cls, go_backwards):
    layer = RECURRENT[cls](H, return_sequences=True, return_state=True, go_backwards=go_backwards)
    rng = np.random.default_rng(11)
    states = [rng.normal(size=(B, H)) * 0.5 for _ in range(layer.state_count)]
    check_layer(layer, sequence(), mask=MASK, initial_state=states)


@pytest.mark.parametrize("cls", sorted(RECURRENT))
@pytest.mark.parametrize("merge_mode", ["concat", "mul", "ave"])
def test_bidirectional_initial_state_gradients(cls, merge_mode):
    layer = Bidirectional(RECURRENT[cls](H, return_sequences=True), merge_mode=merge_mode)
    rng = np.random.default_rng(12)
    states = [rng.normal(size=(B, H)) * 0.5 for _ in range(2 * layer.forward_layer.state_count)]
    check_layer(layer, sequence(), initial_state=states)


@pytest.mark.parametrize("cls", sorted(GATED))
@pytest.mark.parametrize("activation,recurrent_activation", [("relu", "sigmoid"), ("elu", "tanh"),
                                                             ("softplus", "linear")])
def test_gated_layer_activations(cls, activation, recurrent_activation):
    check_layer(GATED[cls](H, activation=activation, recurrent_activation=recurrent_activation,
                           return_sequences=True), sequence(), seed=9)


@pytest.mark.parametrize("cls", sorted(RECURRENT))
def test_layers_without_bias_masked_backwards(cls):
    check_layer(RECURRENT[cls](H, use_bias=False, go_backwards=True, return_sequences=True, return_state=True),
                sequence(), mask=MASK)


class FixedNoise:
    """Stands in for a Dropout layer's generator: the same uniform draw at every call, so the
    loss the judge differentiates is one fixed function."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape):
        return np.random.default_rng(self.seed).random(shape)


@pytest.mark.parametrize("shape,noise_shape", [((B, D), None), ((B, D), (1, D)), ((B, T, D), None),
                                               ((B, T, D), (None, 1, D)), ((B, T, D), (None, T, 1))])
def test_dropout_layer_with_fixed_noise(shape, noise_shape):
    layer = Dropout(0.4, noise_shape=noise_shape)
    layer._generator = FixedNoise(0)   # a draw with both dropped and kept entries in every shape
    x = np.random.default_rng(1).normal(size=shape)
    verdict = check_layer(layer, x, training_in_loss=True)
    assert np.any(verdict["x"].numeric == 0) and np.any(verdict["x"].numeric != 0)   # some dropped, some kept


def test_masking_layer_judged_off_the_padding():
    # Perturbing a padding entry would un-mask its step, so the judge moves only the real steps'
    # entries; the padding's zero gradient is the property checked in test_masking_layer.
    layer = Masking(mask_value=0.0)
    layer.build((None, T, D))
    x = sequence()
    x[0, 2] = 0.0
    x[1, 0] = 0.0
    real = np.any(x != 0.0, axis=-1)
    values = np.ascontiguousarray(x[real])

    def full():
        assembled = np.zeros_like(x)
        assembled[real] = values
        return assembled

    def backward(R):
        layer.forward(full(), training=True)
        dx = layer.backward(R[0])
        assert not np.any(dx[~real])
        return {"real_steps": dx[real]}

    assert_gradients(lambda: layer.forward(full()), backward, {"real_steps": values})


@pytest.mark.parametrize("activation", ["linear", "softmax", "relu"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_time_distributed_dense_options(activation, use_bias):
    check_layer(TimeDistributed(Dense(4, activation=activation, use_bias=use_bias)), sequence())


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_weights_only(mask_zero):
    layer = Embedding(6, 3, mask_zero=mask_zero)
    ids = np.array([[1, 5, 5, 0], [2, 1, 1, 4]])
    verdict = check_layer(layer, ids, input_grad=False)
    assert not np.any(verdict["embeddings"].numeric[3])   # row 3 was never looked up
