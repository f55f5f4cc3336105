"""Keras's MAPE, MSLE and log-cosh losses (time-series scripts compile with loss='mape'): values
against the formulas written out here and against tf_keras 2.21's numbers for one fixed batch (run
by hand), gradients against central differences of the loss itself (float64), names and configs."""

import math

import numpy as np
import pytest

from gradient_judge import central_differences
from rnnkit import losses
from rnnkit.layers import LSTM, Dense
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed

E = 1e-7


def mape_by_hand(t, p):
    return np.mean([[100 * abs(b - a) / max(abs(a), E) for a, b in zip(rt, rp)] for rt, rp in zip(t, p)], axis=-1)


def msle_by_hand(t, p):
    return np.mean([[(math.log(max(b, E) + 1) - math.log(max(a, E) + 1)) ** 2 for a, b in zip(rt, rp)]
                    for rt, rp in zip(t, p)], axis=-1)


def logcosh_by_hand(t, p):
    return np.mean([[math.log(math.cosh(b - a)) for a, b in zip(rt, rp)] for rt, rp in zip(t, p)], axis=-1)


CASES = [(losses.MeanAbsolutePercentageError, mape_by_hand), (losses.MeanSquaredLogarithmicError, msle_by_hand),
         (losses.LogCosh, logcosh_by_hand)]


@pytest.mark.parametrize("cls, by_hand", CASES)
def test_values_and_gradients(cls, by_hand):
    rng = np.random.default_rng(0)
    t = rng.uniform(0.2, 3.0, size=(6, 4)) * rng.choice([-1, 1], size=(6, 4))
    p = t + rng.normal(scale=0.7, size=(6, 4))
    loss = cls()
    np.testing.assert_allclose(loss.per_sample(t, p), by_hand(t, p), rtol=1e-12)
    assert loss(t, p) == pytest.approx(np.mean(by_hand(t, p)), rel=1e-12)
    grad = loss.gradient(t, p)
    numeric = central_differences(lambda: loss(t, p), p, step=1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    if cls is losses.MeanSquaredLogarithmicError:     # negatives sit below the floor: no gradient
        assert np.all(grad[p < E] == 0) and np.any(p < E)


def test_the_numbers_tf_keras_gave_for_one_batch():
    t, p = np.array([[1.0, 2.0], [0.0, -3.0]]), np.array([[1.5, 1.0], [0.2, -1.0]])
    assert losses.get("mape")(t, p) == pytest.approx(50000041.66666667, rel=1e-12)   # a zero target: /1e-7
    assert losses.get("msle")(t, p) == pytest.approx(0.06185902799843859, rel=1e-12)
    assert losses.get("logcosh")(t, p) == pytest.approx(0.4746915372551398, rel=1e-7)


@pytest.mark.parametrize("names, cls", [(("mape", "mean_absolute_percentage_error", "MeanAbsolutePercentageError"),
                                         losses.MeanAbsolutePercentageError),
                                        (("msle", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"),
                                         losses.MeanSquaredLogarithmicError),
                                        (("logcosh", "log_cosh", "LogCosh"), losses.LogCosh)])
def test_keras_names_functions_and_configs(names, cls):
    for name in names:
        assert type(losses.get(name)) is cls
    assert type(losses.get({"class_name": cls.__name__, "config": {"reduction": "auto", "name": cls.name}})) is cls
    function = getattr(losses, names[0])
    assert type(losses.get(function)) is cls


def test_a_forecaster_compiled_with_mape_trains():
    set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 2, size=(64, 5, 1)).astype("float32")
    y = x.mean(axis=1)
    model = Sequential([LSTM(8, input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mape", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(np.mean(mape_by_hand(y, model.predict(x, verbose=0))),
                                                             rel=1e-5)
