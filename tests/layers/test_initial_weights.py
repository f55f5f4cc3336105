"""Keras 2's `weights=[...]` constructor argument (pretrained embeddings, copied layers): the arrays
become the layer's weights when it is built, and stay put when the layer is frozen."""

import numpy as np
import pytest

import rnnkit as keras


def _matrix(rows, cols):
    return np.arange(rows * cols, dtype="float64").reshape(rows, cols) / 7.0


def test_embedding_weights_argument_looks_up_the_given_rows():
    matrix = _matrix(6, 3)
    model = keras.Sequential([keras.layers.Embedding(6, 3, weights=[matrix], input_length=4, trainable=False)])
    ids = np.array([[5, 0, 2, 2]])
    np.testing.assert_allclose(model.predict(ids, verbose=0)[0], matrix[[5, 0, 2, 2]], rtol=1e-6)


def test_frozen_pretrained_embedding_is_not_moved_by_fit():
    matrix = _matrix(10, 4)
    model = keras.Sequential([
        keras.layers.Embedding(10, 4, weights=[matrix], input_length=5, trainable=False),
        keras.layers.GRU(3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.integers(0, 10, (8, 5)), rng.integers(0, 2, 8), epochs=1, verbose=0)
    np.testing.assert_allclose(model.layers[0].get_weights()[0], matrix, rtol=1e-6)
    assert model.layers[0].count_params() == 40 and model.layers[0].trainable_weights == []


def test_dense_weights_argument_sets_kernel_and_bias_in_keras_order():
    kernel, bias = _matrix(3, 2), np.array([0.5, -1.0])
    layer = keras.layers.Dense(2, weights=[kernel, bias])
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(layer(x), x @ kernel + bias, rtol=1e-6)


def test_weights_argument_applies_when_the_layer_is_built_later_in_a_functional_model():
    matrix = _matrix(7, 2)
    inputs = keras.Input(shape=(3,))
    outputs = keras.layers.Embedding(7, 2, weights=[matrix])(inputs)
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(model.predict(np.array([[6, 1, 0]]), verbose=0)[0], matrix[[6, 1, 0]], rtol=1e-6)


def test_weights_of_the_wrong_shape_name_the_weight_and_leave_the_layer_unbuilt():
    layer = keras.layers.Embedding(5, 3, weights=[_matrix(4, 3)])
    with pytest.raises(ValueError, match=r"Weight `embeddings`.*shape \(5, 3\)\. Received: shape \(4, 3\)"):
        layer.build((None, 2))
    assert not layer.built


def test_weights_of_the_wrong_count_are_refused():
    with pytest.raises(ValueError, match="expects 2 weight arrays.*Received: 1 arrays"):
        keras.Sequential([keras.layers.Dense(2, weights=[_matrix(3, 2)], input_shape=(3,))])


def test_weights_must_be_a_list():
    with pytest.raises(TypeError, match="Argument `weights` must be a list of arrays.*Received: ndarray"):
        keras.layers.Embedding(4, 3, weights=_matrix(4, 3))


RECURRENT = {
    "lstm": lambda weights: keras.layers.LSTM(4, weights=weights),
    "gru": lambda weights: keras.layers.GRU(4, weights=weights),
    "simple_rnn": lambda weights: keras.layers.SimpleRNN(4, return_sequences=True, weights=weights),
    "rnn_of_a_cell": lambda weights: keras.layers.RNN(keras.layers.LSTMCell(4), weights=weights),
    "a_cell_given_them": lambda weights: keras.layers.RNN(keras.layers.GRUCell(4, weights=weights)),
    "rnn_of_cells": lambda weights: keras.layers.RNN([keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(2)],
                                                     weights=weights),
    "bidirectional": lambda weights: keras.layers.Bidirectional(keras.layers.LSTM(3), weights=weights),
}


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_layers_and_cells_take_their_weights_argument(name):
    # The layer given weights= computes what a layer given the same arrays by set_weights does
    # (the cell layers once passed them to the cell, whose build never assigned them).
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    reference = RECURRENT[name](None)
    reference(x)
    arrays = [np.random.default_rng(k + 1).normal(size=w.shape).astype("float32")
              for k, w in enumerate(reference.get_weights())]
    reference.set_weights(arrays)
    given = RECURRENT[name](arrays)
    np.testing.assert_array_equal(given(x), reference(x))
