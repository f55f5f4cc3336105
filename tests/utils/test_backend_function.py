"""Keras 2's `K.function` / `K.int_shape` idioms that tutorials use to print a layer's activations."""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import backend as K


def _two_dense_model():
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dropout(0.9), keras.layers.Dense(2)])
    model.build()
    return model


def _by_hand(model, x):
    # Written independently of the model: Dense = x @ W + b; Dropout is the identity at inference.
    w1, b1, w2, b2 = model.get_weights()
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return hidden, hidden @ w2 + b2


def test_function_gives_a_layers_activations_in_inference_mode():
    model = _two_dense_model()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    hidden, out = _by_hand(model, x)

    # tf.keras 2 returns a list for a list of outputs, a list of one included...
    listed = K.function([model.input], [model.layers[0].output])([x])
    assert isinstance(listed, list) and len(listed) == 1
    np.testing.assert_allclose(listed[0], hidden, rtol=1e-5, atol=1e-6)
    # ...and an array for a single output.
    single = K.function(model.input, model.layers[1].output)(x)
    assert isinstance(single, np.ndarray)
    np.testing.assert_allclose(single, hidden, rtol=1e-5, atol=1e-6)   # dropout off
    both = K.function([model.input], [model.layers[0].output, model.layers[2].output])([x])
    assert len(both) == 2
    np.testing.assert_allclose(both[1], out, rtol=1e-5, atol=1e-6)


def test_function_and_int_shape_on_a_recurrent_model():
    model = keras.Sequential([keras.layers.Embedding(20, 4, input_length=6),
                              keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True)),
                              keras.layers.GRU(3)])
    model.build()
    # (None, 6, 10): tf_keras 2.21's K.int_shape for the same model, checked by hand.
    assert K.int_shape(model.layers[1].output) == (None, 6, 10)
    assert K.ndim(model.layers[1].output) == 3
    tokens = np.random.default_rng(1).integers(0, 20, (4, 6))
    sequences = K.function([model.input], [model.layers[1].output])([tokens])[0]
    assert sequences.shape == (4, 6, 10)
    # The GRU reads those sequences: running it on them must give the model's own output.
    np.testing.assert_allclose(model.layers[2](sequences), model.predict(tokens, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_int_shape_and_count_params_of_arrays():
    kernel = np.zeros((4, 20))
    assert K.int_shape(kernel) == (4, 20)
    assert K.count_params(kernel) == 80
    assert K.int_shape(3.0) is None
    with pytest.raises(ValueError, match="fully known shape"):
        K.count_params(keras.Input(shape=(None, 3)))


def test_function_refuses_tensorflow1_graph_arguments():
    model = _two_dense_model()
    with pytest.raises(ValueError, match="updates"):
        K.function([model.input], [model.output], updates=[object()])
    with pytest.raises(ValueError, match="session keyword"):
        K.function([model.input], [model.output], fetches=[])
