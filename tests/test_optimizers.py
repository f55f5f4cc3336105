"""Optimizers against plain per-step references written from Keras's documented update rules
(the fixtures in train/ already pin Adam, RMSprop and SGD with Nesterov and clipnorm)."""

import math

import numpy as np
import pytest

from rnnkit import optimizers


def run(optimizer, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    grads = [[rng.normal(size=w.shape) * 3 for w in weights] for _ in range(steps)]
    current = [w.copy() for w in weights]
    for g in grads:
        optimizer.apply_gradients(zip([x.copy() for x in g], current))
    return weights, grads, current


def test_sgd_plain_and_momentum():
    w0, grads, out = run(optimizers.SGD(0.1))
    np.testing.assert_allclose(out[0], w0[0] - 0.1 * sum(g[0] for g in grads))
    w0, grads, out = run(optimizers.SGD(0.1, momentum=0.5))
    w, m = w0[1].copy(), np.zeros(4)
    for g in grads:
        m = 0.5 * m - 0.1 * g[1]
        w = w + m
    np.testing.assert_allclose(out[1], w)


def test_adam_amsgrad():
    w0, grads, out = run(optimizers.Adam(0.01, amsgrad=True))
    w, m, v, v_hat = w0[0].copy(), 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g[0]
        v = 0.999 * v + 0.001 * g[0] ** 2
        v_hat = np.maximum(v_hat, v)
        w = w - 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v_hat) + 1e-7)
    np.testing.assert_allclose(out[0], w)


def test_rmsprop_centered_with_momentum():
    w0, grads, out = run(optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True))
    w, v, a, m = w0[1].copy(), 0.0, 0.0, 0.0
    for g in grads:
        v = 0.8 * v + 0.2 * g[1] ** 2
        a = 0.8 * a + 0.2 * g[1]
        m = 0.5 * m + 0.01 * g[1] / np.sqrt(v - a ** 2 + 1e-7)
        w = w - m
    np.testing.assert_allclose(out[1], w)


def test_adagrad_starts_from_its_initial_accumulator():
    w0, grads, out = run(optimizers.Adagrad(0.1))
    w, acc = w0[0].copy(), np.full((3, 2), 0.1)
    for g in grads:
        acc = acc + g[0] ** 2
        w = w - 0.1 * g[0] / np.sqrt(acc + 1e-7)
    np.testing.assert_allclose(out[0], w)


def test_clipvalue_and_global_clipnorm():
    w0, grads, out = run(optimizers.SGD(1.0, clipvalue=0.5))
    np.testing.assert_allclose(out[0], w0[0] - sum(np.clip(g[0], -0.5, 0.5) for g in grads))
    w0, grads, out = run(optimizers.SGD(1.0, global_clipnorm=1.0))
    expected = [w.copy() for w in w0]
    for g in grads:
        norm = math.sqrt(sum(np.sum(x ** 2) for x in g))
        expected = [w - x * (1.0 / max(norm, 1.0)) for w, x in zip(expected, g)]
    for e, o in zip(expected, out):
        np.testing.assert_allclose(o, e)


def test_clipnorm_is_per_weight():
    w0, grads, out = run(optimizers.SGD(1.0, clipnorm=1.0), steps=1)
    for w, g, o in zip(w0, grads[0], out):
        np.testing.assert_allclose(o, w - g / max(np.linalg.norm(g), 1.0))
        assert np.linalg.norm(w - o) == pytest.approx(1.0)  # every gradient here has norm > 1


def test_get_accepts_names_classes_and_keras_configs():
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    sgd = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9,
                                                          "jit_compile": False, "is_legacy_optimizer": False}})
    assert (sgd.learning_rate, sgd.momentum) == (0.5, 0.9)


def test_optimizer_refuses_other_weights():
    optimizer = optimizers.SGD(0.1)
    optimizer.apply_gradients([(np.ones(2), np.zeros(2))])
    with pytest.raises(ValueError, match="other weights.*Received"):
        optimizer.apply_gradients([(np.ones(3), np.zeros(3))])
