"""Bad arguments to compile/fit/evaluate raise clear errors before any weight changes."""

import numpy as np
import pytest

from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed


def model_and_data(loss="mse", units=1, activation=None):
    set_random_seed(0)
    model = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(units, activation=activation)])
    model.compile("adam", loss)
    x = np.random.default_rng(0).normal(size=(10, 5, 2)).astype("float32")
    return model, x


def assert_unchanged(model, before):
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, now)


@pytest.mark.parametrize("loss,units,activation,y,match", [
    ("mse", 1, None, np.zeros((9, 1)), "same number of samples. Received: 10 and 9"),
    ("mse", 1, None, np.zeros((10, 3)), "output shape \\(10, 1\\).*Received: shape \\(10, 3\\)"),
    ("sparse_categorical_crossentropy", 3, "softmax", np.eye(3)[np.zeros(10, int)], "one-hot.*Received: shape \\(10, 3\\)"),
    ("sparse_categorical_crossentropy", 3, "softmax", np.full(10, 3), "\\[0, 3\\).*Received: values from 3 to 3"),
    ("sparse_categorical_crossentropy", 3, "softmax", np.full(10, -1), "Received: values from -1"),
    ("categorical_crossentropy", 3, "softmax", np.zeros(10, int), "class indices.*Received: shape \\(10,\\)"),
    ("mse", 1, None, np.full((10, 1), np.nan), "finite.*Received"),
])
def test_bad_targets(loss, units, activation, y, match):
    model, x = model_and_data(loss, units, activation)
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y),
                 lambda: model.evaluate(x, y, verbose=0)):
        with pytest.raises(ValueError, match=match):
            call()
    assert_unchanged(model, before)


def test_nan_in_x():
    model, x = model_and_data()
    x[3, 2, 1] = np.inf
    with pytest.raises(ValueError, match="`x` must hold finite.*Received"):
        model.fit(x, np.zeros((10, 1)), verbose=0)


def test_finite_values_whose_sum_overflows_are_accepted():
    # The finiteness check sums first; a sum overflowing to inf must not be taken for a bad value.
    model, x = model_and_data()
    y = np.full((10, 1), 3e38, np.float32)          # finite in float32, their sum is not
    model.train_on_batch(x, y)
    y[7, 0] = np.nan
    with pytest.raises(ValueError, match="`y` must hold finite.*Received"):
        model.train_on_batch(x, y)


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size.*Received: 0"),
    ({"batch_size": -2}, "batch_size.*Received: -2"),
    ({"validation_split": 1.0}, "validation_split.*Received: 1.0"),
    ({"validation_split": -0.1}, "validation_split.*Received: -0.1"),
    ({"epochs": -1}, "epochs.*Received: -1"),
    ({"verbose": 7}, "verbose.*Received: 7"),
    ({"validation_data": (np.zeros((2, 5, 2)),)}, "validation_data.*Received"),
])
def test_bad_fit_arguments(kwargs, match):
    model, x = model_and_data()
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        model.fit(x, np.zeros((10, 1)), **kwargs)
    assert_unchanged(model, before)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"optimizer": "adamaxx", "loss": "mse"}, ValueError, "optimizer.*Received: 'adamaxx'"),
    ({"optimizer": "sgd", "loss": "hinge2"}, ValueError, "loss.*Received: 'hinge2'"),
    ({"optimizer": "sgd", "loss": "mse", "metrics": ["f1"]}, ValueError, "metric.*Received: 'f1'"),
    ({"optimizer": "sgd", "loss": lambda t, p: (t - p) ** 2}, TypeError, "no gradient.*Received"),
    ({"optimizer": "sgd"}, ValueError, "loss.*Received: loss=None"),
])
def test_bad_compile_arguments_keep_the_previous_compilation(kwargs, error, match):
    model, _ = model_and_data()
    loss_before = model.loss
    with pytest.raises(error, match=match):
        model.compile(**kwargs)
    assert model.loss is loss_before


def test_fit_before_compile():
    model = Sequential([SimpleRNN(4, input_shape=(5, 2))])
    with pytest.raises(RuntimeError, match="compile.*Received"):
        model.fit(np.zeros((2, 5, 2)), np.zeros((2, 4)))


@pytest.mark.parametrize("kwargs,match", [
    ({"learning_rate": -1.0}, "learning_rate.*Received: -1.0"),
    ({"clipnorm": 1.0, "global_clipnorm": 1.0}, "Only one of.*Received"),
    ({"momentum": 1.5}, "momentum.*Received: 1.5"),
])
def test_bad_optimizer_arguments(kwargs, match):
    from rnnkit.optimizers import SGD
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)


def test_set_random_seed_needs_an_int():
    with pytest.raises(TypeError, match="seed.*Received: 1.5"):
        set_random_seed(1.5)
