"""Output shapes and parameter counts for every combination of options, against the formulas:
SimpleRNN params = D*H + H*H + H (no bias: D*H + H*H); Bidirectional doubles them; outputs are
(B, T, H) with return_sequences else (B, H), concat doubles H, return_state appends (B, H)."""

import itertools

import numpy as np
import pytest

from rnnkit.layers import Bidirectional, Dense, Input, SimpleRNN
from rnnkit.models import Sequential

B, T, D, H = 4, 6, 5, 3


def expected_rnn(batch, return_sequences, return_state, use_bias):
    out = (batch, T, H) if return_sequences else (batch, H)
    params = D * H + H * H + (H if use_bias else 0)
    return ([out, (batch, H)] if return_state else out), params


@pytest.mark.parametrize("return_sequences,return_state,go_backwards,use_bias,fixed_batch",
                         list(itertools.product([False, True], repeat=5)))
def test_simple_rnn_shapes(return_sequences, return_state, go_backwards, use_bias, fixed_batch):
    batch = B if fixed_batch else None
    layer = SimpleRNN(H, return_sequences=return_sequences, return_state=return_state,
                      go_backwards=go_backwards, use_bias=use_bias, batch_input_shape=(batch, T, D))
    model = Sequential([layer])
    shape, params = expected_rnn(batch, return_sequences, return_state, use_bias)
    assert layer.output_shape == shape
    assert model.count_params() == params
    y = model.predict(np.zeros((B, T, D)), verbose=0)
    actual = [a.shape for a in y] if return_state else y.shape
    concrete = [(B,) + s[1:] for s in shape] if return_state else (B,) + shape[1:]
    assert actual == concrete


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences,return_state", list(itertools.product([False, True], repeat=2)))
def test_bidirectional_shapes(merge_mode, return_sequences, return_state):
    layer = Bidirectional(SimpleRNN(H, return_sequences=return_sequences, return_state=return_state),
                          merge_mode=merge_mode, input_shape=(T, D))
    model = Sequential([layer])
    single = (None, T, H) if return_sequences else (None, H)
    merged = single[:-1] + (2 * H,) if merge_mode == "concat" else single
    outputs = [single, single] if merge_mode is None else [merged]
    expected = outputs + [(None, H), (None, H)] if return_state else (outputs if merge_mode is None else merged)
    assert layer.output_shape == expected
    assert model.count_params() == 2 * (D * H + H * H + H)
    y = model.predict(np.ones((B, T, D)), verbose=0)
    shapes = [a.shape for a in y] if isinstance(y, list) else y.shape
    concrete = [(B,) + s[1:] for s in expected] if isinstance(expected, list) else (B,) + expected[1:]
    assert shapes == concrete


def test_bidirectional_weights_are_forward_then_backward():
    layer = Bidirectional(SimpleRNN(H, return_sequences=True), input_shape=(T, D))
    Sequential([layer])
    assert [w.shape for w in layer.get_weights()] == [(D, H), (H, H), (H,)] * 2
    assert layer.forward_layer.name == "forward_simple_rnn"
    assert layer.backward_layer.name == "backward_simple_rnn"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards


def test_bidirectional_with_explicit_backward_layer():
    forward = SimpleRNN(H, return_sequences=True)
    backward = SimpleRNN(H, return_sequences=True, go_backwards=True, activation="relu")
    layer = Bidirectional(forward, backward_layer=backward, merge_mode="sum", input_shape=(T, D))
    Sequential([layer])
    assert layer.backward_layer is backward and backward.activation == "relu"
    with pytest.raises(ValueError, match="go_backwards.*Received"):
        Bidirectional(SimpleRNN(H), backward_layer=SimpleRNN(H))
    with pytest.raises(ValueError, match="return_sequences.*Received"):
        Bidirectional(SimpleRNN(H), backward_layer=SimpleRNN(H, go_backwards=True, return_sequences=True))


def test_bidirectional_reverses_the_backward_sequence_before_merging():
    # merge_mode=None exposes both halves: the backward half read on the reversed input,
    # then reversed back, must equal a go_backwards layer's output reversed in time.
    x = np.random.default_rng(0).normal(size=(2, T, D)).astype("float32")
    layer = Bidirectional(SimpleRNN(H, return_sequences=True), merge_mode=None, input_shape=(T, D))
    model = Sequential([layer])
    _, backward_out = model.predict(x, verbose=0)
    alone = SimpleRNN(H, return_sequences=True, go_backwards=True)
    alone.build((None, T, D))
    alone.set_weights(layer.backward_layer.get_weights())
    np.testing.assert_allclose(backward_out, alone(x)[:, ::-1], atol=1e-6)


@pytest.mark.parametrize("form", ["input_shape", "input_dim", "batch_input_shape", "Input", "Input_batch", "build", "call"])
def test_every_constructor_form_gives_the_same_model(form):
    if form == "input_shape":
        model = Sequential([SimpleRNN(H, input_shape=(T, D))])
    elif form == "input_dim":
        model = Sequential([SimpleRNN(H, input_length=T, input_dim=D)])
    elif form == "batch_input_shape":
        model = Sequential([SimpleRNN(H, batch_input_shape=(None, T, D))])
    elif form == "Input":
        model = Sequential([Input(shape=(T, D)), SimpleRNN(H)])
    elif form == "Input_batch":
        model = Sequential([Input(batch_shape=(None, T, D)), SimpleRNN(H)])
    elif form == "build":
        model = Sequential([SimpleRNN(H)])
        assert not model.built
        model.build((None, T, D))
    else:
        model = Sequential([SimpleRNN(H)])
        model(np.zeros((2, T, D)))
    assert model.built and model.input_shape == (None, T, D)
    assert model.output_shape == (None, H)
    assert model.count_params() == D * H + H * H + H


def test_dense_on_2d_and_3d():
    model = Sequential([SimpleRNN(H, return_sequences=True, input_shape=(T, D)), Dense(2)])
    assert model.output_shape == (None, T, 2)
    model2 = Sequential([SimpleRNN(H, input_shape=(T, D)), Dense(2, activation="softmax")])
    y = model2.predict(np.ones((3, T, D)), verbose=0)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-6)
    assert model.count_params() == D * H + H * H + H + H * 2 + 2


def test_automatic_names_follow_keras2():
    a, b = Sequential(), Sequential()
    assert (a.name, b.name) == ("sequential", "sequential_1")
    layers = [SimpleRNN(1), SimpleRNN(1), Dense(1), Bidirectional(SimpleRNN(1)), Input(shape=(2, 2))]
    assert [l.name for l in layers] == ["simple_rnn", "simple_rnn_1", "dense", "bidirectional", "input_1"]
    assert layers[3].forward_layer.name == "forward_simple_rnn_2"
