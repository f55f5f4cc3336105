"""A model used as a layer of another model (functional in functional, Sequential in functional,
functional in Sequential, a model called twice).

Two references: the same layers called directly in one flat graph (the graph machinery judged in
test_functional_gradients.py) must give the same outputs, masks and gradients; and finite
differences (tests/gradient_judge.py, float64) judge the nested backward on its own.
"""

import numpy as np
import pytest

import rnnkit as keras
from gradient_judge import assert_loss_gradients
from rnnkit import backend
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Input, SimpleRNN
from rnnkit.models import Model, Sequential
from rnnkit.models.functional import GraphInputs
from rnnkit.models.nesting import leaf_layers


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    for layer in leaf_layers(model.layers):
        for key in layer.weights:
            layer.weights[key][...] = rng.normal(scale=0.4, size=layer.weights[key].shape)


def weight_grads(model, batch, projection):
    model._run(batch, training=True)
    model._backward(projection)
    return {f"{layer.name}/{key}": layer.grads[key].copy() for layer in leaf_layers(model.layers)
            for key in layer.weights}


def check_by_differences(model, inputs, seed=0):
    """dL/dweights of L = sum(R * output) through the nested training pass, against central
    differences of the same L through the inference pass."""
    randomize(model, seed)
    batch = GraphInputs(inputs) if len(inputs) > 1 else inputs[0]
    output = model._run(batch)[0]
    projection = np.random.default_rng(seed + 100).normal(size=output.shape)
    grads = weight_grads(model, batch, projection)
    arrays = {f"{layer.name}/{key}": w for layer in leaf_layers(model.layers) for key, w in layer.weights.items()}
    assert_loss_gradients(lambda: float(np.sum(projection * model._run(batch)[0])), arrays, grads)


def check_against_flat(nested, flat, inputs, seed=0):
    """The nested model and the flat graph over the same layer objects agree on outputs, masks
    and every weight gradient (to float64 rounding)."""
    randomize(flat, seed)
    batch = GraphInputs(inputs) if len(inputs) > 1 else inputs[0]
    out_nested, mask_nested = nested._run(batch)
    out_flat, mask_flat = flat._run(batch)
    np.testing.assert_allclose(out_nested, out_flat, rtol=1e-12, atol=1e-12)
    assert (mask_nested is None) == (mask_flat is None)
    if mask_flat is not None:
        np.testing.assert_array_equal(mask_nested, mask_flat)
    projection = np.random.default_rng(seed + 1).normal(size=out_flat.shape)
    expected = weight_grads(flat, batch, projection)
    got = weight_grads(nested, batch, projection)
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_functional_encoder_inside_a_functional_model_matches_the_flat_graph():
    lstm, gru, head = LSTM(4, return_sequences=True), GRU(3), Dense(2)
    inner_in = Input(shape=(5, 3))
    encoder = Model(inner_in, gru(lstm(inner_in)), name="encoder")
    x = Input(shape=(5, 3))
    nested = Model(x, head(encoder(x)))
    flat = Model(x, head(gru(lstm(x))))
    rng = np.random.default_rng(0)
    check_against_flat(nested, flat, [rng.normal(size=(3, 5, 3))])


def test_nested_backward_by_finite_differences_with_a_sequential_inside():
    inner = Sequential([Input(shape=(4, 3)), SimpleRNN(3, return_sequences=True), Dense(2)], name="inner_stack")
    x = Input(shape=(4, 3))
    model = Model(x, GRU(2)(inner(Dense(3)(x))))
    check_by_differences(model, [np.random.default_rng(1).normal(size=(2, 4, 3))])


def test_a_model_called_twice_sums_the_gradients_of_both_calls():
    a_in = Input(shape=(4, 2))
    tower = Model(a_in, LSTM(3)(a_in), name="tower")
    left, right = Input(shape=(4, 2)), Input(shape=(4, 2))
    joined = keras.layers.concatenate([tower(left), tower(right)])
    model = Model([left, right], Dense(1)(joined))
    rng = np.random.default_rng(2)
    check_by_differences(model, [rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 2))])


def test_a_functional_model_inside_a_sequential_matches_the_flat_stack():
    front, lstm, head = Dense(2), LSTM(3), Dense(2)
    inner_in = Input(shape=(6, 2))
    block = Model(inner_in, lstm(inner_in), name="block")
    nested = Sequential([Input(shape=(6, 2)), front, block, head])
    flat = Sequential([Input(shape=(6, 2)), front, lstm, head])
    check_against_flat(nested, flat, [np.random.default_rng(3).normal(size=(4, 6, 2))])


