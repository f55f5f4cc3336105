"""Keras's Huber loss: its value against the formula written out here, its gradient against
central differences of the loss itself, and its names and config."""

import numpy as np
import pytest

from rnnkit import losses


def huber_by_hand(t, p, delta):
    e = p - t
    return np.mean(np.where(np.abs(e) <= delta, 0.5 * e ** 2, delta * np.abs(e) - 0.5 * delta ** 2), axis=-1)


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_value_and_gradient(delta):
    rng = np.random.default_rng(0)
    t, p = rng.normal(size=(4, 3, 5)), rng.normal(scale=2.0, size=(4, 3, 5))
    loss = losses.Huber(delta=delta)
    np.testing.assert_allclose(loss.per_sample(t, p), huber_by_hand(t, p, delta), rtol=1e-13)
    assert loss(t, p) == pytest.approx(np.mean(huber_by_hand(t, p, delta)), rel=1e-13)
    grad = loss.gradient(t, p)
    numeric = np.zeros_like(p)
    for index in np.ndindex(p.shape):
        step = np.zeros_like(p)
        step[index] = 1e-6
        numeric[index] = (loss(t, p + step) - loss(t, p - step)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-9)


def test_huber_by_name_config_and_bad_delta():
    assert isinstance(losses.get("huber"), losses.Huber) and isinstance(losses.get("huber_loss"), losses.Huber)
    made = losses.get({"class_name": "Huber", "config": {"delta": 0.5, "reduction": "sum_over_batch_size",
                                                          "name": "huber_loss"}})
    assert made.delta == 0.5 and made.get_config()["delta"] == 0.5
    assert isinstance(losses.get(losses.huber), losses.Huber)
    with pytest.raises(ValueError, match="delta.*Received: 0"):
        losses.Huber(delta=0)
