"""A built Sequential's `input` / `output` and its layers' `output`, as Keras records them: the
Keras FAQ's feature extractor `keras.Model(model.input, model.get_layer(name).output)` and Deep
Learning with Python's `[layer.output for layer in model.layers]`. Stated in advance: the
extractor computes exactly what running the first layers one after the other computes (the
reference here: each layer called eagerly on arrays), shares the model's weights, and tf_keras
2.21 names the input `<first layer>_input` (float32) and prints the extractor's summary as
below (run by hand, totals aside); a Sequential that nobody asks records nothing."""

import gc
import weakref

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import backend, layers
from rnnkit.layers.symbolic import nodes_of


def stack():
    backend.clear_session()
    return keras.Sequential([layers.Embedding(100, 8, input_length=10), layers.LSTM(16, return_sequences=True,
                             name="feat"), layers.LSTM(4), layers.Dense(1)])


def test_the_keras_faq_feature_extractor_computes_the_first_layers_and_shares_their_weights():
    model = stack()
    extractor = keras.Model(inputs=model.input, outputs=model.get_layer("feat").output)
    x = np.random.default_rng(0).integers(0, 100, (3, 10))
    expected = model.layers[1](model.layers[0](x))
    np.testing.assert_allclose(extractor.predict(x, verbose=0), expected, rtol=1e-6)
    weights = model.layers[1].get_weights()
    model.layers[1].set_weights([w + 0.5 for w in weights])       # one set of weights for both
    np.testing.assert_allclose(extractor.predict(x, verbose=0), model.layers[1](model.layers[0](x)), rtol=1e-6)
    assert not np.allclose(extractor.predict(x, verbose=0), expected)


def test_layer_outputs_asked_first_as_deep_learning_with_python_does():
    model = stack()
    layer_outputs = [layer.output for layer in model.layers]      # before model.input
    activations = keras.Model(inputs=model.input, outputs=layer_outputs)
    x = np.random.default_rng(1).integers(0, 100, (2, 10))
    got = activations.predict(x, verbose=0)
    value = x
    for layer, out in zip(model.layers, got):
        value = layer(value)
        np.testing.assert_allclose(out, value, rtol=1e-6)
    lines = []
    activations.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines[4:15] if line.strip()] == [
        " embedding_input (InputLaye  [(None, 10)]              0",
        " r)",
        " embedding (Embedding)       (None, 10, 8)             800",
        " feat (LSTM)                 (None, 10, 16)            1600",
        " lstm (LSTM)                 (None, 4)                 336",
        " dense (Dense)               (None, 1)                 5",
    ]
    assert model.input.name == "embedding_input" and model.input.dtype == "float32"
    assert model.inputs == [model.input] and model.outputs == [model.output] and model.output is layer_outputs[-1]


def test_an_explicit_input_is_the_models_input_and_add_and_pop_move_the_output():
    backend.clear_session()
    start = keras.Input(shape=(5, 3), name="series")
    model = keras.Sequential([start, layers.GRU(4)])
    assert model.input is start
    first_output = model.output
    model.add(layers.Dense(2))
    assert model.output is model.layers[-1].output and model.layers[-1].input is first_output
    model.pop()
    assert model.output is first_output
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(keras.Model(model.input, model.output).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_an_unbuilt_sequential_has_no_tensors_and_says_why():
    model = keras.Sequential([layers.Dense(3)])
    with pytest.raises(AttributeError, match=r"not built.*input_shape.*Received: an unbuilt model"):
        model.input
    with pytest.raises(AttributeError, match="never been called on symbolic tensors"):
        model.layers[0].output
    assert not hasattr(model, "output")


def test_a_sequential_nobody_asks_records_nothing_and_is_freed():
    model = stack()
    model.predict(np.zeros((1, 10)), verbose=0)
    assert all(nodes_of(layer) == [] for layer in model.layers)
    alive = [weakref.ref(layer) for layer in model.layers]
    del model
    gc.collect()
    assert all(ref() is None for ref in alive)