def test_masks_cross_the_model_boundary_both_ways():
    """An inner Embedding(mask_zero) masks the outer LSTM; an outer mask reaches an inner LSTM."""
    embedding, bi, outer_rnn = Embedding(7, 3, mask_zero=True), Bidirectional(GRU(2, return_sequences=True)), LSTM(2)
    tokens_in = Input(shape=(5,), dtype="int32")
    embedder = Model(tokens_in, bi(embedding(tokens_in)), name="embedder")
    tokens = Input(shape=(5,), dtype="int32")
    nested = Model(tokens, outer_rnn(embedder(tokens)))
    flat = Model(tokens, outer_rnn(bi(embedding(tokens))))
    ids = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0], [2, 2, 2, 2, 2]])
    check_against_flat(nested, flat, [ids])

    masked_rnn = LSTM(2, return_sequences=True)
    seq_in = Input(shape=(5, 3))
    reader = Model(seq_in, masked_rnn(seq_in), name="reader")
    embedding2 = Embedding(7, 3, mask_zero=True)
    tokens2 = Input(shape=(5,), dtype="int32")
    nested2 = Model(tokens2, reader(embedding2(tokens2)))
    flat2 = Model(tokens2, masked_rnn(embedding2(tokens2)))
    check_against_flat(nested2, flat2, [ids], seed=4)


def test_two_inputs_two_outputs_inside_a_model():
    a, b = Input(shape=(3,)), Input(shape=(4, 2))
    dense, rnn = Dense(2), SimpleRNN(2)
    inner = Model([a, b], [dense(a), rnn(b)], name="two_heads")
    x, y = Input(shape=(3,)), Input(shape=(4, 2))
    first, second = inner([x, y])
    merge = Dense(1)
    nested = Model([x, y], merge(keras.layers.concatenate([first, second])))
    flat = Model([x, y], merge(keras.layers.concatenate([dense(x), rnn(y)])))
    rng = np.random.default_rng(5)
    check_against_flat(nested, flat, [rng.normal(size=(3, 3)), rng.normal(size=(3, 4, 2))])


def test_freezing_a_nested_model_freezes_its_layers_in_fit_and_summary():
    backend.set_floatx("float32")
    inner_in = Input(shape=(4, 2))
    frozen = Model(inner_in, LSTM(3)(inner_in), name="frozen")
    x = Input(shape=(4, 2))
    model = Model(x, Dense(1)(frozen(x)))
    frozen.trainable = False
    before = frozen.get_weights()
    head_before = model.layers[-1].get_weights()
    model.compile("adam", "mse")
    rng = np.random.default_rng(6)
    model.fit(rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 1)), epochs=2, verbose=0)
    for old, new in zip(before, frozen.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert any(not np.array_equal(o, n) for o, n in zip(head_before, model.layers[-1].get_weights()))
    lines = []
    model.summary(print_fn=lines.append)
    lstm_params = 4 * 3 * (2 + 3 + 1)
    assert f"Non-trainable params: {lstm_params:,}" in lines
    assert any(line.startswith(" frozen (Functional)") for line in lines)


def test_weights_of_a_nested_model_are_the_outer_models_in_keras_order():
    inner_in = Input(shape=(3,))
    inner = Model(inner_in, Dense(2, name="d_inner")(inner_in), name="inner")
    x = Input(shape=(3,))
    model = Model(x, Dense(1, name="d_outer")(inner(x)))
    expected = [inner.layers[1].weights["kernel"], inner.layers[1].weights["bias"],
                model.layers[-1].weights["kernel"], model.layers[-1].weights["bias"]]
    got = model.get_weights()
    assert [w.shape for w in got] == [w.shape for w in expected]
    replacement = [np.full(w.shape, i + 1.0) for i, w in enumerate(expected)]
    model.set_weights(replacement)
    for new, array in zip(replacement, expected):
        np.testing.assert_array_equal(array, new)
    with pytest.raises(ValueError, match="Received: shape"):
        model.set_weights([np.zeros((3, 2)), np.zeros(2), np.zeros((2, 9)), np.zeros(1)])
    np.testing.assert_array_equal(expected[0], replacement[0])       # all or nothing


def test_bad_nesting_is_refused_clearly():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    two = Model([a, b], keras.layers.add([a, b]))
    with pytest.raises(ValueError, match="take one input"):
        Sequential([Input(shape=(3,)), two])
    x = Input(shape=(5,))
    with pytest.raises(ValueError, match="built for input shape"):
        two([x, x])
    stack = Sequential([Input(shape=(3,)), Dense(2)])
    with pytest.raises(ValueError, match="cannot hold itself"):
        stack.add(stack)

