"""What calling layers on symbolic tensors keeps alive (layers/symbolic.py). Stated in advance: a
model, a tensor or a layer the user still holds keeps what it needs; once none is held, the layers
and their weights are freed (the table of calls holds them only weakly), in a loop that builds a
model per trial as in any hyperparameter search."""

import gc
import weakref

import numpy as np

import rnnkit as keras
from rnnkit.layers.symbolic import nodes_of


def build_and_drop(units):
    inputs = keras.Input(shape=(6, 3))
    lstm = keras.layers.LSTM(units)
    model = keras.Model(inputs, keras.layers.Dense(1)(lstm(inputs)))
    model.predict(np.zeros((2, 6, 3), "float32"), verbose=0)
    return weakref.ref(lstm), weakref.ref(model)


def test_functional_models_built_in_a_loop_are_freed_with_their_layers():
    refs = [build_and_drop(64) for _ in range(4)]
    gc.collect()
    assert [(lstm() is None, model() is None) for lstm, model in refs] == [(True, True)] * 4


def test_tensors_and_models_keep_the_layers_they_came_from():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(3, name="inline")(inputs)     # nobody holds this layer but the tensor
    gc.collect()
    assert hidden.layer.name == "inline" and len(nodes_of(hidden.layer)) == 1
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    del inputs, hidden
    gc.collect()
    x = np.ones((1, 4), "float32")
    expected = model.layers[2](model.layers[1](x))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
    assert model.get_layer("inline").output.shape == (None, 3)


def test_a_layer_called_twice_numbers_its_calls_in_order():
    a, b = keras.Input(shape=(5, 2)), keras.Input(shape=(5, 2))
    gru = keras.layers.GRU(3)
    first, second = gru(a), gru(b)
    assert [node.index for node in nodes_of(gru)] == [0, 1]
    assert gru.output is first and gru.get_output_at(1) is second
