"""Bad input raises a clear error naming the argument and 'Received:', and changes nothing."""

import numpy as np
import pytest

from rnnkit.layers import Bidirectional, Dense, SimpleRNN
from rnnkit.models import Sequential


@pytest.mark.parametrize("make,error,match", [
    (lambda: SimpleRNN(0), ValueError, "units.*Received: 0"),
    (lambda: SimpleRNN(-3), ValueError, "units.*Received: -3"),
    (lambda: SimpleRNN(2.5), TypeError, "units.*Received: 2.5"),
    (lambda: SimpleRNN("3"), TypeError, "units.*Received: '3'"),
    (lambda: SimpleRNN(3, activation="swishy"), ValueError, "activation.*Received: 'swishy'"),
    (lambda: SimpleRNN(3, activation=5), TypeError, "activation.*Received: 5"),
    (lambda: SimpleRNN(3, kernel_initializer="nope"), ValueError, "kernel_initializer.*Received: 'nope'"),
    (lambda: SimpleRNN(3, recurrent_initializer={"class_name": "Nope"}), ValueError, "recurrent_initializer.*Received"),
    (lambda: Dense(3, bias_initializer=[1]), TypeError, "bias_initializer.*Received"),
    (lambda: Bidirectional(SimpleRNN(3), merge_mode="max"), ValueError, "merge_mode.*Received: 'max'"),
    (lambda: Bidirectional(Dense(3)), TypeError, "layer.*Received"),
    (lambda: SimpleRNN(3, input_shape=(0, 2)), ValueError, "input_shape.*Received"),
    (lambda: SimpleRNN(3, bogus=1), TypeError, "bogus"),
    (lambda: SimpleRNN(3, kernel_regularizer="nope"), ValueError, "kernel_regularizer.*Received"),
])
def test_bad_constructor_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def built_model():
    return Sequential([SimpleRNN(3, input_shape=(4, 2)), Dense(1)])


@pytest.mark.parametrize("x,match", [
    (np.zeros((5, 2)), "shape \\(None, 4, 2\\).*Received: an array of shape \\(5, 2\\)"),
    (np.zeros((5, 4, 3)), "shape \\(None, 4, 2\\).*Received: an array of shape \\(5, 4, 3\\)"),
    (np.zeros((5, 7, 2)), "Received: an array of shape \\(5, 7, 2\\)"),
])
def test_wrong_input_shape(x, match):
    with pytest.raises(ValueError, match=match):
        built_model().predict(x, verbose=0)


def test_wrong_input_to_a_layer_directly():
    layer = SimpleRNN(3)
    layer.build((None, 4, 2))
    with pytest.raises(ValueError, match="expected axis 2.*Received"):
        layer(np.zeros((1, 4, 5)))


def test_set_weights_is_all_or_nothing():
    model = built_model()
    before = model.get_weights()
    good = [w + 1 for w in before]
    with pytest.raises(ValueError, match="expects 5 weight arrays. Received: 4"):
        model.set_weights(good[:4])
    bad_shape = good[:-1] + [np.zeros((2,))]
    with pytest.raises(ValueError, match="must have shape \\(1,\\). Received: shape \\(2,\\)"):
        model.set_weights(bad_shape)
    non_finite = [w.copy() for w in good]
    non_finite[3][0, 0] = np.nan
    with pytest.raises(ValueError, match="finite.*Received"):
        model.set_weights(non_finite)
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, now)  # unchanged by the failed calls
    model.set_weights(good)
    for new, now in zip(good, model.get_weights()):
        np.testing.assert_array_equal(new, now)


def test_duplicate_names_are_refused_and_model_unchanged():
    model = Sequential([SimpleRNN(3, input_shape=(4, 2), return_sequences=True, name="rnn")])
    with pytest.raises(ValueError, match="unique names.*Received: name='rnn'"):
        model.add(SimpleRNN(3, name="rnn"))
    assert len(model.layers) == 1


def test_layer_that_does_not_fit_is_not_added():
    model = Sequential([SimpleRNN(3, input_shape=(4, 2))])  # output (None, 3): 2-D
    with pytest.raises(ValueError, match="Received: input_shape=\\(None, 3\\)"):
        model.add(SimpleRNN(2))
    assert len(model.layers) == 1 and model.output_shape == (None, 3)


def test_no_layer_after_a_multi_output_layer():
    model = Sequential([SimpleRNN(3, input_shape=(4, 2), return_state=True)])
    with pytest.raises(ValueError, match="single output.*Received"):
        model.add(Dense(1))


def test_add_needs_a_layer():
    with pytest.raises(TypeError, match="instance of class Layer. Received: layer=3"):
        Sequential().add(3)


def test_pop_and_get_layer():
    model = built_model()
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer(name=model.layers[0].name) is model.layers[0]
    with pytest.raises(ValueError, match="No such layer: nope.*Received"):
        model.get_layer("nope")
    model.pop()
    assert len(model.layers) == 1 and model.output_shape == (None, 3)
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_set_floatx_validates():
    from rnnkit import backend
    with pytest.raises(ValueError, match="Received: 'float16'"):
        backend.set_floatx("float16")
